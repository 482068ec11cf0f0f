"""Server-Sent Events from a streaming httpx response (the `/chat` stream), read with httpx-sse.

httpx-sse follows the SSE spec's line rules (CR, LF or CRLF end a line, nothing else), so an answer
quoting U+2028 or U+2029 arrives whole; httpx's `iter_lines` splits on those too (str.splitlines).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data) if self.data else {}


def read_events(response: httpx.Response) -> Iterator[ServerEvent]:
    """One event per complete SSE block, as soon as it arrives (comments/keep-alives skipped)."""
    for sse in EventSource(response).iter_sse():
        yield ServerEvent(sse.event or "message", sse.data)

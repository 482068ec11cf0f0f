"""Server-Sent Events, parsed from lines as they arrive (the `/chat` stream)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data) if self.data else {}


def parse_events(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Yield one event per blank-line-terminated block, as soon as the block is complete.

    Follows the HTML spec's rules that matter here: `event:` names the event (default
    "message"), `data:` lines are joined with newlines, lines starting with `:` are comments
    (keep-alives), one optional space after the colon is not part of the value.
    """
    event = ""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data or event:
                yield ServerEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
    if data:
        yield ServerEvent(event or "message", "\n".join(data))

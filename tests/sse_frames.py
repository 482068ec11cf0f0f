"""Server-Sent Events as the tests read them: a whole response body split into (event, data)."""

from __future__ import annotations

import json
from typing import Any


def sse_frames(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Every `event:`/`data:` frame of an SSE body (one JSON data line each, as the API sends)."""
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events

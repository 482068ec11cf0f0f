"""Events a streamed operation yields. The SSE form sends them as they come; the JSON form
aggregates them. One code path serves both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatbot_common.errors import DomainError


@dataclass(frozen=True)
class StreamEvent:
    name: str  # meta, delta, usage, done, error (documents add progress)
    data: dict[str, Any] = field(default_factory=dict)
    # Set on "error" events: the typed error the JSON form raises.
    error: DomainError | None = None


def error_event(error: DomainError) -> StreamEvent:
    return StreamEvent("error", {"code": error.code, "message": error.message}, error=error)

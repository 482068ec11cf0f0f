"""Events a streamed operation yields. The SSE form sends them as they come; the JSON form
aggregates them. One code path serves both."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chatbot_common.errors import DomainError
from lambda_chat.domain.entities import Usage


class OperationStopped(Exception):
    """Thrown into a streamed operation when its client has gone. The operation stops its model
    call, stores what it has, and may yield closing events (kept for an idempotent retry, never
    sent); an operation that stores nothing lets it propagate."""


# The event the HTTP layer sets when the client of the operation running in this thread has gone
# (lambda_chat.sse sets it around `start`): long waits inside an operation, such as a tool
# batch, watch it, since `OperationStopped` can only be thrown in between events.
_stop_signal: ContextVar[threading.Event | None] = ContextVar("operation_stop_signal", default=None)


def current_stop_signal() -> threading.Event | None:
    """The stop signal of the operation being started in this thread, if any."""
    return _stop_signal.get()


def set_stop_signal(signal: threading.Event | None) -> None:
    """Set by the HTTP layer in the worker thread, before it starts the operation."""
    _stop_signal.set(signal)


@dataclass(frozen=True)
class StreamEvent:
    name: str  # meta, delta, usage, done, error (documents add progress)
    data: dict[str, Any] = field(default_factory=dict)
    # Set on "error" events: the typed error the JSON form raises.
    error: DomainError | None = None


def error_event(error: DomainError) -> StreamEvent:
    """The `error` event: {code, message} plus the error's details (ids of what was stored)."""
    data = {**error.details, "code": error.code, "message": error.message}
    return StreamEvent("error", data, error=error)


@dataclass(frozen=True)
class CollectedEvents:
    """A streamed operation's events folded together, for its JSON form."""

    meta: dict[str, Any]
    text: str
    usage: Usage
    done: dict[str, Any]
    # The `usage` event as sent (costUsd, cache counts...).
    usage_event: dict[str, Any] = field(default_factory=dict)


def collect_events(events: Iterator[StreamEvent], failure_message: str) -> CollectedEvents:
    """Fold the events; an ``error`` event raises its typed error (or one with `failure_message`)."""
    meta: dict[str, Any] = {}
    parts: list[str] = []
    usage = Usage()
    done: dict[str, Any] = {}
    usage_event: dict[str, Any] = {}
    for event in events:
        if event.name == "meta":
            meta = event.data
        elif event.name == "delta":
            parts.append(event.data["text"])
        elif event.name == "usage":
            usage = Usage(
                event.data["inputTokens"],
                event.data["outputTokens"],
                estimated=bool(event.data.get("estimated", False)),
                cache_read_tokens=int(event.data.get("cacheReadInputTokens", 0)),
                cache_write_tokens=int(event.data.get("cacheWriteInputTokens", 0)),
            )
            usage_event = event.data
        elif event.name == "done":
            done = event.data
        elif event.name == "error":
            raise event.error or DomainError(event.data.get("message", failure_message))
    return CollectedEvents(meta=meta, text="".join(parts), usage=usage, done=done, usage_event=usage_event)

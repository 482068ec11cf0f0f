"""Server-Sent Events for streamed operations, and the one switch between the SSE and JSON forms.

A streamed operation is a (blocking) iterator of `StreamEvent`s from the domain. `respond`:
- runs the start-up (validation, first model chunk) before any byte is sent, so a refused
  request is a plain 4xx/5xx JSON error in both forms;
- with `Accept: text/event-stream`, relays the events as SSE; when the client goes away the
  iterator is closed, which stops generation upstream;
- otherwise folds the events into the JSON answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from lambda_chat.domain.events import StreamEvent

T = TypeVar("T")

EVENT_STREAM = "text/event-stream"
# no-cache: intermediaries must not hold the stream; X-Accel-Buffering: nginx-style proxies must not buffer.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# An SSE comment after this many quiet seconds (a long summary's map step, a slow first token).
# CloudFront's origin response timeout (30 s by default) applies between packets, and API Gateway
# streaming has an idle timeout: without bytes, a live answer would be cut off (docs/deploy.md).
KEEPALIVE_SECONDS = 15.0
KEEPALIVE_FRAME = ": keep-alive\n\n"


def format_sse(event: StreamEvent) -> str:
    """One SSE frame: `event: <name>` and one `data:` line of compact JSON."""
    data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event.name}\ndata: {data}\n\n"


def wants_event_stream(request: Request) -> bool:
    return EVENT_STREAM in request.headers.get("accept", "").lower()


def _next_or_none(events: Iterator[StreamEvent]) -> StreamEvent | None:
    return next(events, None)


def _close(events: Iterator[StreamEvent]) -> None:
    close = getattr(events, "close", None)
    if callable(close):
        close()


async def relay(
    first: StreamEvent | None, events: Iterator[StreamEvent], keepalive_seconds: float = KEEPALIVE_SECONDS
) -> AsyncIterator[str]:
    """SSE frames for `first` and the rest of `events`, with a comment frame whenever no event came
    for `keepalive_seconds`; closes `events` however the stream ends (including cancellation when
    the client disconnects)."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[StreamEvent | None] | None = None
    try:
        event = first
        while event is not None:
            yield format_sse(event)
            pending = loop.run_in_executor(None, _next_or_none, events)
            while not (await asyncio.wait({pending}, timeout=keepalive_seconds))[0]:
                yield KEEPALIVE_FRAME
            event, pending = pending.result(), None
    finally:
        with anyio.CancelScope(shield=True):
            if pending is not None:  # the iterator is mid-step in a thread: let it finish first
                await asyncio.wait({pending})
            await anyio.to_thread.run_sync(_close, events)


def event_stream_response(first: StreamEvent | None, events: Iterator[StreamEvent]) -> StreamingResponse:
    return StreamingResponse(relay(first, events), media_type=EVENT_STREAM, headers=SSE_HEADERS)


async def respond(
    request: Request,
    start: Callable[[], Iterator[StreamEvent]],
    aggregate: Callable[[Iterator[StreamEvent]], T],
) -> T | Response:
    """Run a streamed operation as SSE or JSON depending on the Accept header.

    `start` (called in a worker thread) validates and returns the event iterator, raising
    DomainError to refuse. `aggregate` folds the events into the JSON answer.
    """
    events = await run_in_threadpool(start)
    if not wants_event_stream(request):
        return await run_in_threadpool(aggregate, events)
    try:
        first = await run_in_threadpool(_next_or_none, events)
    except BaseException:
        await run_in_threadpool(_close, events)
        raise
    return event_stream_response(first, events)


SSE_OPENAPI: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            EVENT_STREAM: {
                "schema": {"type": "string"},
                "example": 'event: meta\ndata: {"conversationId":"...","messageId":"..."}\n\n'
                'event: delta\ndata: {"text":"Hello"}\n\n',
            }
        },
        "description": "JSON by default; Server-Sent Events with `Accept: text/event-stream`",
    }
}

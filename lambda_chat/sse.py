"""Server-Sent Events for streamed operations, and the one switch between the SSE and JSON forms.

A streamed operation is a (blocking) generator of `StreamEvent`s from the domain. `respond`:
- runs it in one worker thread (`drive`), which hands each event to the event loop as it comes;
- refuses with a plain 4xx/5xx JSON error when the operation raises before its first event;
- with `Accept: text/event-stream` relays the events as SSE, otherwise folds them into JSON;
- watches the connection in both forms: when the client goes away (browser closed, JSON request
  abandoned) it throws `OperationStopped` into the generator, which stops the model stream and
  stores what was said, before the request ends;
- with an `Idempotency-Key` header, runs the operation through `IdempotentOperations`: a retry gets
  the first request's events again (JSON, or replayed as SSE events) and nothing runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from chatbot_common.errors import DomainError, InvalidInput
from lambda_chat.domain.events import OperationStopped, StreamEvent, set_stop_signal
from lambda_chat.idempotency import IDEMPOTENCY_HEADER, IdempotentOperations, StoredEvents

T = TypeVar("T")

EVENT_STREAM = "text/event-stream"
# no-cache: intermediaries must not hold the stream; X-Accel-Buffering: nginx-style proxies must not buffer.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# An SSE comment after this many quiet seconds (a long summary's map step, a slow model step).
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


def to_stored(event: StreamEvent) -> dict[str, Any]:
    """An event as JSON for the idempotency record (errors keep their HTTP status)."""
    stored: dict[str, Any] = {"event": event.name, "data": event.data}
    if event.error is not None:
        stored["status"] = event.error.status
    return stored


def from_stored(stored: dict[str, Any]) -> StreamEvent:
    """The inverse of `to_stored`: an `error` event gets back a typed error with its status."""
    name, data = stored["event"], dict(stored["data"])
    if name != "error":
        return StreamEvent(name, data)
    details = {k: str(v) for k, v in data.items() if k not in ("code", "message")}
    error = DomainError(str(data.get("message", "")), code=str(data.get("code")), details=details)
    error.status = int(stored.get("status", 502))
    return StreamEvent(name, data, error=error)


def drive(
    events: Iterator[StreamEvent], emit: Callable[[StreamEvent], None], stopped: threading.Event
) -> StoredEvents:
    """Pull every event in this (worker) thread, give each to `emit`, and return them all.

    Once `stopped` is set the operation is stopped by throwing `OperationStopped` into it (in this
    thread: a generator cannot be closed from another one while it runs); the events it yields
    after that are returned but not emitted. An operation that lets `OperationStopped` propagate
    (it stored nothing) raises it from here, so an idempotency record is not kept for it.
    """
    collected: StoredEvents = []
    stopping = False
    try:
        while True:
            try:
                if stopped.is_set() and not stopping:
                    stopping = True
                    throw = getattr(events, "throw", None)
                    if throw is None:
                        break
                    event = throw(OperationStopped())
                else:
                    event = next(events)
            except StopIteration:
                break
            collected.append(to_stored(event))
            if not stopping:
                emit(event)
    finally:
        close = getattr(events, "close", None)
        if callable(close):
            close()
    return collected


def _without_text(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "text"}


def compact_deltas(stored: StoredEvents) -> StoredEvents:
    """Consecutive `delta` events joined into one: the same text, a fraction of the size (an
    idempotency record is one DynamoDB item, at most 400 KB)."""
    compacted: StoredEvents = []
    for item in stored:
        previous = compacted[-1] if compacted else None
        if (
            item["event"] == "delta"
            and previous is not None
            and previous["event"] == "delta"
            # a comparison's deltas join within their lane only
            and _without_text(previous["data"]) == _without_text(item["data"])
        ):
            previous["data"] = {**previous["data"], "text": previous["data"]["text"] + item["data"]["text"]}
        else:
            compacted.append({**item, "data": dict(item["data"])})
    return compacted


@dataclass
class _Run:
    """One operation running in a worker thread, seen from the event loop."""

    queue: asyncio.Queue[StreamEvent]
    task: asyncio.Task[StoredEvents]
    stopped: threading.Event
    emitted: int = 0

    async def first(self) -> StreamEvent | None:
        """The first event, or None when the operation ended without emitting (a replay);
        re-raises what the operation raised before its first event."""
        getter = asyncio.ensure_future(self.queue.get())
        done, _ = await asyncio.wait({getter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            self.emitted += 1
            return getter.result()
        getter.cancel()
        if not self.queue.empty():
            self.emitted += 1
            return self.queue.get_nowait()
        self.task.result()  # raises the operation's error
        return None

    async def events(self, quiet_seconds: float | None = None) -> AsyncIterator[StreamEvent | None]:
        """Every further event, then (for a replay or an operation that ended early) what the
        result holds beyond what was emitted. With `quiet_seconds`, None after each stretch of that
        many seconds without an event (the caller sends a keep-alive)."""
        getter: asyncio.Future[StreamEvent] | None = None
        try:
            while True:
                if getter is None and not self.queue.empty():
                    self.emitted += 1
                    yield self.queue.get_nowait()
                    continue
                if self.task.done() and getter is None:
                    break
                getter = getter or asyncio.ensure_future(self.queue.get())
                waiting: set[asyncio.Future[Any]] = {getter, self.task}
                done, _ = await asyncio.wait(
                    waiting, timeout=quiet_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    self.emitted += 1
                    event, getter = getter.result(), None
                    yield event
                elif not done:
                    yield None  # quiet for `quiet_seconds`: the operation is still running
                else:
                    getter.cancel()
                    getter = None
        finally:
            if getter is not None:
                getter.cancel()
        for stored in self.task.result()[self.emitted :]:
            yield from_stored(stored)

    async def stop(self) -> None:
        """The client went away: stop the operation and wait until it has stored what it had."""
        self.stopped.set()
        with anyio.CancelScope(shield=True), contextlib.suppress(BaseException):
            await self.task


def _start(work: Callable[[Callable[[StreamEvent], None], threading.Event], StoredEvents]) -> _Run:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
    stopped = threading.Event()

    def emit(event: StreamEvent) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    task = asyncio.ensure_future(anyio.to_thread.run_sync(work, emit, stopped))
    return _Run(queue=queue, task=task, stopped=stopped)


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body was read already: only http.disconnect is left)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def respond(
    request: Request,
    start: Callable[[], Iterator[StreamEvent]],
    aggregate: Callable[[Iterator[StreamEvent]], T],
    *,
    idempotency: IdempotentOperations | None = None,
    user_id: str = "",
    operation: str = "",
    body: dict[str, Any] | None = None,
) -> T | Response:
    """Run a streamed operation as SSE or JSON depending on the Accept header.

    `start` (called in the worker thread) validates and returns the event generator, raising
    DomainError to refuse. `aggregate` folds the events into the JSON answer. With an
    `Idempotency-Key` header and `idempotency` given, (user_id, operation, key, body) make the
    operation idempotent (lambda_chat.idempotency).
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)

    def work(emit: Callable[[StreamEvent], None], stopped: threading.Event) -> StoredEvents:
        set_stop_signal(stopped)  # this worker thread's context only
        if key is None or idempotency is None:
            return drive(start(), emit, stopped)
        ran: StoredEvents = []

        def once() -> StoredEvents:
            ran.extend(drive(start(), emit, stopped))
            return compact_deltas(ran)  # what the idempotency record keeps

        replayed = idempotency.run(user_id=user_id, operation=operation, key=key, body=body or {}, work=once)
        # This request's own events when it ran (the relay counts what it emitted), else the replay.
        return ran if ran else replayed

    if key is not None and idempotency is None:
        raise InvalidInput(
            f"{IDEMPOTENCY_HEADER} is not available: this deployment has no idempotency store",
            code="idempotency_unavailable",
        )
    run = _start(work)
    if not wants_event_stream(request):
        return await _json(request, run, aggregate)
    try:
        first = await run.first()
    except BaseException:
        await run.stop()
        raise
    return StreamingResponse(_relay(run, first), media_type=EVENT_STREAM, headers=SSE_HEADERS)


async def _json(request: Request, run: _Run, aggregate: Callable[[Iterator[StreamEvent]], T]) -> T:
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({run.task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if run.task not in done:
            await run.stop()  # the client abandoned the request: stop the model now
    except BaseException:
        await run.stop()
        raise
    finally:
        watcher.cancel()
    try:
        stored = run.task.result()
    except OperationStopped:
        # Nobody is listening; this answer is for the log only (499: nginx's "client closed request").
        closed = DomainError("The client closed the request", code="client_closed_request")
        closed.status = 499
        raise closed from None
    return aggregate(iter([from_stored(item) for item in stored]))


async def _relay(
    run: _Run, first: StreamEvent | None, keepalive_seconds: float = KEEPALIVE_SECONDS
) -> AsyncIterator[str]:
    """SSE frames, with a comment frame after each `keepalive_seconds` without an event; if the
    client goes away (Starlette cancels this generator), the operation is stopped and has stored
    what it had before the request ends."""
    try:
        if first is not None:
            yield format_sse(first)
        async for event in run.events(keepalive_seconds):
            yield KEEPALIVE_FRAME if event is None else format_sse(event)
    finally:
        await run.stop()


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

"""Long quiet stretches of a stream carry SSE comments, so idle timeouts never cut a live answer."""

from __future__ import annotations

import time
from collections.abc import Iterator

from lambda_chat.domain.events import StreamEvent
from lambda_chat.sse import KEEPALIVE_FRAME, KEEPALIVE_SECONDS, _relay, _start, drive
from tests.async_support import run_coroutine


def _slow_events(closed: list[bool]) -> Iterator[StreamEvent]:
    try:
        yield StreamEvent("meta", {"id": 1})
        time.sleep(0.35)  # e.g. a summary's map step: no event for a while
        yield StreamEvent("delta", {"text": "late"})
    finally:
        closed.append(True)


async def _collect(events: Iterator[StreamEvent], keepalive: float) -> list[str]:
    run = _start(lambda emit, stopped: drive(events, emit, stopped))
    first = await run.first()
    return [frame async for frame in _relay(run, first, keepalive_seconds=keepalive)]


def test_quiet_stream_gets_comment_frames_and_every_event_still_arrives_in_order() -> None:
    closed: list[bool] = []
    frames = run_coroutine(_collect(_slow_events(closed), 0.1))
    assert frames[0].startswith("event: meta")
    assert frames[-1].startswith("event: delta") and '"late"' in frames[-1]
    keepalives = frames[1:-1]
    assert len(keepalives) >= 2 and set(keepalives) == {KEEPALIVE_FRAME}
    # an SSE comment line: clients (EventSource, the web client's parser) ignore it
    assert KEEPALIVE_FRAME.startswith(":")
    assert closed == [True]


def test_keepalive_interval_is_within_the_idle_timeouts_in_front_of_the_api() -> None:
    # CloudFront's default origin response timeout is 30 s between packets.
    assert 5 <= KEEPALIVE_SECONDS <= 25

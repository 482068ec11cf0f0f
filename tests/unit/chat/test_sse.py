"""lambda_chat.sse's pump (`drive`) and the stored form of events, without sockets."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from chatbot_common.errors import Conflict
from lambda_chat.domain.events import OperationStopped, StreamEvent, error_event
from lambda_chat.sse import compact_deltas, drive, from_stored, to_stored


def _operation(log: list[str]) -> Iterator[StreamEvent]:
    try:
        yield StreamEvent("meta", {"conversationId": "c"})
        for word in ("a", "b", "c", "d"):
            yield StreamEvent("delta", {"text": word})
        yield StreamEvent("done", {"stopReason": "end_turn"})
    except OperationStopped:
        log.append("stopped")
        yield StreamEvent("done", {"stopReason": "stopped"})
    finally:
        log.append("closed")


def test_drive_emits_every_event_and_returns_them_stored() -> None:
    emitted: list[str] = []
    stored = drive(_operation([]), lambda e: emitted.append(e.name), threading.Event())
    assert emitted == ["meta", "delta", "delta", "delta", "delta", "done"]
    assert [from_stored(item) for item in stored][-1] == StreamEvent("done", {"stopReason": "end_turn"})


def test_once_stopped_the_operation_is_told_in_its_own_thread_and_its_ending_is_kept_not_sent() -> None:
    stopped, log, emitted = threading.Event(), [], []

    def emit(event: StreamEvent) -> None:
        emitted.append(event.name)
        if len(emitted) == 2:
            stopped.set()  # the client went away after the first delta

    stored = drive(_operation(log), emit, stopped)
    assert emitted == ["meta", "delta"]
    assert [item["event"] for item in stored] == ["meta", "delta", "done"]
    assert stored[-1]["data"] == {"stopReason": "stopped"}
    assert log == ["stopped", "closed"]


def test_stored_errors_keep_their_status_and_details() -> None:
    error = Conflict("deleted", code="conversation_deleted", details={"conversationId": "c"})
    back = from_stored(to_stored(error_event(error)))
    assert back.error is not None
    assert (back.error.status, back.error.code, back.error.details) == (
        409,
        "conversation_deleted",
        {"conversationId": "c"},
    )


def test_stored_deltas_are_compacted_without_changing_the_text() -> None:
    stored = drive(_operation([]), lambda e: None, threading.Event())
    compacted = compact_deltas(stored)
    assert [item["event"] for item in compacted] == ["meta", "delta", "done"]
    assert compacted[1]["data"]["text"] == "abcd"
    assert len(stored) == 6  # the original is untouched

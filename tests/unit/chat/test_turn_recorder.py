"""The chat turn's endings (lambda_chat.domain.chat.TurnRecorder) over in-memory fakes: when the
model counts as having answered, what a failed, stopped or deleted turn stores, token estimates,
stopReason, and a follow-up that waits for a just-stopped answer."""

from __future__ import annotations

import time

import pytest

from chatbot_common.errors import UpstreamError
from chatbot_common.timestamps import iso_now
from lambda_chat.domain.chat import ChatConfig, TurnInput
from lambda_chat.domain.entities import Message
from lambda_chat.domain.errors import ModelBusy
from lambda_chat.domain.events import OperationStopped
from lambda_chat.domain.ports import ModelChunk
from tests.fakes.chat import stored_message
from tests.unit.chat.conftest import Harness, build

ALICE = "alice"


def test_a_stream_that_fails_after_message_start_but_before_text_stores_nothing(harness: Harness) -> None:
    # Given a stream whose first event carries no text (messageStart) and then fails
    harness.model.scripts = [[ModelChunk(), UpstreamError("stream broke")]]
    # When the turn runs, Then the client gets the plain error and nothing is stored
    with pytest.raises(UpstreamError):
        list(harness.chat.start_turn(ALICE, TurnInput(message="Tell me about lighthouses.")))
    assert harness.store.conversations == {} and harness.store.messages == {}
    # And the call is logged with the input the model read, estimated (Bedrock sent no counts)
    [call] = harness.store.calls
    assert call.status == "error"
    assert call.input_tokens == 7 and call.output_tokens == 0  # ~4 characters a token
    assert call.tokens_estimated


def test_a_tool_use_delta_counts_as_the_model_answering(harness: Harness) -> None:
    harness.model.scripts = [[ModelChunk(tool_use=True), UpstreamError("stream broke")]]
    events = list(harness.chat.start_turn(ALICE, TurnInput(message="what time is it?")))
    assert [e.name for e in events] == ["meta", "error"]
    [(_, conversation_id)] = harness.store.conversations
    assert [m.status for m in harness.store.all_messages(ALICE, conversation_id)] == [
        "complete",
        "incomplete",
    ]


def test_a_model_refusing_before_it_ran_records_no_tokens() -> None:
    h = build()
    h.model.scripts = [[ModelBusy("not ready")]] * 3
    with pytest.raises(ModelBusy):
        list(h.chat.start_turn(ALICE, TurnInput(message="hi")))
    assert [(c.input_tokens, c.output_tokens, c.tokens_estimated) for c in h.store.calls] == [(0, 0, False)]


def test_a_stopped_turn_keeps_bedrocks_counts_when_it_sent_them(harness: Harness) -> None:
    harness.model.scripts = [
        [ModelChunk(text="Hello"), ModelChunk(input_tokens=11, output_tokens=3), ModelChunk(text=" there")]
    ]
    events = harness.chat.start_turn(ALICE, TurnInput(message="hi"))
    next(events), next(events), next(events)  # meta, delta, (usage chunk) delta
    events.close()  # the client went away
    [call] = harness.store.calls
    assert (call.status, call.input_tokens, call.output_tokens, call.tokens_estimated) == (
        "stopped",
        11,
        3,
        False,
    )


def test_a_stopped_turn_without_counts_records_an_estimate_never_zero(harness: Harness) -> None:
    harness.model.scripts = [[ModelChunk(text="x" * 40), ModelChunk(text="y" * 40), ModelChunk(text="z")]]
    events = harness.chat.start_turn(ALICE, TurnInput(message="a question of some length"))
    next(events), next(events)  # meta, first delta
    # The HTTP layer throws OperationStopped in when the client goes away: the turn ends stopped
    closing = [events.throw(OperationStopped()), *events]
    assert [e.name for e in closing] == ["usage", "done"]
    assert closing[0].data == {"inputTokens": 7, "outputTokens": 10, "estimated": True, "costUsd": 0}
    assert closing[1].data["stopReason"] == "stopped"
    conversation_id = next(iter(harness.store.conversations))[1]
    answer = harness.store.all_messages(ALICE, conversation_id)[-1]
    assert (answer.status, answer.content) == ("stopped", "x" * 40)
    assert answer.usage is not None and answer.usage.estimated and answer.usage.output_tokens == 10
    [call] = harness.store.calls
    assert (call.status, call.output_tokens, call.tokens_estimated) == ("stopped", 10, True)


def test_stop_reason_max_tokens_reaches_the_result_the_message_and_the_call_log(harness: Harness) -> None:
    harness.model.scripts = [
        [
            ModelChunk(text="A cut"),
            ModelChunk(input_tokens=5, output_tokens=2),
            ModelChunk(stop_reason="max_tokens"),
        ]
    ]
    result = harness.chat.run_turn(ALICE, TurnInput(message="write a long essay"))
    assert result.stop_reason == "max_tokens"
    assert harness.store.all_messages(ALICE, result.conversation_id)[-1].stop_reason == "max_tokens"
    assert harness.store.calls[-1].stop_reason == "max_tokens"


def test_deleting_the_conversation_mid_answer_stops_the_model_and_stores_no_answer() -> None:
    h = build(ChatConfig(deletion_check_seconds=0.0))
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    h.model.scripts = [[ModelChunk(text=f"w{i} ") for i in range(50)]]
    events = h.chat.start_turn(ALICE, TurnInput(message="long", conversation_id=conversation_id))
    assert [next(events).name, next(events).name] == ["meta", "delta"]
    pulled = h.model.chunks_pulled
    h.conversations.delete(ALICE, conversation_id)
    rest = list(events)
    assert [e.name for e in rest] == ["error"]
    assert rest[0].data["code"] == "conversation_deleted"
    assert h.model.chunks_pulled - pulled <= 1  # the model stream was closed at the next chunk
    assert h.model.closed == 2
    assert h.store.messages.get((ALICE, conversation_id)) is None
    assert h.store.calls[-1].status == "stopped"
    assert h.store.calls[-1].error_code == "conversation_deleted"


def _trailing_question(h: Harness, conversation_id: str, *, age_seconds: float = 0.0) -> Message:
    question = stored_message(conversation_id, "user", "stopped question", iso_now(time.time() - age_seconds))
    h.store.append_message(ALICE, question)
    return question


def test_a_follow_up_waits_for_the_answer_of_a_just_stopped_turn() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    question = _trailing_question(h, conversation_id)  # a stop being stored right now
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:  # the stopped answer lands while the follow-up waits
            answer = stored_message(
                conversation_id, "assistant", "partial answer", question.created_at, status="stopped"
            )
            h.store.append_message(ALICE, answer)

    h.chat._sleep = sleep  # type: ignore[attr-defined]
    h.chat.run_turn(ALICE, TurnInput(message="follow-up", conversation_id=conversation_id))
    sent = [(m.role, m.content[0]["text"]) for m in h.model.requests[-1].messages]
    assert sent[-3:] == [("user", "stopped question"), ("assistant", "partial answer"), ("user", "follow-up")]
    assert len(polls) == 2


def test_a_follow_up_does_not_wait_for_an_abandoned_old_question() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    _trailing_question(h, conversation_id, age_seconds=3600)
    polls: list[float] = []
    h.chat._sleep = polls.append  # type: ignore[attr-defined]
    h.chat.run_turn(ALICE, TurnInput(message="follow-up", conversation_id=conversation_id))
    assert polls == []

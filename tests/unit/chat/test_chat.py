from __future__ import annotations

import pytest

from chatbot_common.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Throttled,
    UnsupportedMediaType,
    UpstreamError,
)
from chatbot_common.keys import new_id
from lambda_chat.domain.chat import ChatConfig, TurnInput
from lambda_chat.domain.ports import ModelChunk
from lambda_chat.domain.presets import preset_prompt
from lambda_chat.domain.tokens import estimate_tokens
from tests.fakes.chat import MODEL_ID, FakeResolver
from tests.unit.chat.conftest import Harness, build

ALICE, BOB = "alice", "bob"


def test_given_no_conversation_when_chatting_then_one_is_created_titled_from_the_message(
    harness: Harness,
) -> None:
    result = harness.chat.run_turn(ALICE, TurnInput(message="What is DynamoDB?\nBriefly."), request_id="r1")

    conversation = harness.store.get_conversation(ALICE, result.conversation_id)
    assert conversation.title == "What is DynamoDB? Briefly."
    assert conversation.model == MODEL_ID
    assert result.answer == "echo: What is DynamoDB?\nBriefly."
    assert result.stop_reason == "end_turn"
    assert result.usage.input_tokens == 7
    messages = harness.store.all_messages(ALICE, result.conversation_id)
    assert [(m.role, m.status) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[1].id == result.message_id
    assert messages[1].content == result.answer
    [call] = harness.store.calls
    assert (call.user_id, call.conversation_id, call.model, call.status, call.request_id) == (
        ALICE,
        result.conversation_id,
        MODEL_ID,
        "complete",
        "r1",
    )
    assert call.output_tokens == result.usage.output_tokens


def test_given_earlier_turns_when_chatting_again_then_the_model_receives_them(harness: Harness) -> None:
    first = harness.chat.run_turn(ALICE, TurnInput(message="one"))
    harness.chat.run_turn(ALICE, TurnInput(message="two", conversation_id=first.conversation_id))
    harness.chat.run_turn(ALICE, TurnInput(message="three", conversation_id=first.conversation_id))

    sent = harness.model.requests[-1].messages
    assert [(m.role, m.content[0]["text"]) for m in sent] == [
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "two"),
        ("assistant", "echo: two"),
        ("user", "three"),
    ]
    # The history came with the conversation (its history window): no message query at all.
    assert harness.store.recent_limits == []
    assert harness.store.window_reads == 2


def test_history_is_trimmed_to_the_budget_keeping_the_system_prompt() -> None:
    h = build(ChatConfig(history_token_budget=120, max_system_chars=400, history_start_step=1))
    conv = h.chat.run_turn(ALICE, TurnInput(message="a" * 100, system="Be terse. " * 10)).conversation_id
    for _ in range(5):
        h.chat.run_turn(ALICE, TurnInput(message="b" * 100, conversation_id=conv))
    request = h.model.requests[-1]
    assert request.system == "Be terse. " * 10
    # ~25 (system) + ~25 (new) reserved; each earlier turn ~52 tokens: exactly one fits.
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]


def test_a_long_conversation_on_a_small_context_model_keeps_fitting_its_window() -> None:
    # Given the default budgets (6,000 history tokens, 1,024-token answers) and a model whose
    # context window is 4,096 tokens (the local model's row of the model table)
    h = build(ChatConfig())
    window = h.chat.table.profile_for(MODEL_ID).context_window
    assert window == 4_096
    # When a conversation goes on for twelve turns of ~250-token questions and answers
    conv = h.chat.run_turn(ALICE, TurnInput(message="q" * 1_000)).conversation_id
    for _ in range(11):
        h.chat.run_turn(ALICE, TurnInput(message="q" * 1_000, conversation_id=conv))
    # Then every request's input and its answer fit the window: older turns were dropped, the
    # newest kept (it used to grow to the 6,000-token budget and fail "Input is too long")
    for request in h.model.requests:
        text = sum(len(block["text"]) for m in request.messages for block in m.content if "text" in block)
        assert estimate_tokens("x" * text) + (request.max_tokens or 0) <= window
    assert 2 < len(h.model.requests[-1].messages) < 2 * 12 - 1


def test_system_in_request_overrides_stored_one_for_that_turn(harness: Harness) -> None:
    conv = harness.chat.run_turn(ALICE, TurnInput(message="hi", system="S1")).conversation_id
    harness.chat.run_turn(ALICE, TurnInput(message="hi", conversation_id=conv))
    harness.chat.run_turn(ALICE, TurnInput(message="hi", conversation_id=conv, system="S2"))
    assert [r.system for r in harness.model.requests] == ["S1", "S1", "S2"]


@pytest.mark.parametrize(
    ("turn", "error"),
    [
        (TurnInput(message=""), InvalidInput),
        (TurnInput(message="   \n"), InvalidInput),
        (TurnInput(message="x" * 501), PayloadTooLarge),
        (TurnInput(message="hi", system="s" * 201), PayloadTooLarge),
        (TurnInput(message="hi", conversation_id="not-a-ulid"), InvalidInput),
        (TurnInput(message="hi", conversation_id=new_id()), NotFound),
        (TurnInput(message="hi", model="no.such-model"), InvalidInput),
        (TurnInput(message="", preset="no-such-preset"), InvalidInput),
        (TurnInput(message="hi", attachments=[new_id()]), InvalidInput),  # no resolver configured
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    harness: Harness, turn: TurnInput, error: type[DomainError]
) -> None:
    with pytest.raises(error):
        harness.chat.start_turn(ALICE, turn)
    assert harness.store.writes == 0
    assert harness.store.calls == []
    assert harness.model.requests == []


def test_another_users_conversation_is_not_found(harness: Harness) -> None:
    conv = harness.chat.run_turn(ALICE, TurnInput(message="secret")).conversation_id
    writes = harness.store.writes
    with pytest.raises(NotFound):
        harness.chat.start_turn(BOB, TurnInput(message="hi", conversation_id=conv))
    with pytest.raises(NotFound):
        harness.conversations.get(BOB, conv)
    with pytest.raises(NotFound):
        harness.conversations.delete(BOB, conv)
    assert harness.store.writes == writes


def test_preset_with_empty_message_sends_the_preset_prompt(harness: Harness) -> None:
    result = harness.chat.run_turn(ALICE, TurnInput(message="", preset="caption"))
    assert harness.model.requests[0].messages[-1].content[-1]["text"] == preset_prompt("caption")
    assert result.answer.startswith("echo: Write a one-sentence caption")


def test_sse_event_order_and_payloads(harness: Harness) -> None:
    events = list(harness.chat.start_turn(ALICE, TurnInput(message="hello world")))
    names = [e.name for e in events]
    assert names == ["meta", "delta", "delta", "delta", "usage", "done"]
    meta = events[0].data
    assert set(meta) == {"conversationId", "messageId", "userMessageId", "model"}
    assert "".join(e.data["text"] for e in events if e.name == "delta") == "echo: hello world"
    assert events[-1].data["stopReason"] == "end_turn"
    assert isinstance(events[-1].data["latencyMs"], int)


def test_mid_stream_failure_stores_partial_as_incomplete_and_emits_error(harness: Harness) -> None:
    harness.model.scripts = [
        [ModelChunk(text="Partial "), ModelChunk(text="answer"), UpstreamError("stream broke")]
    ]
    events = list(harness.chat.start_turn(ALICE, TurnInput(message="q")))
    assert [e.name for e in events] == ["meta", "delta", "delta", "error"]
    meta = events[0].data
    assert events[-1].data == {
        "code": "upstream_error",
        "message": "stream broke",
        # what was kept, so a client can find it
        "conversationId": meta["conversationId"],
        "messageId": meta["messageId"],
    }
    conv = events[0].data["conversationId"]
    assistant = harness.store.all_messages(ALICE, conv)[-1]
    assert (assistant.role, assistant.status, assistant.content) == (
        "assistant",
        "incomplete",
        "Partial answer",
    )
    assert assistant.id == events[0].data["messageId"]
    assert harness.store.calls[-1].status == "incomplete"


def test_json_form_raises_the_mid_stream_error(harness: Harness) -> None:
    harness.model.scripts = [[ModelChunk(text="Partial"), UpstreamError("stream broke")]]
    with pytest.raises(UpstreamError):
        harness.chat.run_turn(ALICE, TurnInput(message="q"))


def test_client_going_away_stops_generation_and_stores_partial_as_stopped(harness: Harness) -> None:
    harness.model.scripts = [[ModelChunk(text=f"w{i} ") for i in range(100)]]
    events = harness.chat.start_turn(ALICE, TurnInput(message="long please"))
    received = [next(events) for _ in range(4)]  # meta + 3 deltas
    events.close()  # type: ignore[attr-defined]

    assert harness.model.closed == 1
    assert harness.model.chunks_pulled < 10
    conv = received[0].data["conversationId"]
    assistant = harness.store.all_messages(ALICE, conv)[-1]
    assert assistant.status == "stopped"
    assert assistant.content == "w0 w1 w2 "
    assert harness.store.calls[-1].status == "stopped"


def test_throttling_before_first_token_is_retried_then_answered(harness: Harness) -> None:
    harness.model.scripts = [[Throttled("t")], [Throttled("t")]]
    result = harness.chat.run_turn(ALICE, TurnInput(message="hi"))
    assert result.answer == "echo: hi"
    assert len(harness.sleeps) == 2
    assert harness.store.calls[-1].status == "complete"


def test_throttling_after_all_retries_raises_before_any_event_and_writes_nothing(harness: Harness) -> None:
    harness.model.scripts = [[Throttled("t")]] * 3
    events = harness.chat.start_turn(ALICE, TurnInput(message="hi"))
    with pytest.raises(Throttled):
        next(events)
    [call] = harness.store.calls
    assert (call.status, call.error_code) == ("throttled", "throttled")
    conv = call.conversation_id
    assert conv is not None
    # Nothing is half-written: no conversation and no question are left behind, so a retry by
    # the client cannot duplicate them; only the call log records the refused call.
    assert harness.store.all_messages(ALICE, conv) == []
    assert harness.store.list_conversations(ALICE, 20, None).items == []


def test_unexpected_exception_mid_stream_becomes_an_error_event(harness: Harness) -> None:
    harness.model.scripts = [[ModelChunk(text="x"), RuntimeError("bug")]]
    events = list(harness.chat.start_turn(ALICE, TurnInput(message="q")))
    assert events[-1].name == "error"
    assert events[-1].data["code"] == "internal_error"


def test_attachments_blocks_reach_the_model_and_references_are_stored() -> None:
    upload = new_id()
    ref = {
        "uploadId": upload,
        "kind": "document",
        "filename": "r.pdf",
        "key": f"uploads/alice/{upload}/r.pdf",
    }
    resolver = FakeResolver(blocks=[{"text": "EXCERPT"}], refs=[ref])
    h = build(resolver=resolver)
    result = h.chat.run_turn(ALICE, TurnInput(message="summarise", attachments=[upload]))

    sent = h.model.requests[0].messages[-1].content
    assert sent == [{"text": "EXCERPT"}, {"text": "summarise"}]
    user_message = h.store.all_messages(ALICE, result.conversation_id)[0]
    assert user_message.attachments == [ref]

    h.chat.run_turn(ALICE, TurnInput(message="and the conclusion?", conversation_id=result.conversation_id))
    follow_up = resolver.calls[-1]
    assert follow_up.upload_ids == []
    assert follow_up.earlier_refs == [ref]
    assert follow_up.question == "and the conclusion?"


def test_unusable_attachment_is_refused_before_anything_is_written() -> None:
    h = build(resolver=FakeResolver(fail_with=UnsupportedMediaType("not an image")))
    with pytest.raises(UnsupportedMediaType):
        h.chat.start_turn(ALICE, TurnInput(message="look", attachments=[new_id()]))
    with pytest.raises(InvalidInput):
        h.chat.start_turn(ALICE, TurnInput(message="look", attachments=["../etc/passwd"]))
    assert h.store.writes == 0


def test_conversation_patch_list_and_delete(harness: Harness) -> None:
    first = harness.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    second = harness.chat.run_turn(ALICE, TurnInput(message="second")).conversation_id
    harness.chat.run_turn(BOB, TurnInput(message="bob's"))

    page = harness.conversations.list(ALICE, limit=1)
    assert [c.id for c in page.items] == [second]
    assert page.next_cursor is not None
    assert [c.id for c in harness.conversations.list(ALICE, limit=1, cursor=page.next_cursor).items] == [
        first
    ]

    updated = harness.conversations.update(
        ALICE, first, title="  Renamed  ", system="Be kind", model="local.other"
    )
    assert (updated.title, updated.system, updated.model) == ("Renamed", "Be kind", "local.other")
    assert harness.conversations.update(ALICE, first, system="").system is None
    with pytest.raises(InvalidInput):
        harness.conversations.update(ALICE, first, title="   ")
    with pytest.raises(InvalidInput):
        harness.conversations.update(ALICE, first, model="unknown")

    harness.conversations.delete(ALICE, first)
    with pytest.raises(NotFound):
        harness.conversations.get(ALICE, first)
    assert harness.store.all_messages(ALICE, first) == []


def test_failure_to_store_the_answer_is_reported_and_the_call_is_still_logged(harness: Harness) -> None:
    def storage_down(*args: object, **kwargs: object) -> None:
        raise UpstreamError("storage down")

    harness.store.record_answer = storage_down  # type: ignore[method-assign]
    events = list(harness.chat.start_turn(ALICE, TurnInput(message="hi")))
    assert events[-1].name == "error"
    assert events[-1].data["code"] == "upstream_error"
    # The answer's write failed as a whole; the call record is then written on its own.
    [call] = harness.store.calls
    assert call.status == "complete"


def test_a_new_conversation_turn_makes_two_writes_and_a_follow_up_two_more(harness: Harness) -> None:
    # Given a new conversation: its creation with the question, then the answer with the touch
    # and the call record.
    first = harness.chat.run_turn(ALICE, TurnInput(message="one"))
    assert harness.store.writes == 2
    # When the conversation continues: the question, then the answer with the touch and the call.
    harness.chat.run_turn(ALICE, TurnInput(message="two", conversation_id=first.conversation_id))
    assert harness.store.writes == 4
    assert len(harness.store.all_messages(ALICE, first.conversation_id)) == 4
    assert [c.status for c in harness.store.calls] == ["complete", "complete"]


def test_a_turn_racing_a_delete_of_its_conversation_leaves_no_orphan_answer_but_logs_the_call(
    harness: Harness,
) -> None:
    conv = harness.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    events = harness.chat.start_turn(ALICE, TurnInput(message="second", conversation_id=conv))
    received = [next(events), next(events)]  # meta + first delta: the question is stored
    assert received[0].name == "meta"

    harness.conversations.delete(ALICE, conv)  # the user deletes the conversation meanwhile
    rest = list(events)

    # The answer went out to the client, but nothing of it is stored without its conversation,
    # and the stream says so instead of ending `done`.
    assert rest[-1].name == "error"
    assert rest[-1].data["code"] == "conversation_deleted"
    assert "deleted" in rest[-1].data["message"]
    assert harness.store.all_messages(ALICE, conv) == []
    assert [c.status for c in harness.store.calls] == ["complete", "complete"]
    assert harness.store.calls[-1].conversation_id == conv
    with pytest.raises(NotFound):
        harness.conversations.get(ALICE, conv)


def test_a_model_switch_is_recorded_on_the_conversation_with_the_answer(harness: Harness) -> None:
    conv = harness.chat.run_turn(ALICE, TurnInput(message="hi")).conversation_id
    harness.chat.run_turn(ALICE, TurnInput(message="again", conversation_id=conv, model="local.other"))
    assert harness.store.get_conversation(ALICE, conv).model == "local.other"


def test_every_call_record_is_also_given_to_the_observer() -> None:
    seen: list[str] = []
    h = build(on_call=lambda record: seen.append(record.status))
    h.chat.run_turn(ALICE, TurnInput(message="hi"))
    assert seen == ["complete"]

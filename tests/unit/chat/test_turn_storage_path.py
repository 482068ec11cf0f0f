"""The storage path of a turn: one round trip before the model is called (conversation and
history read in parallel), the question written beside the stream, all or nothing kept."""

from __future__ import annotations

import threading

from chatbot_common.errors import UpstreamError
from lambda_chat.domain.chat import ChatConfig, TurnInput
from lambda_chat.domain.entities import Conversation, Message
from tests.unit.chat.conftest import build

ALICE = "alice"


def test_the_conversation_and_its_history_are_read_in_parallel() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    both = threading.Barrier(2, timeout=5)  # broken (an error) unless both reads run at once
    get, recent = h.store.get_conversation, h.store.recent_messages

    waited: set[str] = set()

    def meet(read: str) -> None:
        if read not in waited:  # the first of each read, the ones before the model is called
            waited.add(read)
            both.wait()

    def get_conversation(user_id: str, cid: str) -> Conversation:
        meet("conversation")
        return get(user_id, cid)

    def recent_messages(user_id: str, cid: str, limit: int) -> list[Message]:
        meet("history")
        return recent(user_id, cid, limit)

    h.store.get_conversation = get_conversation  # type: ignore[method-assign]
    h.store.recent_messages = recent_messages  # type: ignore[method-assign]
    result = h.chat.run_turn(ALICE, TurnInput(message="second", conversation_id=conversation_id))
    assert result.answer == "echo: second"


def test_the_first_token_is_sent_before_the_question_is_written_and_the_answer_after_it() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    release = threading.Event()
    append = h.store.append_message

    def slow_append(user_id: str, message: Message, **kwargs: bool) -> None:
        assert release.wait(5)
        append(user_id, message, **kwargs)

    h.store.append_message = slow_append  # type: ignore[method-assign]
    events = h.chat.start_turn(ALICE, TurnInput(message="second", conversation_id=conversation_id))
    assert [next(events).name, next(events).name] == ["meta", "delta"]
    assert len(h.store.all_messages(ALICE, conversation_id)) == 2  # the question is still being written
    release.set()
    assert [e.name for e in events][-2:] == ["usage", "done"]
    stored = h.store.all_messages(ALICE, conversation_id)
    assert [(m.role, m.content) for m in stored[2:]] == [("user", "second"), ("assistant", "echo: second")]


def test_a_question_that_cannot_be_written_leaves_no_answer_and_the_stream_says_so() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id

    def failing_append(user_id: str, message: Message, **kwargs: bool) -> None:
        raise UpstreamError("The storage is unavailable")

    h.store.append_message = failing_append  # type: ignore[method-assign]
    events = list(h.chat.start_turn(ALICE, TurnInput(message="second", conversation_id=conversation_id)))
    assert events[0].name == "meta" and events[-1].name == "error"
    assert len(h.store.all_messages(ALICE, conversation_id)) == 2  # no orphan answer
    assert h.store.calls[-1].conversation_id == conversation_id  # the call is still logged


def test_a_new_conversation_that_never_gets_an_answer_stores_nothing() -> None:
    h = build()
    h.model.scripts = [[UpstreamError("model down")]]
    try:
        list(h.chat.start_turn(ALICE, TurnInput(message="hello")))
    except UpstreamError:
        pass
    assert h.store.conversations == {} and h.store.messages == {}


def test_the_history_read_is_sized_by_the_token_budget() -> None:
    h = build(ChatConfig(history_token_budget=1_500, history_tokens_per_message=150, history_max_messages=100))
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="long " * 400)).conversation_id
    for _ in range(6):
        h.chat.run_turn(ALICE, TurnInput(message="long " * 400, conversation_id=conversation_id))
    h.store.recent_limits.clear()
    h.chat.run_turn(ALICE, TurnInput(message="next", conversation_id=conversation_id))
    # Ten messages of ~500 tokens already exceed the budget: one read of 1,500 / 150 = 10.
    assert h.store.recent_limits == [10]

    short = build(ChatConfig(history_token_budget=1_500, history_tokens_per_message=150))
    conversation_id = short.chat.run_turn(ALICE, TurnInput(message="hi")).conversation_id
    for _ in range(6):
        short.chat.run_turn(ALICE, TurnInput(message="hi", conversation_id=conversation_id))
    short.store.recent_limits.clear()
    short.chat.run_turn(ALICE, TurnInput(message="next", conversation_id=conversation_id))
    # Short messages: the first page fills under budget, so one more read up to the cap.
    assert short.store.recent_limits == [10, 100]

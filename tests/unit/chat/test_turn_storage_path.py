"""The storage path of a turn: one round trip before the model is called (conversation and
history read in parallel), the question written beside the stream, all or nothing kept."""

from __future__ import annotations

import contextlib
import threading

from chatbot_common.errors import UpstreamError
from lambda_chat.domain.chat import ChatConfig, TurnInput
from lambda_chat.domain.entities import Message
from lambda_chat.domain.tokens import estimate_tokens
from tests.fakes.chat import stored_message
from tests.unit.chat.conftest import build

ALICE = "alice"


def test_a_follow_up_reads_its_conversation_and_history_in_one_request() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    h.chat.run_turn(ALICE, TurnInput(message="second", conversation_id=conversation_id))
    h.store.window_reads, h.store.recent_limits = 0, []
    h.chat.run_turn(ALICE, TurnInput(message="third", conversation_id=conversation_id))
    assert (h.store.window_reads, h.store.recent_limits) == (1, [])
    sent = [m.content[0]["text"] for m in h.model.requests[-1].messages]
    assert sent == ["first", "echo: first", "second", "echo: second", "third"]


def test_a_message_written_by_anyone_else_makes_the_window_out_of_date_and_the_turn_queries() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    h.store.append_message(ALICE, stored_message(conversation_id, "user", "summary request"))
    h.store.append_message(ALICE, stored_message(conversation_id, "assistant", "the summary"))
    h.chat.run_turn(ALICE, TurnInput(message="next", conversation_id=conversation_id))
    assert h.store.recent_limits == [7]
    sent = [m.content[0]["text"] for m in h.model.requests[-1].messages]
    assert sent == ["first", "echo: first", "summary request", "the summary", "next"]
    # ... and the window written by that turn is current again.
    h.store.recent_limits.clear()
    h.chat.run_turn(ALICE, TurnInput(message="after", conversation_id=conversation_id))
    assert h.store.recent_limits == []
    assert "the summary" in [m.content[0]["text"] for m in h.model.requests[-1].messages]


def test_interleaved_turns_leave_no_window_that_misses_either() -> None:
    h = build()
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="first")).conversation_id
    one = h.chat.start_turn(ALICE, TurnInput(message="one", conversation_id=conversation_id))
    two = h.chat.start_turn(ALICE, TurnInput(message="two", conversation_id=conversation_id))
    list(one), list(two)
    h.chat.run_turn(ALICE, TurnInput(message="three", conversation_id=conversation_id))
    sent = [m.content[0]["text"] for m in h.model.requests[-1].messages]
    assert {"one", "echo: one", "two", "echo: two"} <= set(sent)


def test_the_window_is_bounded_by_the_token_budget() -> None:
    h = build(ChatConfig(history_token_budget=1_500))
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="long " * 400)).conversation_id
    for _ in range(8):
        h.chat.run_turn(ALICE, TurnInput(message="long " * 400, conversation_id=conversation_id))
    [window] = h.store.windows.values()
    assert sum(estimate_tokens(m.content) for m in window.messages) <= 1_500
    assert window.count == len(h.store.all_messages(ALICE, conversation_id))


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
    with contextlib.suppress(UpstreamError):
        list(h.chat.start_turn(ALICE, TurnInput(message="hello")))
    assert h.store.conversations == {} and h.store.messages == {}


def test_the_history_read_is_sized_by_the_token_budget() -> None:
    h = build(
        ChatConfig(history_token_budget=1_500, history_tokens_per_message=150, history_max_messages=100)
    )
    conversation_id = h.chat.run_turn(ALICE, TurnInput(message="long " * 400)).conversation_id
    for _ in range(6):
        h.chat.run_turn(ALICE, TurnInput(message="long " * 400, conversation_id=conversation_id))
    h.store.recent_limits.clear()
    h.store.windows.clear()  # no window (a conversation from before them): the messages are queried
    h.chat.run_turn(ALICE, TurnInput(message="next", conversation_id=conversation_id))
    # Ten messages of ~500 tokens already exceed the budget: one read of 1,500 / 150 = 10.
    assert h.store.recent_limits == [10]

    short = build(ChatConfig(history_token_budget=1_500, history_tokens_per_message=150))
    conversation_id = short.chat.run_turn(ALICE, TurnInput(message="hi")).conversation_id
    for _ in range(6):
        short.chat.run_turn(ALICE, TurnInput(message="hi", conversation_id=conversation_id))
    short.store.recent_limits.clear()
    short.store.windows.clear()
    short.chat.run_turn(ALICE, TurnInput(message="next", conversation_id=conversation_id))
    # Short messages: the first page fills under budget, so one more read up to the cap.
    assert short.store.recent_limits == [10, 100]


def test_after_a_regenerate_or_an_edit_the_next_turn_reads_the_thread_as_it_now_reads() -> None:
    # Given a conversation whose window holds "first"/"echo: first"
    h = build()
    counter = iter(range(100))
    h.model.reply = lambda request: f"answer {next(counter)}"
    first = h.chat.run_turn(ALICE, TurnInput(message="first"))
    conversation_id = first.conversation_id
    # When its answer is regenerated, then the conversation goes on
    h.chat.run_turn(
        ALICE, TurnInput(message="", conversation_id=conversation_id, regenerate=first.message_id)
    )
    h.chat.run_turn(ALICE, TurnInput(message="second", conversation_id=conversation_id))
    # Then the model saw only the regenerated answer, never the superseded one
    sent = [[b["text"] for b in m.content] for m in h.model.requests[-1].messages]
    assert sent == [["first"], ["answer 1"], ["second"]]
    # And after an edit of "second", the next turn sees the edited question's thread only
    second_id = next(m.id for m in h.store.messages[(ALICE, conversation_id)] if m.content == "second")
    h.chat.run_turn(
        ALICE, TurnInput(message="second, edited", conversation_id=conversation_id, edit_of=second_id)
    )
    h.chat.run_turn(ALICE, TurnInput(message="third", conversation_id=conversation_id))
    sent = [[b["text"] for b in m.content] for m in h.model.requests[-1].messages]
    assert sent == [["first"], ["answer 1"], ["second, edited"], ["answer 3"], ["third"]]

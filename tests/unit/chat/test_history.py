from __future__ import annotations

from lambda_chat.domain.entities import Message
from lambda_chat.domain.history import (
    CONTEXT_WINDOW_FILL,
    conversation_title,
    document_references,
    estimate_tokens,
    history_budget,
    paired_turns,
    trim_history,
)


def msg(i: int, role: str, text: str, **extra: object) -> Message:
    return Message(id=f"{i:026d}", conversation_id="c", role=role, content=text, created_at="t", **extra)  # type: ignore[arg-type]


def conversation(turns: int, size: int = 40) -> list[Message]:
    out = []
    for t in range(turns):
        out.append(msg(2 * t, "user", f"q{t} " + "x" * size))
        out.append(msg(2 * t + 1, "assistant", f"a{t} " + "y" * size))
    return out


def test_estimate_is_about_four_chars_per_token() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 4000) == 1000


def test_given_budget_for_two_turns_when_trimming_then_the_newest_two_are_kept_in_order() -> None:
    history = conversation(5, size=36)  # each message ~10 tokens, each turn ~20
    kept = trim_history(history, token_budget=45, reserved_tokens=0)
    texts = [m.content[0]["text"].split()[0] for m in kept]
    assert texts == ["q3", "a3", "q4", "a4"]


def test_reserved_tokens_for_system_and_new_message_reduce_the_history() -> None:
    history = conversation(5, size=36)
    kept = trim_history(history, token_budget=45, reserved_tokens=20)
    assert [m.content[0]["text"].split()[0] for m in kept] == ["q4", "a4"]


def test_history_over_budget_keeps_nothing_rather_than_half_a_turn() -> None:
    assert trim_history(conversation(3, size=400), token_budget=50) == []


def test_roles_alternate_starting_with_user_even_with_dangling_messages() -> None:
    history = [
        msg(0, "assistant", "orphan answer"),
        msg(1, "user", "unanswered question (failed call)"),
        msg(2, "user", "q1"),
        msg(3, "assistant", "a1"),
        msg(4, "user", "q2"),
        msg(5, "assistant", ""),  # empty answer: pair dropped
        msg(6, "user", "q3"),
        msg(7, "assistant", "a3"),
        msg(8, "user", "still running concurrently"),
    ]
    kept = trim_history(history, token_budget=10_000)
    roles = [m.role for m in kept]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert [m.content[0]["text"] for m in kept] == ["q1", "a1", "q3", "a3"]
    assert len(paired_turns(history)) == 2


def test_title_is_one_line_and_cut_at_a_word_boundary() -> None:
    assert conversation_title("  Hello\n  world  ") == "Hello world"
    assert conversation_title("Hello\x00 \x1b[31mred\x1b[0m") == "Hello [31mred[0m"  # no NUL or ESC
    long = "Please explain the difference between optimistic and pessimistic locking in databases"
    title = conversation_title(long)
    assert len(title) <= 60
    assert title.endswith("…")
    assert long.startswith(title[:-1])
    assert conversation_title("   ") == "New conversation"


def test_document_references_come_from_earlier_messages_newest_first_once_each() -> None:
    ref_a = {"uploadId": "a", "kind": "document", "filename": "a.pdf", "key": "k/a"}
    ref_b = {"uploadId": "b", "kind": "document", "filename": "b.pdf", "key": "k/b"}
    image = {"uploadId": "i", "kind": "image", "filename": "i.png", "key": "k/i"}
    history = [
        msg(0, "user", "q", attachments=[ref_a]),
        msg(1, "user", "q", attachments=[ref_b, image]),
        msg(2, "user", "q", attachments=[ref_a]),
    ]
    assert [r["uploadId"] for r in document_references(history)] == ["a", "b"]


def test_with_a_start_step_the_history_start_moves_in_steps_so_a_cached_prefix_survives() -> None:
    from lambda_chat.domain.entities import Message as StoredMessage

    def conversation(turns: int) -> list[StoredMessage]:
        return [
            StoredMessage(
                id=f"{i:04d}",
                conversation_id="c",
                role="user" if i % 2 == 0 else "assistant",
                content=f"message {i} " + "word " * 36,
                created_at="t",
            )
            for i in range(2 * turns)
        ]

    starts = []
    for turns in range(20, 30):
        sent = trim_history(conversation(turns), token_budget=800, start_step=8)
        starts.append(sent[0].content[0]["text"].split()[1])
    # Without a step the first message would change every turn; with it, only every 4 turns.
    assert len(set(starts)) <= 4
    assert all(int(start) % 8 == 0 for start in starts)
    plain = [
        trim_history(conversation(t), token_budget=800)[0].content[0]["text"].split()[1]
        for t in range(20, 30)
    ]
    assert len(set(plain)) == 10
    # A budget that holds about 8 of these messages: a step of 16 would leave nothing for turns
    # at a time; the step shrinks to half of what fits, so at least half is always sent
    for turns in range(20, 30):
        fits = len(trim_history(conversation(turns), token_budget=400))
        assert len(trim_history(conversation(turns), token_budget=400, start_step=16)) >= fits // 2 > 0


def test_the_history_budget_fits_the_models_context_window_beside_the_answer_and_tools() -> None:
    # A 4,096-token window with a 1,024-token answer and 600 tokens of tool definitions leaves
    # 80% of the window minus both for the history, below a configured 6,000
    room = int(4_096 * CONTEXT_WINDOW_FILL) - 1_024 - 600
    assert history_budget(6_000, context_window=4_096, max_output_tokens=1_024, fixed_tokens=600) == room
    # A large window leaves the configured budget alone; an unknown one too
    assert history_budget(6_000, context_window=200_000, max_output_tokens=4_096) == 6_000
    assert history_budget(6_000, context_window=None, max_output_tokens=4_096) == 6_000
    # An answer as long as the window leaves no history, never a negative budget
    assert history_budget(6_000, context_window=4_096, max_output_tokens=4_096) == 0

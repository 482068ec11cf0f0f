from __future__ import annotations

from typing import Any

from lambda_chat.domain.ports import ChatMessage
from lambda_chat.tools.tool_history import (
    STOPPED_RESULT,
    close_dangling_tool_uses,
    group_turns,
    pairing_problems,
    tool_blocks_as_text,
    trim_turns,
    with_question,
)


def use(*ids: str, say: str = "") -> ChatMessage:
    blocks: list[dict[str, Any]] = [{"text": say}] if say else []
    blocks += [
        {"toolUse": {"toolUseId": i, "name": "calculator", "input": {"expression": "1+1"}}} for i in ids
    ]
    return ChatMessage("assistant", blocks)


def results(*ids: str, output: str = "2") -> ChatMessage:
    return ChatMessage(
        "user",
        [{"toolResult": {"toolUseId": i, "content": [{"text": output}], "status": "success"}} for i in ids],
    )


def q(text: str) -> ChatMessage:
    return ChatMessage.text("user", text)


def a(text: str) -> ChatMessage:
    return ChatMessage.text("assistant", text)


def conversation() -> list[ChatMessage]:
    return [
        q("first question " * 20),
        use("t1", "t2", say="checking"),
        results("t1", "t2", output="x" * 400),
        use("t3"),
        results("t3"),
        a("first answer"),
        q("second question"),
        a("second answer"),
        q("third question"),
        use("t4"),
        results("t4"),
        a("third answer"),
    ]


def test_turns_start_at_questions_not_at_tool_results() -> None:
    turns = group_turns(conversation())

    assert [len(t) for t in turns] == [6, 2, 4]


def test_trimming_keeps_whole_turns_so_tool_uses_keep_their_results() -> None:
    history = conversation()
    for budget in range(0, 800, 7):
        kept = trim_turns(history, token_budget=budget)

        assert pairing_problems(kept) == [], budget
        assert kept == history[len(history) - len(kept) :]  # a suffix made of whole turns
        assert not kept or (kept[0].role == "user" and "toolResult" not in kept[0].content[0])


def test_trimming_drops_the_oldest_turns_first() -> None:
    kept = trim_turns(conversation(), token_budget=200)

    assert kept[0] == q("second question") and kept[-1] == a("third answer")


def test_a_window_that_begins_mid_turn_drops_the_orphaned_part() -> None:
    window = conversation()[2:]  # starts with toolResult of a toolUse that was cut off

    kept = trim_turns(window, token_budget=10_000)

    assert kept[0] == q("second question")
    assert pairing_problems(kept) == []


def test_a_stopped_tool_step_gets_error_results_so_history_stays_valid() -> None:
    history = [q("go"), use("s1", "s2"), results("s1")]

    repaired = close_dangling_tool_uses(history)

    assert pairing_problems(repaired) == []
    stopped = repaired[2].content[1]["toolResult"]
    assert (stopped["toolUseId"], stopped["status"], stopped["content"][0]["text"]) == (
        "s2",
        "error",
        STOPPED_RESULT,
    )


def test_a_tool_use_at_the_end_gets_results_and_the_next_question_joins_them() -> None:
    history = close_dangling_tool_uses([q("go"), use("s1")])

    messages = with_question(history, q("and now?"))

    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert pairing_problems(messages) == []
    assert messages[-1].content[-1] == {"text": "and now?"}


def test_a_question_right_after_unanswered_tool_uses_is_kept_after_their_results() -> None:
    repaired = close_dangling_tool_uses([q("go"), use("s1"), q("hello?"), a("hi")])

    assert pairing_problems(repaired) == []
    assert repaired[2].content[0]["toolResult"]["toolUseId"] == "s1"
    assert repaired[2].content[1] == {"text": "hello?"}


def test_results_that_answer_nothing_are_dropped() -> None:
    repaired = close_dangling_tool_uses([q("go"), a("ok"), results("ghost"), a("more")])

    assert all("toolResult" not in b for m in repaired for b in m.content)


def test_pairing_problems_names_what_converse_would_refuse() -> None:
    problems = pairing_problems([q("go"), use("u1", "u2"), results("u1"), a("x"), results("zz")])

    assert "toolUse u2 has no toolResult in the next message" in problems
    assert "toolResult zz answers no toolUse in the message before" in problems


def test_tool_blocks_as_text_keeps_roles_and_meaning() -> None:
    rewritten = tool_blocks_as_text([q("go"), use("u1", say="checking"), results("u1", output="2"), a("two")])

    assert [m.role for m in rewritten] == ["user", "assistant", "user", "assistant"]
    assert rewritten[1].content == [
        {"text": "checking"},
        {"text": '[Called tool calculator with input {"expression": "1+1"}]'},
    ]
    assert rewritten[2].content == [{"text": "[Tool result (success): 2]"}]


def test_a_start_step_never_drops_more_than_half_of_the_turns_that_fit() -> None:
    # Given conversations of 20-29 turns of which about three fit the budget (a small model's window)
    for turns in range(20, 30):
        history = [
            m for t in range(turns) for m in (q(f"question {t} " + "x" * 60), a(f"answer {t} " + "y" * 60))
        ]
        fits = trim_turns(history, token_budget=110)
        # When trimmed with the chat's start step of 16 messages (for a prompt cache's stable prefix)
        stepped = trim_turns(history, token_budget=110, start_step=16)
        # Then the step shrinks to half of what fits instead of emptying the history
        assert len(fits) == 6
        assert len(stepped) >= len(fits) // 2
        assert stepped == fits[len(fits) - len(stepped) :]  # the newest turns, a suffix of what fits

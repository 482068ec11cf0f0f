"""History rules for tool steps, as pure functions over Converse messages (``ChatMessage``).

Converse accepts a conversation only when (Bedrock user guide, "Call a tool with the Converse
API"): it starts with a user message; every assistant ``toolUse`` is answered by a
``toolResult`` with the same ``toolUseId`` in the very next (user) message; and a request whose
messages hold toolUse/toolResult blocks carries a ``toolConfig``. Trimming therefore keeps or
drops whole turns (a user question, the assistant's tool steps and its answer), never part of one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lambda_chat.domain.entities import Message
from lambda_chat.domain.history import estimate_tokens, stepped_start
from lambda_chat.domain.ports import ChatMessage

STOPPED_RESULT = "The tool run was stopped before it finished."


def tool_use_ids(message: ChatMessage) -> list[str]:
    return [b["toolUse"]["toolUseId"] for b in message.content if "toolUse" in b]


def tool_result_ids(message: ChatMessage) -> list[str]:
    return [b["toolResult"]["toolUseId"] for b in message.content if "toolResult" in b]


def has_tool_blocks(messages: Sequence[ChatMessage]) -> bool:
    """Whether any message holds a toolUse or toolResult block (then a request needs toolConfig,
    or the blocks rewritten with ``tool_blocks_as_text``)."""
    return any("toolUse" in b or "toolResult" in b for m in messages for b in m.content)


def starts_turn(message: ChatMessage) -> bool:
    """A user message that is a question, not the toolResult answer of a tool step."""
    return message.role == "user" and not tool_result_ids(message)


def older_half_cut(messages: Sequence[ChatMessage], earlier: int) -> int:
    """How many leading messages to leave out so that at least the older half of the `earlier`
    messages (the conversation's turns before the question at `messages[earlier]`) goes: the
    first turn start at or after half of them, else all of them. 0 when `earlier` is 0.

    Cutting only where a turn starts (`starts_turn`) keeps every toolUse with its toolResult and
    the user/assistant alternation Converse requires."""
    if earlier <= 0:
        return 0
    half = -(-earlier // 2)
    return next((i for i in range(half, earlier) if starts_turn(messages[i])), earlier)


def message_tokens(message: ChatMessage) -> int:
    """Estimated tokens of a message's blocks, tool blocks included (their JSON text)."""
    total = 0
    for block in message.content:
        if "text" in block:
            total += estimate_tokens(str(block["text"]))
        elif "toolUse" in block or "toolResult" in block:
            total += estimate_tokens(json.dumps(block, ensure_ascii=False, default=str))
        else:
            total += estimate_tokens(json.dumps(block, ensure_ascii=False, default=str)[:2000])
    return total


def group_turns(messages: Sequence[ChatMessage]) -> list[list[ChatMessage]]:
    """Messages grouped into turns, each starting at a question. Messages before the first
    question (a history window that began mid-turn) form no turn and are dropped."""
    turns: list[list[ChatMessage]] = []
    for message in messages:
        if starts_turn(message):
            turns.append([message])
        elif turns:
            turns[-1].append(message)
    return turns


def conversation_messages(history: Sequence[Message]) -> list[ChatMessage]:
    """Stored messages (oldest first) as the Converse messages to replay, before trimming.

    Tool-step messages replay their blocks; questions and answers their text. Left out, as
    for plain turns: answers with no text (a stop before any) and questions with nothing after
    them (a failed call, or a turn still running). Two messages of one role in a row (the
    toolResult message of a stopped tool step, then the next question) are joined, since
    Converse needs roles to alternate; ``trim_turns`` then answers any toolUse left without
    results.
    """
    converted: list[ChatMessage] = []
    for message in history:
        if message.tool_step and message.blocks:
            converted.append(ChatMessage(role=message.role, content=[dict(b) for b in message.blocks]))
        elif message.content.strip():
            converted.append(ChatMessage.text(message.role, message.content))
    kept: list[ChatMessage] = []
    for i, chat_message in enumerate(converted):
        following = converted[i + 1] if i + 1 < len(converted) else None
        unanswered = starts_turn(chat_message) and (following is None or starts_turn(following))
        if not unanswered:
            kept.append(chat_message)
    joined: list[ChatMessage] = []
    for chat_message in kept:
        if joined and joined[-1].role == chat_message.role:
            last = joined.pop()
            joined.append(ChatMessage(role=chat_message.role, content=[*last.content, *chat_message.content]))
        else:
            joined.append(chat_message)
    return joined


def close_dangling_tool_uses(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Make every toolUse answered: a stopped turn may have stored the assistant's toolUse
    message without its results. Missing results are added as error results to the next user
    message (or a new one at the end); results with no toolUse before them are dropped, and so
    is a user message left empty."""
    out: list[ChatMessage] = []
    pending: list[str] = []
    for message in messages:
        if message.role == "assistant":
            if pending:
                out.append(_results_message(pending, []))
            out.append(message)
            pending = tool_use_ids(message)
            continue
        results = [
            b for b in message.content if "toolResult" in b and b["toolResult"]["toolUseId"] in pending
        ]
        others = [b for b in message.content if "toolResult" not in b]
        if pending:
            answered = {b["toolResult"]["toolUseId"] for b in results}
            # Missing results join this message (a new question after a stopped tool step gets
            # them in front of it): two user messages in a row would break alternation.
            out.append(_results_message([i for i in pending if i not in answered], results + others))
        elif others:
            out.append(ChatMessage(role="user", content=others))
        pending = []
    if pending:
        out.append(_results_message(pending, []))
    return out


def _results_message(missing: Sequence[str], blocks: list[dict[str, Any]]) -> ChatMessage:
    stopped = [
        {"toolResult": {"toolUseId": i, "content": [{"text": STOPPED_RESULT}], "status": "error"}}
        for i in missing
    ]
    results = [b for b in blocks if "toolResult" in b] + stopped
    return ChatMessage(role="user", content=results + [b for b in blocks if "toolResult" not in b])


def trim_turns(
    messages: Sequence[ChatMessage],
    *,
    token_budget: int,
    reserved_tokens: int = 0,
    start_step: int = 1,
    first_index: int = 0,
) -> list[ChatMessage]:
    """The newest whole turns that fit in `token_budget - reserved_tokens`, oldest first.

    A turn (question, tool steps, answer) is kept or dropped whole, so no toolUse is ever
    separated from its toolResult and the result starts with a question.

    `start_step` > 1 makes the start move in steps once older turns must be dropped, as
    `lambda_chat.domain.history.trim_history` does: the first kept turn starts at a multiple of
    the step in the conversation's message order (`first_index` is the position of
    `messages[0]` in it), so a prompt cache keeps serving the same prefix for several turns. The
    step is at most half of the messages that fit (`lambda_chat.domain.history.stepped_start`).
    """
    turns = group_turns(close_dangling_tool_uses(messages))
    starts: list[int] = []
    position = 0
    for turn in turns:
        starts.append(position)
        position += len(turn)
    remaining = token_budget - reserved_tokens
    kept: list[int] = []
    for index in reversed(range(len(turns))):
        cost = sum(message_tokens(m) for m in turns[index])
        if cost > remaining:
            break
        remaining -= cost
        kept.append(index)
    if start_step > 1 and kept and len(kept) < len(turns):
        kept_messages = sum(len(turns[index]) for index in kept)
        floor = stepped_start(first_index + starts[kept[-1]], kept_messages, start_step)
        kept = [index for index in kept if first_index + starts[index] >= floor]
    return [m for index in reversed(kept) for m in turns[index]]


def tool_blocks_as_text(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The messages with toolUse/toolResult blocks rewritten as text, for a request sent without
    ``toolConfig`` (the final answer at the step limit, a model without tool use, or a
    conversation whose tools were switched off). Roles and order are kept; consecutive messages
    of one role cannot arise because each toolUse message is followed by its results."""
    out: list[ChatMessage] = []
    for message in messages:
        blocks: list[dict[str, Any]] = []
        for block in message.content:
            if "toolUse" in block:
                use = block["toolUse"]
                text = json.dumps(use.get("input", {}), ensure_ascii=False, default=str)
                blocks.append({"text": f"[Called tool {use.get('name')} with input {text}]"})
            elif "toolResult" in block:
                result = block["toolResult"]
                parts = [
                    str(c.get("text", "")) if "text" in c else json.dumps(c)
                    for c in result.get("content", [])
                ]
                status = result.get("status", "success")
                blocks.append({"text": f"[Tool result ({status}): {' '.join(parts)}]"})
            else:
                blocks.append(block)
        out.append(ChatMessage(role=message.role, content=blocks))
    return out


def pairing_problems(messages: Sequence[ChatMessage]) -> list[str]:
    """What Converse would refuse about tool pairing in `messages` (empty when valid): a
    toolUse whose results are not all in the next message, a result with no toolUse before it,
    or a history that does not start with a question."""
    problems: list[str] = []
    if messages and not starts_turn(messages[0]):
        problems.append("the first message is not a user question")
    for i, message in enumerate(messages):
        if message.role == "assistant" and tool_use_ids(message):
            following = messages[i + 1] if i + 1 < len(messages) else None
            answered = set(tool_result_ids(following)) if following and following.role == "user" else set()
            for use_id in tool_use_ids(message):
                if use_id not in answered:
                    problems.append(f"toolUse {use_id} has no toolResult in the next message")
        if message.role == "user" and tool_result_ids(message):
            previous = messages[i - 1] if i > 0 else None
            used = set(tool_use_ids(previous)) if previous and previous.role == "assistant" else set()
            for result_id in tool_result_ids(message):
                if result_id not in used:
                    problems.append(f"toolResult {result_id} answers no toolUse in the message before")
    return problems


def with_question(history: Sequence[ChatMessage], question: ChatMessage) -> list[ChatMessage]:
    """`history` followed by the new user message. When history ends with a user message (the
    toolResult message of a stopped tool step), the question joins it: Converse refuses two user
    messages in a row."""
    messages = list(history)
    if messages and messages[-1].role == "user" and question.role == "user":
        last = messages.pop()
        messages.append(ChatMessage(role="user", content=[*last.content, *question.content]))
    else:
        messages.append(question)
    return messages

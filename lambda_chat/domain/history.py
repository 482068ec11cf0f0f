"""What part of a conversation's history is sent to the model."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from chatbot_common import keys
from lambda_chat.domain.entities import Message
from lambda_chat.domain.ports import ChatMessage
from lambda_chat.domain.tokens import estimate_tokens


def visible_thread(messages: Sequence[Message]) -> list[Message]:
    """The conversation as it reads now: messages no regenerate or edit has superseded
    (docs/api.md "Versions"). Only these are sent to the model."""
    return [message for message in messages if message.superseded_by is None]


def earlier_versions(messages: Sequence[Message]) -> dict[str, list[Message]]:
    """Superseded messages by version group (`Message.version_group`), oldest first: the
    earlier versions of each regenerated answer and edited question among `messages`."""
    replaced = {m.version_of for m in messages if m.version_of is not None}
    groups: dict[str, list[Message]] = {}
    for message in messages:
        if message.superseded_by is not None and message.version_group in replaced:
            groups.setdefault(message.version_group, []).append(message)
    return groups


def paired_turns(messages: Sequence[Message]) -> list[tuple[Message, Message]]:
    """(user, assistant) pairs in order, so that what is sent alternates strictly.

    A user message with no answer (a failed call, or a concurrent turn still running) and an
    assistant message with no question or no text are left out.
    """
    pairs: list[tuple[Message, Message]] = []
    pending_user: Message | None = None
    for message in messages:
        if message.superseded_by is not None:
            continue  # an earlier version (regenerated or edited): not part of the thread
        if message.role == "user":
            pending_user = message if message.content.strip() else None
        elif pending_user is not None and message.content.strip():
            pairs.append((pending_user, message))
            pending_user = None
        else:
            pending_user = None
    return pairs


# Share of a model's context window a turn plans to fill. Token counts here are estimates
# (lambda_chat.domain.tokens, ~4 ASCII characters per token), while a model counts with its own
# tokenizer and its chat template adds tokens around every message; the rest is that margin.
CONTEXT_WINDOW_FILL = 0.8


def history_budget(
    configured: int, *, context_window: int | None, max_output_tokens: int, fixed_tokens: int = 0
) -> int:
    """Tokens the history, system prompt, new message and attachments may take in one request:
    the deployment's `configured` budget, lowered so that they fit the model's context window
    (`context_window` tokens, from the model table; None when unknown: no cap) beside the answer
    (`max_output_tokens`, the request's maxTokens) and the tool definitions (`fixed_tokens`).
    A model's input and its output share its context window; a request whose input does not fit
    fails ("Input is too long for requested model"), and a conversation whose budget ignored
    the window would fail that way on every later turn. Never negative."""
    if context_window is None:
        return configured
    room = int(context_window * CONTEXT_WINDOW_FILL) - max_output_tokens - fixed_tokens
    return max(0, min(configured, room))


def stepped_start(start: int, kept_messages: int, start_step: int) -> int:
    """Where a trimmed history may start, in the conversation's message order, once older turns
    are dropped: `start` (the oldest message that fits) rounded up to a multiple of the step, so
    the prefix sent stays the same for several turns and a prompt cache keeps serving it.

    The step is `start_step`, but at most half of the `kept_messages` that fit: stepping then never
    drops more than half of what fits, and a small context window (a few turns) shrinks the step
    instead of emptying the history until the conversation reaches the next multiple."""
    step = max(1, min(start_step, kept_messages // 2))
    return -(-start // step) * step


def trim_history(
    messages: Sequence[Message],
    *,
    token_budget: int,
    reserved_tokens: int = 0,
    start_step: int = 1,
    first_index: int = 0,
) -> list[ChatMessage]:
    """The newest whole turns that fit in `token_budget - reserved_tokens`, oldest first.

    `reserved_tokens` covers what is always sent (system prompt, new message, attachments).
    Turns are kept or dropped as pairs, newest kept first, so user/assistant alternation holds.

    `start_step` > 1 makes the start of the history move in steps once older turns must be
    dropped: it starts at a multiple of `start_step` in the conversation's message order
    (`first_index` is the position of `messages[0]` in it). The prefix sent then stays the same
    for several turns, so a prompt cache keeps serving it, instead of changing every turn as a
    window sliding by one turn would.
    """
    remaining = token_budget - reserved_tokens
    kept: list[tuple[Message, Message]] = []
    pairs = paired_turns(messages)
    for user, assistant in reversed(pairs):
        cost = estimate_tokens(user.content) + estimate_tokens(assistant.content)
        if cost > remaining:
            break
        remaining -= cost
        kept.append((user, assistant))
    if start_step > 1 and len(kept) < len(pairs):
        position = {id(message): index for index, message in enumerate(messages)}
        floor = (
            stepped_start(first_index + position[id(kept[-1][0])], 2 * len(kept), start_step) if kept else 0
        )
        kept = [pair for pair in kept if first_index + position[id(pair[0])] >= floor]
    result: list[ChatMessage] = []
    for user, assistant in reversed(kept):
        result.append(ChatMessage.text("user", user.content))
        result.append(ChatMessage.text("assistant", assistant.content))
    return result


def document_references(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Document references on earlier user messages, newest first, each upload once."""
    seen: set[str] = set()
    refs: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.superseded_by is not None:
            continue
        for ref in message.attachments:
            upload_id = ref.get("uploadId")
            if ref.get("kind") == "document" and isinstance(upload_id, str) and upload_id not in seen:
                seen.add(upload_id)
                refs.append(ref)
    return refs


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char) == "Cc"


def conversation_title(first_message: str, max_chars: int = 60) -> str:
    """A title from the first message: one line, whitespace collapsed, control characters (NUL,
    escape sequences: Unicode category Cc) dropped, cut at a word boundary."""
    text = " ".join("".join(c for c in first_message if not _is_control(c)).split())
    if len(text) <= max_chars:
        return text or "New conversation"
    cut = text[: max_chars - 1]
    if " " in cut[max_chars // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"


T = TypeVar("T")


def opened_by(
    factory: Callable[..., T], user_id: str, first_message: str, now: str, system: str | None, **fields: Any
) -> T:
    """A new conversation or comparison (`factory` is `Conversation` or `Comparison`) opened by
    `first_message` at `now` (ISO 8601 UTC): a fresh id, the title from `conversation_title`,
    created and updated now, `system` ("" or None for none), plus `fields` for the rest."""
    return factory(
        id=keys.new_id(),
        user_id=user_id,
        title=conversation_title(first_message),
        created_at=now,
        updated_at=now,
        system=system or None,
        **fields,
    )

"""The domain's view of the outside world: storage, model, model list, attachments.

Adapters in `lambda_chat.adapters` implement these; unit tests use in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from lambda_chat.domain.entities import (
    CallRecord,
    Comparison,
    Conversation,
    ConversationChanges,
    Message,
    ModelInfo,
    Page,
)


@dataclass(frozen=True)
class ChatMessage:
    """One turn sent to the model. `content` holds Converse content blocks ({"text": ...}, {"image": ...})."""

    role: str
    content: list[dict[str, Any]]

    @classmethod
    def text(cls, role: str, text: str) -> ChatMessage:
        return cls(role=role, content=[{"text": text}])


@dataclass(frozen=True)
class ModelRequest:
    model_id: str
    messages: list[ChatMessage]
    system: str | None = None
    max_tokens: int | None = None
    # Prompt-cache checkpoints (Converse `cachePoint` blocks) to place: after the system prompt
    # (which follows any tool definitions), and after the content of `messages[i]` for each i.
    # See `lambda_chat.domain.prompt_cache.plan_cache_points`.
    cache_system: bool = False
    cache_after_messages: tuple[int, ...] = ()
    # The Converse ``inferenceConfig`` to send as it is (lambda_chat.domain.inference
    # converse_inference_config); None: the adapter's defaults (maxTokens only).
    inference_config: dict[str, Any] | None = None

    def without_leading(self, count: int) -> ModelRequest:
        """This request (of the same class) without its first `count` messages: checkpoints after
        those are dropped, the others move with the messages they follow."""
        return replace(
            self,
            messages=self.messages[count:],
            cache_after_messages=tuple(i - count for i in self.cache_after_messages if i >= count),
        )


@dataclass(frozen=True)
class ModelChunk:
    """A piece of a streamed answer: text, and/or usage, and/or the stop reason.

    `tool_use` is True for a Converse `toolUse` delta: like text, it means the model has started
    answering (a `messageStart` event alone carries neither).
    """

    text: str = ""
    tool_use: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None
    # Converse usage cacheReadInputTokens / cacheWriteInputTokens (prompt caching), when sent.
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    @property
    def answers(self) -> bool:
        """True when this chunk is part of the answer itself (text or a tool-use delta)."""
        return bool(self.text) or self.tool_use


@dataclass(frozen=True)
class HistoryWindow:
    """A conversation's newest messages, kept on its item so a turn reads them with it.

    `count` is the conversation's message count the window accounts for: the window is the whole
    recent history only while the conversation's count still equals it (any message write adds
    one). `messages` are oldest first, as many as the token budget holds; `documents` are the
    document references of older messages that no longer fit (newest first, each upload once).
    """

    count: int
    messages: list[Message]
    documents: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AnsweredTurn:
    """The end of a turn, written all or nothing by `ConversationRepository.record_answer`.

    `answer`: the assistant message; `updated_at` (ISO 8601 UTC) touches the conversation; `model`
    is stored on the conversation when given (the turn changed it); `call_record` is the turn's
    call log entry; `history_window`, when given, replaces the conversation's window; `supersedes`
    lists the ids of messages this answer replaces (a regenerate).
    """

    answer: Message
    updated_at: str
    model: str | None
    call_record: CallRecord
    history_window: HistoryWindow | None = None
    supersedes: Sequence[str] = ()


class ChatModel(Protocol):
    def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        """Stream an answer. Raises chatbot_common.errors.DomainError subclasses on failure.

        Closing the iterator early must stop generation upstream.
        """
        ...


class ModelDirectory(Protocol):
    def list_models(self) -> list[ModelInfo]:
        """Text-output, streaming-capable models the caller may use."""
        ...


class ConversationRepository(Protocol):
    def start_conversation(self, conversation: Conversation, first_message: Message) -> None:
        """Create the conversation and store its first message, both or neither."""
        ...

    def record_answer(self, user_id: str, turn: AnsweredTurn) -> None:
        """End a turn, all or nothing: store the answer, touch the conversation (updated_at, and
        `model` when given; the `history_window` when given) and store the call record, and mark
        the `supersedes` messages (a regenerated answer) superseded by this one (which also drops
        the conversation's history window: the thread changed).

        Raises NotFound, writing nothing, when the conversation no longer exists; Conflict
        (`message_superseded`) when one of `supersedes` already was.
        """
        ...

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        """Raises NotFound when absent or not the caller's."""
        ...

    def get_conversation_with_history(
        self, user_id: str, conversation_id: str
    ) -> tuple[Conversation, int, HistoryWindow | None]:
        """One consistent read: the conversation, its message count and its stored history
        window (None when it has none). Raises NotFound when absent or not the caller's."""
        ...

    def list_conversations(self, user_id: str, limit: int, cursor: str | None) -> Page[Conversation]: ...

    def update_conversation(
        self, user_id: str, conversation_id: str, changes: ConversationChanges
    ) -> Conversation:
        """Apply `changes` in one conditional write; raises NotFound when absent or not the caller's."""
        ...

    def delete_conversation(self, user_id: str, conversation_id: str) -> None: ...

    def append_message(
        self,
        user_id: str,
        message: Message,
        supersedes: Sequence[str] = (),
        *,
        require_conversation: bool = False,
    ) -> None:
        """Store one message. With `require_conversation`, only while its conversation exists
        (else NotFound, nothing written): a write racing a delete leaves no orphan. `supersedes`
        (an edit) are marked superseded by it in the same write."""
        ...

    def set_feedback(
        self, user_id: str, conversation_id: str, message_id: str, feedback: dict[str, Any] | None
    ) -> Message:
        """Set or (None) clear an answer's feedback; NotFound unless it is the caller's answer."""
        ...

    def recent_messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        """The newest `limit` messages, oldest first, read with one bounded query."""
        ...

    def list_messages(
        self, user_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]: ...

    def put_call_record(self, record: CallRecord) -> None: ...

    # -- comparisons (lambda_chat.domain.comparisons) -------------------------------------------

    def get_comparison(self, user_id: str, comparison_id: str) -> Comparison:
        """Raises NotFound when the user has no such comparison."""
        ...

    def list_comparisons(self, user_id: str, limit: int, cursor: str | None) -> Page[Comparison]:
        """Newest activity first."""
        ...

    def record_lane_turn(
        self,
        comparison: Comparison,
        conversation: Conversation,
        question: Message,
        answer: Message,
        call_record: CallRecord,
    ) -> None:
        """One lane's turn, all or nothing: the comparison (created or touched), the lane's
        conversation (created or touched), the question, the answer and the call record."""
        ...

    def delete_comparison(self, user_id: str, comparison_id: str) -> None:
        """Delete the comparison's item (and its stop requests); its lanes' conversations are
        deleted apart. Raises NotFound when the user has no such comparison."""
        ...

    def request_lane_stop(self, user_id: str, comparison_id: str, lane: int) -> None:
        """Record that the user asked this lane of a running comparison to stop."""
        ...

    def stopped_lanes(self, user_id: str, comparison_id: str) -> set[int]:
        """The lanes the user asked to stop (consistent read)."""
        ...

    def continue_comparison_lane(
        self, user_id: str, comparison_id: str, conversation_id: str, *, updated_at: str
    ) -> Conversation:
        """Make the lane's conversation an ordinary, listed one and mark the comparison continued."""
        ...


@dataclass(frozen=True)
class ResolvedAttachments:
    # Converse content blocks added to the new user message (image blocks with bytes, text blocks
    # with document excerpts).
    content_blocks: list[dict[str, Any]] = field(default_factory=list)
    # Stored on the user message: {"uploadId", "kind": "document"|"image", "filename", "key"}; never bytes.
    references: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AttachmentRequest:
    """What a turn asks the attachment resolver for.

    `upload_ids`: this turn's uploads (ids from POST /uploads); `earlier_refs`: document references
    stored on earlier messages of the conversation ({"uploadId", "kind", "filename", "key"});
    `question`: the turn's text, used to pick excerpts; `token_budget`: tokens the excerpts may use.
    """

    user_id: str
    upload_ids: list[str]
    earlier_refs: list[dict[str, Any]]
    question: str
    token_budget: int


class AttachmentResolver(Protocol):
    def resolve(self, request: AttachmentRequest) -> ResolvedAttachments:
        """Turn upload ids (and earlier document references) into content blocks for this turn.

        Raises DomainError subclasses (NotFound, UnsupportedMediaType, ...) for unusable uploads.
        """
        ...


def close_iterator(iterator: object) -> None:
    """Close a `ChatModel.stream` generator (stopping the model call behind it); plain iterators
    need nothing. Every consumer calls it in a `finally`, whether it read to the end or not."""
    close = getattr(iterator, "close", None)
    if callable(close):
        close()

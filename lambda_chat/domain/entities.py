"""What the chat domain stores and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

Role = Literal["user", "assistant"]
MessageStatus = Literal["complete", "incomplete", "stopped"]
CallStatus = Literal["complete", "incomplete", "stopped", "throttled", "error"]
T = TypeVar("T")


@dataclass(frozen=True)
class Conversation:
    id: str
    user_id: str
    title: str
    created_at: str
    updated_at: str
    model: str | None = None
    system: str | None = None
    # The conversation's Converse inference settings in the API's camelCase (temperature, topP,
    # maxTokens, stopSequences); each turn's own settings lie over them.
    inference_config: dict[str, Any] | None = None
    # Set on the conversations of a comparison (lambda_chat.domain.comparisons): its id and lane.
    comparison_id: str | None = None
    lane: int | None = None
    # Tool names this conversation offers the model (PATCH /conversations/{id}); None means the
    # deployment's default (the built-ins), [] none.
    tools: list[str] | None = None


@dataclass(frozen=True)
class ConversationChanges:
    """What one `ConversationRepository.update_conversation` call changes on a conversation.

    `updated_at` (ISO 8601 UTC) is always written and moves the conversation to the top of the list.
    A field left None stays as stored; `system=""` removes the system prompt, `inference_config={}`
    the stored inference settings (API camelCase keys), `tools=[]` turns tool use off.
    """

    updated_at: str
    title: str | None = None
    system: str | None = None
    model: str | None = None
    inference_config: dict[str, Any] | None = None
    tools: list[str] | None = None


@dataclass(frozen=True)
class ComparisonLane:
    """One lane of a stored comparison: its model, settings (camelCase) and conversation."""

    index: int
    model: str
    inference_config: dict[str, Any] | None
    conversation_id: str


@dataclass(frozen=True)
class Comparison:
    """One question asked of 2-4 lanes, and its follow-ups (lambda_chat.domain.comparisons).
    `continued_as` is the conversation id of the lane the user continued, if any."""

    id: str
    user_id: str
    title: str
    created_at: str
    updated_at: str
    lanes: list[ComparisonLane]
    system: str | None = None
    continued_as: str | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens a model call used. `estimated` is True when Bedrock sent no counts (a stopped or
    failed stream) and the numbers are the ~4-characters-per-token estimate of what was sent and
    received, rather than 0 for work that was done."""

    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    created_at: str
    status: MessageStatus = "complete"
    # References only ({"uploadId", "kind", "filename", "key"}), never file bytes.
    attachments: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    model: str | None = None
    # Why the model stopped (Converse `stopReason`: end_turn, max_tokens, ...); None for questions.
    stop_reason: str | None = None
    # Versions (docs/api.md "Versions"): a regenerated answer or an edited question names the
    # first message of its version group; the message it replaced names it in `superseded_by`
    # (hidden from the model's history and from the conversation's visible thread).
    version_of: str | None = None
    superseded_by: str | None = None
    # {"rating": "up"|"down", "reason"?: str, "at": ISO time} on answers the user rated.
    feedback: dict[str, Any] | None = None

    @property
    def version_group(self) -> str:
        """The id every version of this message shares: the first version's id."""
        return self.version_of or self.id

    # What the answer cost in USD (lambda_chat.domain.cost); None for questions and unpriced models.
    cost_usd: Decimal | None = None
    # The inference settings the answer was made with (camelCase), when any were set.
    inference_config: dict[str, Any] | None = None
    # Converse content blocks of a tool step (the assistant's text and toolUse blocks, or the
    # user-role toolResult blocks answering them); `content` then holds the step's text only.
    blocks: list[dict[str, Any]] = field(default_factory=list)
    # True for the messages of a tool step: the model's toolUse message and the toolResult
    # message answering it (both stored between a question and its final answer).
    tool_step: bool = False


@dataclass(frozen=True)
class CallRecord:
    """One model call, for the call log (`chatbot logs`)."""

    call_id: str
    user_id: str
    conversation_id: str | None
    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    status: CallStatus
    request_id: str | None
    created_at: str
    error_code: str | None = None
    kind: str = "chat"
    # Converse `stopReason` when the stream ended normally (end_turn, max_tokens, ...).
    stop_reason: str | None = None
    # True when the token counts are estimates (Bedrock sent none before the call ended).
    tokens_estimated: bool = False
    # USD for the call (lambda_chat.domain.cost); None when the model has no known price.
    cost_usd: Decimal | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # The agent loop's step (1-based) this call was; None for calls outside a chat turn.
    step: int | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    provider: str
    input_modalities: list[str]
    output_modalities: list[str]
    streaming: bool

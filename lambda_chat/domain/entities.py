"""What the chat domain stores and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


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

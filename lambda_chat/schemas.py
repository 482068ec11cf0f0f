"""Request and response models of the chat API (docs/api.md). camelCase on the wire."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from chatbot_common.http import ID_SCHEMA
from chatbot_common.http import ErrorDetail as ErrorDetail
from chatbot_common.http import ErrorResponse as ErrorResponse
from chatbot_common.http import error_responses as error_responses
from lambda_chat.domain.conversations import ConversationWithMessages
from lambda_chat.domain.entities import Conversation, Message, ModelInfo, Page, Usage
from lambda_chat.domain.presets import Preset


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# -- errors: one shape for both apps (chatbot_common.http) -------------------------------------

# -- chat -------------------------------------------------------------------------------------


class ChatRequest(ApiModel):
    conversation_id: str | None = Field(
        default=None,
        description="Continue this conversation; omit to start one",
        json_schema_extra=ID_SCHEMA,
    )
    message: str = Field(default="", description="The user's message (may be empty when `preset` is given)")
    model: str | None = Field(default=None, description="A model id from GET /models")
    system: str | None = Field(default=None, description="System prompt (stored on new conversations)")
    attachments: list[str] = Field(
        default_factory=list,
        description="Upload ids (images, documents), at most 10",
        json_schema_extra={"items": {"type": "string", **ID_SCHEMA}, "maxItems": 10},
    )
    preset: str | None = Field(default=None, description="Image preset name from GET /presets")


class UsageOut(ApiModel):
    input_tokens: int
    output_tokens: int
    estimated: bool = Field(
        default=False,
        description="True when Bedrock sent no counts (stopped or failed stream): ~4 characters a token",
    )

    @classmethod
    def of(cls, usage: Usage) -> UsageOut:
        return cls(
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, estimated=usage.estimated
        )


class ChatResponse(ApiModel):
    conversation_id: str
    message_id: str
    answer: str
    stop_reason: str | None = Field(
        description="Converse stopReason: end_turn, max_tokens (the answer was cut), stop_sequence, ..."
    )
    usage: UsageOut
    model: str
    latency_ms: int


# -- conversations ------------------------------------------------------------------------------


class ConversationOut(ApiModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    model: str | None
    system: str | None

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationOut:
        return cls(
            id=conversation.id,
            title=conversation.title,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            model=conversation.model,
            system=conversation.system,
        )


class ConversationList(ApiModel):
    items: list[ConversationOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Conversation]) -> ConversationList:
        return cls(items=[ConversationOut.of(item) for item in page.items], next_cursor=page.next_cursor)


class MessageOut(ApiModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    status: Literal["complete", "incomplete", "stopped"]
    attachments: list[dict[str, Any]]
    usage: UsageOut | None
    model: str | None
    stop_reason: str | None = Field(
        default=None, description="Why the model stopped (assistant messages): end_turn, max_tokens, ..."
    )

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        usage = message.usage
        return cls(
            id=message.id,
            role=message.role,
            content=message.content,
            created_at=message.created_at,
            status=message.status,
            attachments=message.attachments,
            usage=UsageOut.of(usage) if usage else None,
            model=message.model,
            stop_reason=message.stop_reason,
        )


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]
    next_cursor: str | None

    @classmethod
    def with_messages(cls, found: ConversationWithMessages) -> ConversationDetail:
        base = ConversationOut.of(found.conversation)
        return cls(
            **base.model_dump(),
            messages=[MessageOut.of(message) for message in found.messages.items],
            next_cursor=found.messages.next_cursor,
        )


class ConversationPatch(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    title: str | None = Field(
        default=None,
        description="1-200 characters once whitespace is collapsed",
        json_schema_extra={"minLength": 1},
    )
    system: str | None = Field(default=None, description="New system prompt; empty string clears it")
    model: str | None = None


# -- catalogue --------------------------------------------------------------------------------


class ModelOut(ApiModel):
    id: str
    name: str
    provider: str
    input_modalities: list[str]
    output_modalities: list[str]
    streaming: bool

    @classmethod
    def of(cls, model: ModelInfo) -> ModelOut:
        return cls(
            id=model.id,
            name=model.name,
            provider=model.provider,
            input_modalities=model.input_modalities,
            output_modalities=model.output_modalities,
            streaming=model.streaming,
        )


class ModelsResponse(ApiModel):
    models: list[ModelOut]
    default_model: str


class PresetOut(ApiModel):
    name: str
    label: str
    prompt: str

    @classmethod
    def of(cls, preset: Preset) -> PresetOut:
        return cls(name=preset.name, label=preset.label, prompt=preset.prompt)


class PresetsResponse(ApiModel):
    presets: list[PresetOut]


class HealthResponse(ApiModel):
    status: Literal["ok"] = "ok"

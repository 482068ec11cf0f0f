"""Request and response models of the chat API (docs/api.md). camelCase on the wire.

Response models are validated straight from the domain's entities (`Model.model_validate(entity)`,
pydantic's `from_attributes`), so a field is named once, on the entity, and once here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from chatbot_common.http import ID_SCHEMA, ApiModel
from chatbot_common.http import ErrorDetail as ErrorDetail
from chatbot_common.http import ErrorResponse as ErrorResponse
from chatbot_common.http import error_responses as error_responses
from lambda_chat.domain.conversations import ConversationWithMessages

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
    regenerate: str | None = Field(
        default=None,
        description="Regenerate this answer (the conversation's newest): a new version for the same question",
        json_schema_extra=ID_SCHEMA,
    )
    edit_of: str | None = Field(
        default=None,
        description="Edit and resend this question: `message` replaces it (docs/api.md, Versions)",
        json_schema_extra=ID_SCHEMA,
    )


class UsageOut(ApiModel):
    input_tokens: int
    output_tokens: int
    estimated: bool = Field(
        default=False,
        description="True when Bedrock sent no counts (stopped or failed stream): ~4 characters a token",
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


class ConversationList(ApiModel):
    items: list[ConversationOut]
    next_cursor: str | None


class FeedbackOut(ApiModel):
    rating: Literal["up", "down"]
    reason: str | None = None
    at: str | None = Field(default=None, description="When it was given (ISO 8601 UTC)")


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
    feedback: FeedbackOut | None = Field(default=None, description="The user's rating of this answer")
    version_of: str | None = Field(
        default=None,
        description="The first version's id when this is a regenerated answer or an edited question",
    )
    superseded_by: str | None = Field(
        default=None, description="Set on earlier versions (only listed with includeSuperseded=true)"
    )


class MessageWithVersions(MessageOut):
    versions: list[MessageOut] = Field(
        default_factory=list,
        description="Earlier versions of this message, oldest first (this one is the newest)",
    )


class FeedbackIn(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    rating: Literal["up", "down"] = Field(description='"up" (Good answer) or "down" (Bad answer)')
    reason: str | None = Field(default=None, description="Optional, at most 2000 characters")


class ConversationDetail(ConversationOut):
    messages: list[MessageWithVersions]
    next_cursor: str | None

    @classmethod
    def of(cls, found: ConversationWithMessages) -> ConversationDetail:
        """The conversation's fields with one page of its messages (a shape no entity has)."""
        messages = [
            {
                **{f: getattr(m, f) for f in MessageOut.model_fields if hasattr(m, f)},
                "versions": found.versions.get(m.version_group, []) if m.version_of else [],
            }
            for m in found.messages.items
        ]
        return cls.model_validate(
            {
                **vars(found.conversation),
                "messages": messages,
                "next_cursor": found.messages.next_cursor,
            }
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
    id: str = Field(description="Send as `model`: a model id or an inference-profile id (us.amazon...)")
    name: str
    provider: str
    input_modalities: list[str] = Field(description="TEXT, IMAGE, DOCUMENT, ...")
    output_modalities: list[str]
    streaming: bool = Field(description="Answers stream (always true: only streaming models are listed)")


class ModelsResponse(ApiModel):
    models: list[ModelOut]
    default_model: str


class PresetOut(ApiModel):
    name: str
    label: str
    prompt: str


class PresetsResponse(ApiModel):
    presets: list[PresetOut]


class HealthResponse(ApiModel):
    status: Literal["ok"] = "ok"


# -- search -----------------------------------------------------------------------------------


class SearchHitOut(ApiModel):
    conversation_id: str
    title: str
    updated_at: str
    message_id: str | None = Field(description="Set when message text (not the title) matched")
    role: Literal["user", "assistant"] | None
    snippet: str = Field(description="The matching text around the first occurrence")


class SearchResponse(ApiModel):
    items: list[SearchHitOut]


# -- saved prompts ----------------------------------------------------------------------------


class PromptIn(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    title: str = Field(description="1-200 characters once whitespace is collapsed")
    text: str = Field(description="The prompt; at most the system prompt limit (8000 characters)")


class PromptOut(ApiModel):
    prompt_id: str
    title: str
    text: str
    created_at: str
    updated_at: str


class PromptList(ApiModel):
    items: list[PromptOut]

"""Request and response models of the chat API (docs/api.md). camelCase on the wire.

Response models are validated straight from the domain's entities (`Model.model_validate(entity)`,
pydantic's `from_attributes`), so a field is named once, on the entity, and once here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from chatbot_common.http import ID_SCHEMA, ApiModel, ApiRequest
from chatbot_common.http import ErrorDetail as ErrorDetail
from chatbot_common.http import ErrorResponse as ErrorResponse
from chatbot_common.http import error_responses as error_responses
from lambda_chat.domain.conversations import ConversationWithMessages

# -- errors: one shape for both apps (chatbot_common.http) -------------------------------------

# -- chat -------------------------------------------------------------------------------------


class InferenceConfigIn(ApiRequest):
    """Converse inferenceConfig. Types only here; ranges depend on the model and are checked by
    lambda_chat.domain.inference (400 invalid_inference_config naming the field and range)."""

    temperature: float | None = Field(default=None, description="Randomness, usually 0 to 1")
    top_p: float | None = Field(default=None, description="Nucleus sampling, 0 to 1")
    max_tokens: int | None = Field(default=None, description="Most tokens to generate (model's limit)")
    stop_sequences: list[str] | None = Field(default=None, description="Up to 2,500 strings")

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """A JSON number such as 40.0 is the whole number 40 (as InferenceSettings.from_json reads
        it); 40.5, true and "40" still fail strict validation."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ChatRequest(ApiRequest):
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
    inference_config: InferenceConfigIn | None = Field(
        default=None,
        description="This turn's Converse inferenceConfig, over the conversation's settings "
        "(kept as the conversation's settings by a turn that creates it)",
    )
    tools: list[str] | None = Field(
        default=None,
        description="Tool names from GET /tools offered to the model for this turn ([] for none); "
        "default: the conversation's enabled tools",
        json_schema_extra={"maxItems": 64},
    )
    tool_choice: str | None = Field(
        default=None,
        description='Converse toolChoice for the first model call: "auto" (default), "any", or an '
        "enabled tool's name",
    )


class UsageOut(ApiModel):
    input_tokens: int
    output_tokens: int
    estimated: bool = Field(
        default=False,
        description="True when Bedrock sent no counts (stopped or failed stream): ~4 characters a token",
    )
    # Built from the Usage entity (cache_read_tokens / cache_write_tokens), Converse's names on the wire.
    cache_read_tokens: int = Field(
        default=0,
        alias="cacheReadInputTokens",
        description="Prompt tokens read from the prompt cache (Converse cacheReadInputTokens), "
        "not counted in inputTokens",
    )
    cache_write_tokens: int = Field(
        default=0,
        alias="cacheWriteInputTokens",
        description="Prompt tokens written to the prompt cache (Converse cacheWriteInputTokens), "
        "not counted in inputTokens",
    )


class ToolCallOut(ApiModel):
    id: str = Field(description="The Converse toolUseId")
    name: str
    input: dict[str, Any]
    status: Literal["success", "error", "stopped"] = Field(
        description="error: the model read an error result (unknown tool, bad input, failure, timeout)"
    )
    output: str = Field(description="What the model read (capped)")
    step: int | None = Field(default=None, description="The agent loop's step (1-based)")


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
    cost_usd: float | None = Field(
        default=None, description="USD at the model's price table row; 0 for local models, null if unpriced"
    )
    tool_calls: list[ToolCallOut] = Field(
        default_factory=list, description="The tools the model called during the turn, in order"
    )


# -- conversations ------------------------------------------------------------------------------


class ConversationOut(ApiModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    model: str | None
    system: str | None
    inference_config: dict[str, Any] | None = Field(
        default=None, description="Converse inferenceConfig every turn starts from (PATCH to change)"
    )
    tools: list[str] | None = Field(
        default=None, description="Enabled tool names; null: the deployment's default (the built-ins)"
    )


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
    cost_usd: float | None = Field(default=None, description="USD for the answer (assistant messages)")
    inference_config: dict[str, Any] | None = None
    tool_step: bool = Field(
        default=False,
        description="A tool step: the model's toolUse message, or the user-role toolResult message",
    )
    blocks: list[dict[str, Any]] = Field(
        default_factory=list,
        description="A tool step's Converse content blocks (text, toolUse, toolResult)",
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


class FeedbackIn(ApiRequest):
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


class ConversationPatch(ApiRequest):
    title: str | None = Field(
        default=None,
        description="1-200 characters once whitespace is collapsed",
        json_schema_extra={"minLength": 1},
    )
    system: str | None = Field(default=None, description="New system prompt; empty string clears it")
    model: str | None = None
    inference_config: InferenceConfigIn | None = Field(
        default=None, description="Replaces the conversation's inference settings; {} clears them"
    )
    tools: list[str] | None = Field(
        default=None,
        description="Enabled tool names from GET /tools ([] turns tool use off)",
        json_schema_extra={"maxItems": 64},
    )


# -- comparisons --------------------------------------------------------------------------------


class LaneIn(ApiRequest):
    model: str | None = Field(
        default=None, description="A model id from GET /models (default model if omitted)"
    )
    inference_config: InferenceConfigIn | None = None


class CompareRequest(ApiRequest):
    message: str = Field(description="The question every lane answers")
    lanes: list[LaneIn] | None = Field(
        default=None,
        description="2-4 lanes, no two identical; may be omitted on a follow-up (comparisonId)",
    )
    comparison_id: str | None = Field(
        default=None, description="Follow up on this comparison", json_schema_extra=ID_SCHEMA
    )
    system: str | None = Field(default=None, description="System prompt for every lane")
    attachments: list[str] = Field(
        default_factory=list,
        description="Upload ids (images, documents), at most 10",
        json_schema_extra={"items": {"type": "string", **ID_SCHEMA}, "maxItems": 10},
    )


class ContinueLaneRequest(ApiRequest):
    lane: int = Field(ge=0, le=3, description="The lane whose answer to continue with (0-based)")


class StopLaneResponse(ApiModel):
    comparison_id: str
    lane: int


class LaneAnswerOut(ApiModel):
    lane: int
    model: str
    inference_config: dict[str, Any]
    answer: str
    stop_reason: str | None
    usage: dict[str, int] = Field(
        description="inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens"
    )
    cost_usd: float | None
    latency_ms: int
    status: Literal["complete", "incomplete", "stopped", "throttled", "error"]
    error: dict[str, str] | None = Field(default=None, description="{code, message} when the lane failed")
    conversation_id: str | None = Field(default=None, description="The lane's conversation")


class CompareResponse(ApiModel):
    comparison_id: str
    answers: list[LaneAnswerOut]
    cost_usd: float | None = Field(description="All lanes together (null when a lane is unpriced)")
    latency_ms: int


class ComparisonLaneOut(ApiModel):
    lane: int
    model: str
    inference_config: dict[str, Any] | None
    conversation_id: str


class ComparisonOut(ApiModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    system: str | None
    lanes: list[ComparisonLaneOut]
    continued_as: str | None = Field(description="The conversation a lane was continued as, if any")

    @classmethod
    def of(cls, comparison: Any) -> ComparisonOut:
        return cls.model_validate(_comparison_json(comparison))


class ComparisonList(ApiModel):
    items: list[ComparisonOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Any) -> ComparisonList:
        return cls.model_validate(
            {"items": [_comparison_json(item) for item in page.items], "next_cursor": page.next_cursor}
        )


class ComparisonLaneDetail(ComparisonLaneOut):
    messages: list[MessageOut]


class ComparisonDetail(ComparisonOut):
    lanes: list[ComparisonLaneDetail]  # type: ignore[assignment]

    @classmethod
    def of(cls, found: Any) -> ComparisonDetail:  # type: ignore[override]
        data = _comparison_json(found.comparison)
        for lane in data["lanes"]:
            lane["messages"] = found.messages.get(lane["lane"], [])
        return cls.model_validate(data)


def _comparison_json(comparison: Any) -> dict[str, Any]:
    return {
        **{key: value for key, value in vars(comparison).items() if key != "lanes"},
        "lanes": [
            {
                "lane": lane.index,
                "model": lane.model,
                "inference_config": lane.inference_config,
                "conversation_id": lane.conversation_id,
            }
            for lane in comparison.lanes
        ],
    }


# -- catalogue --------------------------------------------------------------------------------


class RangeOut(ApiModel):
    min: int | float
    max: int | float | None


class PriceOut(ApiModel):
    # The model table's own names (modelTable in cdk.json), not pydantic's "inputPer1K".
    input_per_1k: float = Field(alias="inputPer1k", description="USD per 1,000 input tokens")
    output_per_1k: float = Field(alias="outputPer1k", description="USD per 1,000 output tokens")
    as_of: str = Field(description="When the price was read (ISO date)")
    source: str


class ModelLimitsOut(ApiModel):
    temperature: RangeOut | None = Field(description="null: the model takes no temperature")
    top_p: RangeOut | None
    temperature_and_top_p: bool = Field(description="False: set temperature or topP, not both")
    max_tokens: RangeOut = Field(description="maxTokens range (max null: unknown)")
    price: PriceOut | None = Field(description="null: unpriced; local models cost 0")
    tools_by_default: bool = Field(
        description="GET /tools defaultEnabled is offered to this model when a conversation has "
        "chosen no tools (false: none, for a model too small to use them)"
    )


class ModelOut(ApiModel):
    id: str = Field(description="Send as `model`: a model id or an inference-profile id (us.amazon...)")
    name: str
    provider: str
    input_modalities: list[str] = Field(description="TEXT, IMAGE, DOCUMENT, ...")
    output_modalities: list[str]
    streaming: bool = Field(description="Answers stream (always true: only streaming models are listed)")
    limits: ModelLimitsOut | None = Field(
        default=None, description="Inference ranges and price from the model table (settings forms)"
    )


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


class PromptIn(ApiRequest):
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


# -- tools ------------------------------------------------------------------------------------


class ToolOut(ApiModel):
    name: str = Field(description="Send in `tools`; MCP tools are named server__tool")
    description: str
    input_schema: dict[str, Any] = Field(description="JSON Schema of the tool's input")
    source: str = Field(description='"builtin" or the MCP server\'s name')
    title: str | None = None


class ToolsResponse(ApiModel):
    tools: list[ToolOut]
    default_enabled: list[str] = Field(description="What a conversation has on unless it chose otherwise")
    notices: list[str] = Field(description="Tool sources left out just now (an MCP server that is down)")

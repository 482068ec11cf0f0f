"""What the model port carries for tool use: the request's ``toolConfig`` and the streamed
``toolUse`` blocks. New types that extend the domain's ``ModelRequest``/``ModelChunk`` so that
code reading only text, usage and stop reason keeps working unchanged.

The shape follows ConverseStream's events (Bedrock API reference, ConverseStreamOutput):
``contentBlockStart`` {start: {toolUse: {toolUseId, name}}, contentBlockIndex},
``contentBlockDelta`` {delta: {toolUse: {input: "<part of a JSON text>"}}, contentBlockIndex},
``contentBlockStop`` {contentBlockIndex}. A toolUse's input is complete at its stop; an adapter
that cannot see stops (langchain-aws drops the index of ``contentBlockStop``) may instead end a
block when a block with another index starts or when the stream ends; consumers accept both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatbot_common.errors import InvalidInput
from lambda_chat.domain.ports import ModelChunk, ModelRequest


@dataclass(frozen=True)
class ToolUseStart:
    index: int  # the content block index within the streamed message
    tool_use_id: str
    name: str


@dataclass(frozen=True)
class ToolUseDelta:
    index: int
    input_json: str  # a fragment: the fragments of one block concatenate to a JSON object


@dataclass(frozen=True)
class ToolUseStop:
    index: int


ToolUsePart = ToolUseStart | ToolUseDelta | ToolUseStop


@dataclass(frozen=True)
class ToolModelChunk(ModelChunk):
    """A ModelChunk that may also carry one part of a toolUse block (`tool_part`); such a chunk
    answers (the base class's `tool_use` flag) once the block has started."""

    tool_part: ToolUsePart | None = None

    def __post_init__(self) -> None:
        if self.tool_part is not None and not self.tool_use:
            object.__setattr__(self, "tool_use", True)


@dataclass(frozen=True)
class ToolModelRequest(ModelRequest):
    """A ModelRequest with the Converse ``toolConfig`` ({"tools": [...], "toolChoice": ...}) or
    None. Messages may hold ``toolUse`` (assistant) and ``toolResult`` (user) blocks; Bedrock
    refuses those without a ``toolConfig`` (see ``tool_history.tool_blocks_as_text``)."""

    tool_config: dict[str, Any] | None = None


class ToolsUnsupported(InvalidInput):
    """The model refused a request because it carried a ``toolConfig`` (it has no tool use).

    Adapters raise it instead of the generic InvalidInput so the agent loop can answer without
    tools and tell the user."""


class InputTooLong(InvalidInput):
    """The model refused a request whose input does not fit its context window (Bedrock: a
    ValidationException, "Input is too long for requested model." or Anthropic's "prompt is too
    long: N tokens > M maximum"). The history sent is sized by an estimate of tokens
    (`lambda_chat.domain.tokens`), and a model's own tokenizer can count more (SmolLM2 counts
    about two tokens per Chinese character, 2.7 per emoji).

    Adapters raise it instead of the generic InvalidInput so the agent loop can send fewer of
    the conversation's earlier messages and tell the user."""

    @classmethod
    def for_question(cls, model_id: str) -> InputTooLong:
        """The refusal once no earlier message is left to leave out: the question itself (with
        the system prompt, attachments and tool definitions) does not fit. A 400 naming it."""
        return cls(
            f"message: too long for {model_id} to read at once, with the system prompt, attachments "
            "and tool definitions, even without the conversation's earlier messages; shorten it, or "
            "choose a model with a larger context window"
        )


def history_shortened_text(model_id: str) -> str:
    """The `history_shortened` notice's message (a chat turn's, or a comparison lane's)."""
    return (
        f"The conversation is longer than {model_id} can read at once; "
        "this answer leaves out its older messages (they stay in the conversation)."
    )

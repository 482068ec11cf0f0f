"""Tool use over langchain-aws ``ChatBedrockConverse``: the pure translations the Bedrock chat
model needs (``lambda_chat.adapters.bedrock_models.BedrockChatModel`` wires them in phase 2).

Requests: Converse toolUse/toolResult blocks must not ride as raw blocks. langchain-aws rewrites
every key of raw content blocks to camelCase, tool input and JSON results included
(``{"time_zone": ...}`` would reach Bedrock as ``{"timeZone": ...}``). They travel instead as
``AIMessage.tool_calls`` and ``ToolMessage``s, which langchain-aws turns into the same Converse
blocks with the input untouched. ``toolConfig`` is passed as a call keyword (its ``inputSchema``
is exempt from the key rewrite).

Responses: ``ChatBedrockConverse.stream`` yields ``AIMessageChunk``s whose ``tool_call_chunks``
carry ConverseStream's toolUse parts: a chunk with ``id`` and ``name`` is a block start, one with
only ``args`` a piece of the input JSON, keyed by ``index`` (the content block index). The chunk
for ``contentBlockStop`` carries no index, so stops are inferred: a block ends when a block with
another index arrives or at the stop reason (``messageStop``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from lambda_chat.domain.ports import ModelRequest
from lambda_chat.tools.model_stream import ToolModelChunk, ToolUseDelta, ToolUseStart, ToolUseStop

# Bedrock's ValidationException messages for a model without (streaming) tool use, e.g. "This
# model doesn't support tool use." / "... tool use in streaming mode." / "... the
# toolConfig.toolChoice.any field".
_TOOL_SUPPORT_PHRASES = ("support tool use", "toolconfig")
# How Bedrock's models word "the input does not fit the context window" in a ValidationException:
# "Input is too long for requested model." (Bedrock), "prompt is too long: 200049 tokens > 200000
# maximum" (Anthropic's models), "too many input tokens", "maximum context length".
_INPUT_TOO_LONG_PHRASES = (
    "input is too long",
    "prompt is too long",
    "too many input tokens",
    "maximum context length",
)


def to_langchain_messages(request: ModelRequest) -> list[BaseMessage]:
    """The request's Converse messages as langchain messages, tool blocks as tool_calls and
    ToolMessages (results first in a user turn, then its other blocks as a HumanMessage), and the
    request's prompt-cache checkpoints as `cachePoint` blocks (after the system text, and at the end
    of the planned messages' content); langchain-aws passes blocks without a "type" key through.

    A message that is one text block and nothing else (most of a history) becomes a string:
    langchain-aws sends it as the same `[{"text": ...}]`, and langchain-core's tracing copies every
    message whose content holds a block without a "type" key (`_format_for_tracing`), which at a
    100-message history cost more than the rest of the conversion. A string that is blank would
    go out as langchain-aws's placeholder text instead of a blank block Bedrock refuses."""
    messages: list[BaseMessage] = []
    cache_point = {"cachePoint": {"type": "default"}}  # ChatBedrockConverse.create_cache_point()
    if request.system:
        if getattr(request, "cache_system", False):
            messages.append(SystemMessage(content=[{"text": request.system}, dict(cache_point)]))
        else:
            messages.append(SystemMessage(content=request.system))
    cache_after = set(getattr(request, "cache_after_messages", ()))
    for index, message in enumerate(request.messages):
        tail = [dict(cache_point)] if index in cache_after else []
        if message.role == "assistant":
            others: list[str | dict[Any, Any]] = [dict(b) for b in message.content if "toolUse" not in b]
            others += tail
            calls = [
                {"id": b["toolUse"]["toolUseId"], "name": b["toolUse"]["name"], "args": b["toolUse"]["input"]}
                for b in message.content
                if "toolUse" in b
            ]
            messages.append(AIMessage(content=_plain_text(others), tool_calls=calls))
            continue
        for block in message.content:
            if "toolResult" in block:
                result = block["toolResult"]
                content: list[str | dict[Any, Any]] = [
                    {"type": "text", "text": str(c.get("text", ""))} for c in result.get("content", [])
                ]
                messages.append(
                    ToolMessage(
                        content=content,
                        tool_call_id=result["toolUseId"],
                        status=result.get("status", "success"),
                    )
                )
        rest: list[str | dict[Any, Any]] = [dict(b) for b in message.content if "toolResult" not in b]
        rest += tail
        if rest:
            messages.append(HumanMessage(content=_plain_text(rest)))
    return messages


def _plain_text(blocks: list[str | dict[Any, Any]]) -> str | list[str | dict[Any, Any]]:
    """One text block alone as its string; any other content as it is."""
    if len(blocks) == 1 and isinstance(blocks[0], dict) and blocks[0].keys() == {"text"}:
        return str(blocks[0]["text"])
    return blocks


def stream_keywords(request: ModelRequest) -> dict[str, Any]:
    """Keywords for ``ChatBedrockConverse.stream``: the toolConfig when the request has one."""
    tool_config = getattr(request, "tool_config", None)
    return {"toolConfig": tool_config} if tool_config else {}


def tool_model_chunks(chunks: Iterable[Any]) -> Iterator[ToolModelChunk]:
    """ConverseStream as langchain-aws streams it (``AIMessageChunk``s) -> the domain's chunks:
    text, usage, stop reason and toolUse start/delta/stop parts."""
    open_blocks: set[int] = set()
    for chunk in chunks:
        parts = chunk.tool_call_chunks or []
        for part in parts:
            index = int(part.get("index") or 0)
            if part.get("id"):
                for other in sorted(open_blocks - {index}):
                    yield ToolModelChunk(tool_part=ToolUseStop(other))
                open_blocks = {index}
                yield ToolModelChunk(
                    tool_part=ToolUseStart(index, str(part["id"]), str(part.get("name") or ""))
                )
            if part.get("args"):
                yield ToolModelChunk(tool_part=ToolUseDelta(index, str(part["args"])))
        text = chunk.text if isinstance(chunk.text, str) else ""
        if text and open_blocks:
            for other in sorted(open_blocks):
                yield ToolModelChunk(tool_part=ToolUseStop(other))
            open_blocks = set()
        usage = getattr(chunk, "usage_metadata", None) or {}
        stop_reason = (getattr(chunk, "response_metadata", None) or {}).get("stopReason")
        if stop_reason:
            for other in sorted(open_blocks):
                yield ToolModelChunk(tool_part=ToolUseStop(other))
            open_blocks = set()
        if text or usage or stop_reason or not parts:
            # A chunk with nothing in it (messageStart) still goes out: it shows the model ran,
            # so a stream failing right after it is counted (estimated input), not recorded as 0.
            input_tokens, cache_read, cache_write = _input_counts(usage)
            yield ToolModelChunk(
                text=text,
                input_tokens=input_tokens,
                output_tokens=usage.get("output_tokens") if usage else None,
                stop_reason=stop_reason,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
            )


def _input_counts(usage: Any) -> tuple[int | None, int | None, int | None]:
    """(inputTokens, cacheReadInputTokens, cacheWriteInputTokens) as Converse reports them, from
    langchain-aws usage_metadata: it adds the cache counts into input_tokens and reports them as
    input_token_details cache_read and cache_creation (the latter split into
    ephemeral_5m/1h_input_tokens when Bedrock sends cacheDetails); Converse's inputTokens, billed
    at the input price, excludes them."""
    input_tokens = usage.get("input_tokens") if usage else None
    details = (usage or {}).get("input_token_details") or {}
    if not details:
        return input_tokens, None, None
    read = details.get("cache_read")
    write = (details.get("cache_creation") or 0) + (details.get("ephemeral_5m_input_tokens") or 0)
    write += details.get("ephemeral_1h_input_tokens") or 0
    cache_read = int(read) if read is not None else None
    if input_tokens is not None:
        input_tokens = max(0, input_tokens - (cache_read or 0) - write)
    return input_tokens, cache_read, int(write)


def is_tool_support_error(exc: Exception) -> bool:
    """Whether Bedrock refused the request because the model has no (streaming) tool use: then
    the adapter raises ``ToolsUnsupported`` instead of InvalidInput. The message text is the only
    signal Bedrock gives (the code is a plain ValidationException)."""
    return _validation_message_has(exc, _TOOL_SUPPORT_PHRASES)


def is_input_too_long(exc: Exception) -> bool:
    """Whether Bedrock refused the request because its input does not fit the model's context
    window: then the adapter raises ``InputTooLong``. As for tool support, the message text is the
    only signal (a ValidationException, or ``validationException`` inside the event stream)."""
    return _validation_message_has(exc, _INPUT_TOO_LONG_PHRASES)


def _validation_message_has(exc: Exception, phrases: tuple[str, ...]) -> bool:
    """A botocore ValidationException (any case of its code) whose message holds one of
    `phrases` (lower case)."""
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    if str(error.get("Code", "")).lower() != "validationexception":
        return False
    message = str(error.get("Message", "")).lower()
    return any(phrase in message for phrase in phrases)

"""InvokeModel / InvokeModelWithResponseStream: each provider's native request and response bodies,
mapped onto the same Converse-shaped request the engines already understand.

One `NativeCodec` per provider family (request schema -> Converse body; generation events ->
response body or stream chunks, with the provider's own usage fields and, on the last streamed
chunk, `amazon-bedrock-invocationMetrics`). Body formats:
- Anthropic Messages: https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html
- Amazon Nova: https://docs.aws.amazon.com/nova/latest/userguide/complete-request-schema.html
- Meta Llama: https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html
- Amazon Titan Text: https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-text.html
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import jsonschema

from local_stack.bedrock_runtime.backend import base_model_id
from local_stack.bedrock_runtime.engine import Finished, GenerationEvent, TextDelta, ToolCall
from local_stack.bedrock_runtime.exceptions import BedrockError, ValidationException

Chunk = dict[str, Any]


def _malformed(error: jsonschema.ValidationError) -> ValidationException:
    # Bedrock's wording for a native body that fails the model's schema.
    where = "#" + "".join(f"/{p}" for p in error.absolute_path)
    return ValidationException(
        f"Malformed input request: {where}: {error.message}, please reformat your input and try again."
    )


def invocation_metrics(finished: Finished, started: float, first_byte: float | None) -> dict[str, int]:
    """`amazon-bedrock-invocationMetrics`: token counts and latencies in milliseconds."""
    now = time.perf_counter()
    metrics = {
        "inputTokenCount": finished.input_tokens,
        "outputTokenCount": finished.output_tokens,
        "invocationLatency": int((now - started) * 1000),
        "firstByteLatency": int(((first_byte or now) - started) * 1000),
    }
    if finished.cache_read_input_tokens is not None:
        metrics["cacheReadInputTokenCount"] = finished.cache_read_input_tokens
        metrics["cacheWriteInputTokenCount"] = finished.cache_write_input_tokens or 0
    return metrics


def _collect(events: Iterable[GenerationEvent]) -> tuple[list[TextDelta | ToolCall], Finished]:
    parts: list[TextDelta | ToolCall] = []
    finished: Finished | None = None
    for event in events:
        if isinstance(event, Finished):
            finished = event
        elif isinstance(event, TextDelta) and parts and isinstance(parts[-1], TextDelta):
            parts[-1] = TextDelta(parts[-1].text + event.text)
        elif not isinstance(event, TextDelta) or event.text:
            parts.append(event)
    if finished is None:
        raise BedrockError("The model stopped without finishing its response.")
    return parts, finished


class NativeCodec:
    """One provider's native body format. Subclasses set `schema` and implement the three maps."""

    name: ClassVar[str]
    schema: ClassVar[dict[str, Any]]

    def to_converse(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate a native request body (Bedrock's "Malformed input request" on failure) and
        return the equivalent Converse request body."""
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(self.schema).iter_errors(body))
        if error is not None:
            raise _malformed(error)
        return self._to_converse(body)

    def _to_converse(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def response(self, model_id: str, events: Iterable[GenerationEvent]) -> dict[str, Any]:
        raise NotImplementedError

    def stream(self, model_id: str, events: Iterator[GenerationEvent], started: float) -> Iterator[Chunk]:
        raise NotImplementedError


def _text_blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"text": value}] if value else []
    return [{"text": b["text"]} for b in value or [] if isinstance(b, dict) and b.get("type") == "text"]


def _anthropic_block(block: Any) -> list[dict[str, Any]]:
    if isinstance(block, str):
        return [{"text": block}]
    kind = block.get("type")
    out: list[dict[str, Any]] = []
    if kind == "text":
        out.append({"text": block.get("text", "")})
    elif kind == "image":
        source = block.get("source") or {}
        fmt = str(source.get("media_type", "image/png")).split("/")[-1]
        out.append({"image": {"format": fmt, "source": {"bytes": source.get("data", "")}}})
    elif kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            out.append(
                {
                    "document": {
                        "format": "txt",
                        "name": "document",
                        "source": {"text": source.get("data", "")},
                    }
                }
            )
        else:
            out.append(
                {
                    "document": {
                        "format": "pdf",
                        "name": "document",
                        "source": {"bytes": source.get("data", "")},
                    }
                }
            )
    elif kind == "tool_use":
        out.append(
            {"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block.get("input", {})}}
        )
    elif kind == "tool_result":
        content = block.get("content", "")
        items = (
            [{"text": content}]
            if isinstance(content, str)
            else [
                {"text": c.get("text", "")}
                for c in content
                if isinstance(c, dict) and c.get("type") == "text"
            ]
        )
        result: dict[str, Any] = {"toolUseId": block["tool_use_id"], "content": items or [{"text": ""}]}
        if block.get("is_error"):
            result["status"] = "error"
        out.append({"toolResult": result})
    else:
        raise ValidationException(
            f"Malformed input request: unsupported content block type {kind!r}, "
            "please reformat your input and try again."
        )
    if isinstance(block, dict) and block.get("cache_control"):
        out.append({"cachePoint": {"type": "default"}})
    return out


class AnthropicMessages(NativeCodec):
    name = "anthropic"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["anthropic_version", "max_tokens", "messages"],
        "properties": {
            "anthropic_version": {"type": "string", "enum": ["bedrock-2023-05-31"]},
            "max_tokens": {"type": "integer", "minimum": 1},
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["role", "content"],
                    "properties": {
                        "role": {"enum": ["user", "assistant"]},
                        "content": {"type": ["string", "array"]},
                    },
                },
            },
            "system": {"type": ["string", "array"]},
            "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "top_k": {"type": "integer", "minimum": 0},
            "stop_sequences": {"type": "array", "items": {"type": "string"}},
            "tools": {"type": "array", "items": {"type": "object", "required": ["name"]}},
            "tool_choice": {"type": "object", "required": ["type"]},
        },
    }

    def _to_converse(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = []
        for message in body["messages"]:
            content = message["content"]
            blocks = [
                b
                for item in ([content] if isinstance(content, str) else content)
                for b in _anthropic_block(item)
            ]
            messages.append({"role": message["role"], "content": blocks})
        request: dict[str, Any] = {"messages": messages, "inferenceConfig": {"maxTokens": body["max_tokens"]}}
        system = body.get("system")
        if system:
            request["system"] = _text_blocks(system)
            if isinstance(system, list) and any(
                isinstance(b, dict) and b.get("cache_control") for b in system
            ):
                request["system"].append({"cachePoint": {"type": "default"}})
        for src, dst in (
            ("temperature", "temperature"),
            ("top_p", "topP"),
            ("stop_sequences", "stopSequences"),
        ):
            if src in body:
                request["inferenceConfig"][dst] = body[src]
        if body.get("tools"):
            tools: list[dict[str, Any]] = [
                {
                    "toolSpec": {
                        "name": t["name"],
                        "description": t.get("description") or t["name"],
                        "inputSchema": {"json": t.get("input_schema") or {"type": "object"}},
                    }
                }
                for t in body["tools"]
            ]
            config: dict[str, Any] = {"tools": tools}
            choice = body.get("tool_choice") or {"type": "auto"}
            if choice["type"] == "any":
                config["toolChoice"] = {"any": {}}
            elif choice["type"] == "tool":
                config["toolChoice"] = {"tool": {"name": choice.get("name", "")}}
            request["toolConfig"] = config
        return request

    @staticmethod
    def _usage(finished: Finished, output_tokens: int | None = None) -> dict[str, int]:
        return {
            "input_tokens": finished.input_tokens,
            "output_tokens": finished.output_tokens if output_tokens is None else output_tokens,
            "cache_creation_input_tokens": finished.cache_write_input_tokens or 0,
            "cache_read_input_tokens": finished.cache_read_input_tokens or 0,
        }

    def response(self, model_id: str, events: Iterable[GenerationEvent]) -> dict[str, Any]:
        parts, finished = _collect(events)
        content = [
            {"type": "text", "text": p.text}
            if isinstance(p, TextDelta)
            else {"type": "tool_use", "id": p.tool_use_id, "name": p.name, "input": p.input}
            for p in parts
        ]
        return {
            "id": "msg_bdrk_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": model_id,
            "content": content,
            "stop_reason": finished.stop_reason
            if finished.stop_reason != "malformed_tool_use"
            else "end_turn",
            "stop_sequence": None,
            "usage": self._usage(finished),
        }

    def stream(self, model_id: str, events: Iterator[GenerationEvent], started: float) -> Iterator[Chunk]:
        # Anthropic's event order: message_start, (content_block_start, content_block_delta*,
        # content_block_stop)*, message_delta (stop reason, output usage), message_stop.
        first_byte = time.perf_counter()
        index, text_open = 0, False
        message: dict[str, Any] = {
            "id": "msg_bdrk_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": model_id,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }
        usage_sent = False
        for event in events:
            if not usage_sent:
                usage_sent = True
                yield {
                    "type": "message_start",
                    "message": {**message, "usage": {"input_tokens": 0, "output_tokens": 0}},
                }
            if isinstance(event, TextDelta):
                if not event.text:
                    continue
                if not text_open:
                    yield {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    }
                    text_open = True
                yield {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": event.text},
                }
                continue
            if text_open:
                yield {"type": "content_block_stop", "index": index}
                index, text_open = index + 1, False
            if isinstance(event, ToolCall):
                yield {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": event.tool_use_id,
                        "name": event.name,
                        "input": {},
                    },
                }
                yield {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(event.input)},
                }
                yield {"type": "content_block_stop", "index": index}
                index += 1
            elif isinstance(event, Finished):
                stop = event.stop_reason if event.stop_reason != "malformed_tool_use" else "end_turn"
                yield {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    # Cumulative usage, as Anthropic's message_delta carries it (input counts are
                    # known only once the prompt is evaluated; message_start reports 0).
                    "usage": self._usage(event),
                }
                yield {
                    "type": "message_stop",
                    "amazon-bedrock-invocationMetrics": invocation_metrics(event, started, first_byte),
                }


class AmazonNova(NativeCodec):
    """Nova's native body is Converse-shaped (`schemaVersion` "messages-v1")."""

    name = "nova"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "schemaVersion": {"type": "string", "enum": ["messages-v1"]},
            "messages": {"type": "array", "minItems": 1},
            "system": {"type": "array"},
            "inferenceConfig": {"type": "object"},
            "toolConfig": {"type": "object"},
        },
    }

    def _to_converse(self, body: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {k: body[k] for k in ("messages", "system", "toolConfig") if k in body}
        config = dict(body.get("inferenceConfig") or {})
        mapped = {
            "maxTokens": config.get("maxTokens", config.get("max_new_tokens")),
            "temperature": config.get("temperature"),
            "topP": config.get("topP", config.get("top_p")),
            "stopSequences": config.get("stopSequences"),
        }
        request["inferenceConfig"] = {k: v for k, v in mapped.items() if v is not None}
        return request

    @staticmethod
    def _usage(finished: Finished) -> dict[str, int]:
        usage = {
            "inputTokens": finished.input_tokens,
            "outputTokens": finished.output_tokens,
            "totalTokens": finished.input_tokens + finished.output_tokens,
        }
        if finished.cache_read_input_tokens is not None:
            usage["cacheReadInputTokenCount"] = finished.cache_read_input_tokens
            usage["cacheWriteInputTokenCount"] = finished.cache_write_input_tokens or 0
        return usage

    def response(self, model_id: str, events: Iterable[GenerationEvent]) -> dict[str, Any]:
        parts, finished = _collect(events)
        content = [
            {"text": p.text}
            if isinstance(p, TextDelta)
            else {"toolUse": {"toolUseId": p.tool_use_id, "name": p.name, "input": p.input}}
            for p in parts
        ]
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": finished.stop_reason,
            "usage": self._usage(finished),
        }

    def stream(self, model_id: str, events: Iterator[GenerationEvent], started: float) -> Iterator[Chunk]:
        first_byte = time.perf_counter()
        yield {"messageStart": {"role": "assistant"}}
        index, text_open = 0, False
        for event in events:
            if isinstance(event, TextDelta):
                if event.text:
                    text_open = True
                    yield {"contentBlockDelta": {"delta": {"text": event.text}, "contentBlockIndex": index}}
                continue
            if text_open:
                yield {"contentBlockStop": {"contentBlockIndex": index}}
                index, text_open = index + 1, False
            if isinstance(event, ToolCall):
                yield {
                    "contentBlockStart": {
                        "start": {"toolUse": {"toolUseId": event.tool_use_id, "name": event.name}},
                        "contentBlockIndex": index,
                    }
                }
                yield {
                    "contentBlockDelta": {
                        "delta": {"toolUse": {"input": json.dumps(event.input)}},
                        "contentBlockIndex": index,
                    }
                }
                yield {"contentBlockStop": {"contentBlockIndex": index}}
                index += 1
            elif isinstance(event, Finished):
                yield {"messageStop": {"stopReason": event.stop_reason}}
                yield {
                    "metadata": {"usage": self._usage(event), "metrics": {}, "trace": {}},
                    "amazon-bedrock-invocationMetrics": invocation_metrics(event, started, first_byte),
                }


# Llama 3 prompt format: <|start_header_id|>role<|end_header_id|>\n\ntext<|eot_id|>
_LLAMA_TURN = re.compile(
    r"<\|start_header_id\|>(system|user|assistant)<\|end_header_id\|>\s*(.*?)(?:<\|eot_id\|>|$)", re.S
)


class MetaLlama(NativeCodec):
    name = "llama"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string", "minLength": 1},
            "max_gen_len": {"type": "integer", "minimum": 1, "maximum": 8192},
            "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }

    def _to_converse(self, body: dict[str, Any]) -> dict[str, Any]:
        system: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for role, text in _LLAMA_TURN.findall(body["prompt"]):
            if not text.strip():
                continue  # the open assistant header the prompt ends with
            if role == "system":
                system.append({"text": text.strip()})
            elif messages and messages[-1]["role"] == role:
                messages[-1]["content"].append({"text": text.strip()})
            else:
                messages.append({"role": role, "content": [{"text": text.strip()}]})
        if not messages:
            messages = [{"role": "user", "content": [{"text": body["prompt"]}]}]
        config = {
            "maxTokens": body.get("max_gen_len", 512),
            "temperature": body.get("temperature"),
            "topP": body.get("top_p"),
        }
        request: dict[str, Any] = {
            "messages": messages,
            "inferenceConfig": {k: v for k, v in config.items() if v is not None},
        }
        if system:
            request["system"] = system
        return request

    @staticmethod
    def _stop(finished: Finished) -> str:
        return "length" if finished.stop_reason == "max_tokens" else "stop"

    def response(self, model_id: str, events: Iterable[GenerationEvent]) -> dict[str, Any]:
        parts, finished = _collect(events)
        text = "".join(
            p.text if isinstance(p, TextDelta) else json.dumps({"name": p.name, "parameters": p.input})
            for p in parts
        )
        return {
            "generation": text,
            "prompt_token_count": finished.input_tokens,
            "generation_token_count": finished.output_tokens,
            "stop_reason": self._stop(finished),
        }

    def stream(self, model_id: str, events: Iterator[GenerationEvent], started: float) -> Iterator[Chunk]:
        first_byte = time.perf_counter()
        count, first = 0, True
        for event in events:
            if isinstance(event, TextDelta | ToolCall):
                text = (
                    event.text
                    if isinstance(event, TextDelta)
                    else json.dumps({"name": event.name, "parameters": event.input})
                )
                if not text:
                    continue
                count += 1
                yield {
                    "generation": text,
                    "prompt_token_count": None,
                    "generation_token_count": count,
                    "stop_reason": None,
                }
                first = False
            elif isinstance(event, Finished):
                yield {
                    "generation": "",
                    "prompt_token_count": event.input_tokens if first else None,
                    "generation_token_count": event.output_tokens,
                    "stop_reason": self._stop(event),
                    "amazon-bedrock-invocationMetrics": invocation_metrics(event, started, first_byte),
                }


class TitanText(NativeCodec):
    name = "titan"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["inputText"],
        "properties": {
            "inputText": {"type": "string", "minLength": 1},
            "textGenerationConfig": {
                "type": "object",
                "properties": {
                    "maxTokenCount": {"type": "integer", "minimum": 0, "maximum": 8192},
                    "temperature": {"type": "number", "minimum": 0, "maximum": 1},
                    "topP": {"type": "number", "minimum": 0, "maximum": 1},
                    "stopSequences": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    }

    def _to_converse(self, body: dict[str, Any]) -> dict[str, Any]:
        config = body.get("textGenerationConfig") or {}
        mapped = {
            "maxTokens": config.get("maxTokenCount", 512) or 512,
            "temperature": config.get("temperature"),
            "topP": config.get("topP"),
            "stopSequences": config.get("stopSequences") or None,
        }
        return {
            "messages": [{"role": "user", "content": [{"text": body["inputText"]}]}],
            "inferenceConfig": {k: v for k, v in mapped.items() if v is not None},
        }

    @staticmethod
    def _reason(finished: Finished) -> str:
        return {"max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}.get(
            finished.stop_reason, "FINISH"
        )

    def response(self, model_id: str, events: Iterable[GenerationEvent]) -> dict[str, Any]:
        parts, finished = _collect(events)
        text = "".join(p.text for p in parts if isinstance(p, TextDelta))
        return {
            "inputTextTokenCount": finished.input_tokens,
            "results": [
                {
                    "tokenCount": finished.output_tokens,
                    "outputText": text,
                    "completionReason": self._reason(finished),
                }
            ],
        }

    def stream(self, model_id: str, events: Iterator[GenerationEvent], started: float) -> Iterator[Chunk]:
        first_byte = time.perf_counter()
        count = 0
        for event in events:
            if isinstance(event, TextDelta) and event.text:
                count += 1
                yield {
                    "outputText": event.text,
                    "index": 0,
                    "totalOutputTextTokenCount": count,
                    "completionReason": None,
                    "inputTextTokenCount": None,
                }
            elif isinstance(event, Finished):
                yield {
                    "outputText": "",
                    "index": 0,
                    "totalOutputTextTokenCount": event.output_tokens,
                    "completionReason": self._reason(event),
                    "inputTextTokenCount": event.input_tokens,
                    "amazon-bedrock-invocationMetrics": invocation_metrics(event, started, first_byte),
                }


_BY_PREFIX: tuple[tuple[str, NativeCodec], ...] = (
    ("anthropic.", AnthropicMessages()),
    ("amazon.nova", AmazonNova()),
    ("meta.llama", MetaLlama()),
    ("amazon.titan-text", TitanText()),
)


def codec_for(model_id: str, body: dict[str, Any]) -> NativeCodec:
    """The codec for a model id (foundation-model id, inference-profile id or ARN); for a local id,
    the one whose body this is (`anthropic_version`, `schemaVersion`/`messages`, `prompt`, `inputText`)."""
    base = base_model_id(model_id)
    for prefix, codec in _BY_PREFIX:
        if base.startswith(prefix):
            return codec
    if "anthropic_version" in body:
        return _BY_PREFIX[0][1]
    if "messages" in body:
        return _BY_PREFIX[1][1]
    if "prompt" in body:
        return _BY_PREFIX[2][1]
    if "inputText" in body:
        return _BY_PREFIX[3][1]
    raise ValidationException(
        "Malformed input request: the body is none of the native formats emulated locally "
        "(Anthropic Messages, Amazon Nova, Meta Llama, Amazon Titan Text), "
        "please reformat your input and try again."
    )

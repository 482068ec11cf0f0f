"""Turn a Converse request body into what a text-only model sees, validating it as Bedrock does.

Images are described as text (format and pixel size); documents become their extracted text;
tool calls and results become tagged text. The scripted and embedded engines see the same text,
so what a test asserts on the scripted engine is what the embedded model is given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from local_stack.bedrock_runtime.exceptions import ValidationException

Role = Literal["user", "assistant"]

# Bedrock's own wording, so clients matching on it behave the same.
MSG_MUST_START_WITH_USER = (
    "A conversation must start with a user message. Try again with a conversation that starts with a "
    "user message."
)
MSG_MUST_ALTERNATE = (
    "A conversation must alternate between user and assistant roles. Make sure the conversation "
    "alternates between user and assistant roles and try again."
)
MSG_TOOL_CONFIG_REQUIRED = (
    "The toolConfig field must be defined when using toolUse and toolResult content blocks."
)
MSG_INPUT_TOO_LONG = "Input is too long for requested model."

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

_TEXT_DOCUMENT_FORMATS = {"txt", "md", "csv", "html"}
_KNOWN_DOCUMENT_FORMATS = {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}
_KNOWN_IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str
    # `data:` URLs of the message's image blocks (bytes sources), for a vision model with a projector.
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class CachePoint:
    """A `cachePoint` block: `key` identifies everything before it (tools, system, messages);
    `prefix_text` is that prefix as the model sees it (for token estimates); `ttl_seconds` is 300 or
    3600 (`ttl` "5m" / "1h", https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html)."""

    key: str
    prefix_text: str
    ttl_seconds: int = 300


@dataclass(frozen=True)
class ModelPrompt:
    """A validated request, rendered to text, with its generation settings."""

    model_id: str
    system: str
    turns: list[Turn]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    # "auto" (model decides), "any" (must call some tool) or "tool" (must call `forced_tool`).
    tool_choice: Literal["auto", "any", "tool"] = "auto"
    forced_tool: str | None = None
    # cachePoint blocks in request order (tools, system, messages); empty when the request has none.
    cache_points: tuple[CachePoint, ...] = ()
    # Message-end prefixes before the last cache point: where an earlier request's cache entry may
    # be found (Bedrock looks back from a cache point to earlier cached prefixes).
    cache_lookback: tuple[CachePoint, ...] = ()
    # `outputConfig.textFormat.structure.jsonSchema.schema`, parsed; None when not asked for.
    output_schema: dict[str, Any] | None = None
    # The latest user message's own text blocks, and its toolResult contents (text, or JSON dumped).
    latest_user_plain_text: str = ""
    latest_tool_results: tuple[str, ...] = ()

    @property
    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    def all_text(self) -> str:
        return "\n".join([self.system, *(t.text for t in self.turns)])


def _decode_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        raise ValidationException(f"The {what} source bytes must be a base64 string.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationException(f"The {what} source bytes are not valid base64.") from exc


def describe_image(block: dict[str, Any]) -> str:
    """What a text-only model is told about an image block: its format and pixel size."""
    fmt = str(block.get("format", "")).lower()
    if fmt not in _KNOWN_IMAGE_FORMATS:
        raise ValidationException(f"Unsupported image format: {fmt!r}. Use one of png, jpeg, gif, webp.")
    source = block.get("source") or {}
    if "bytes" in source:
        data = _decode_bytes(source["bytes"], "image")
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                actual = (img.format or fmt).lower()
        except (UnidentifiedImageError, OSError) as exc:
            raise ValidationException("The provided image could not be processed.") from exc
        note = "" if actual in (fmt, "jpg" if fmt == "jpeg" else fmt) else f", content is {actual}"
        return f"[Image: {fmt.upper()}, {width}x{height} pixels{note}]"
    if "s3Location" in source:
        uri = (source["s3Location"] or {}).get("uri", "")
        return f"[Image: {fmt.upper()} at {uri}, size unknown]"
    raise ValidationException("The image source must contain bytes or s3Location.")


def _extract_document_text(fmt: str, data: bytes) -> str | None:
    if fmt in _TEXT_DOCUMENT_FORMATS:
        text = data.decode("utf-8", errors="replace")
        if fmt == "html":
            from bs4 import BeautifulSoup

            text = BeautifulSoup(text, "html.parser").get_text("\n")
        return text
    if fmt == "pdf":
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            reader = PdfReader(io.BytesIO(data))
            return "\n".join((page.extract_text() or "") for page in reader.pages)
        except (PyPdfError, ValueError, OSError) as exc:
            raise ValidationException("The provided document could not be processed as pdf.") from exc
    if fmt == "docx":
        import docx

        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as exc:  # python-docx raises assorted zip/xml errors
            raise ValidationException("The provided document could not be processed as docx.") from exc
        return "\n".join(p.text for p in document.paragraphs)
    return None


def describe_document(block: dict[str, Any], max_chars: int) -> str:
    """A document's extracted text, headed by its name and format; truncated past `max_chars`."""
    fmt = str(block.get("format", "txt")).lower()
    name = str(block.get("name", "document"))
    if fmt not in _KNOWN_DOCUMENT_FORMATS:
        raise ValidationException(f"Unsupported document format: {fmt!r}.")
    source = block.get("source") or {}
    text: str | None
    if "text" in source:
        text = str(source["text"])
    elif "content" in source:
        text = "\n".join(str(part.get("text", "")) for part in source["content"] or [])
    elif "bytes" in source:
        text = _extract_document_text(fmt, _decode_bytes(source["bytes"], "document"))
    elif "s3Location" in source:
        uri = (source["s3Location"] or {}).get("uri", "")
        return f"[Document '{name}' ({fmt}) at {uri}: not readable locally]"
    else:
        raise ValidationException("The document source must contain bytes, text, content or s3Location.")
    if text is None:
        return f"[Document '{name}' ({fmt}): text extraction is not supported for this format locally]"
    text = text.strip()
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n[... truncated, {len(text) - max_chars} more characters]"
    return f"[Document '{name}' ({fmt})]\n{text}"


def _render_tool_result(block: dict[str, Any], tool_names: dict[str, str], max_chars: int) -> str:
    parts = []
    for item in block.get("content") or []:
        if "text" in item:
            parts.append(str(item["text"]))
        elif "json" in item:
            parts.append(json.dumps(item["json"], ensure_ascii=False))
        elif "image" in item:
            parts.append(describe_image(item["image"]))
        elif "document" in item:
            parts.append(describe_document(item["document"], max_chars))
    tool_use_id = str(block.get("toolUseId", ""))
    payload = {"name": tool_names.get(tool_use_id, ""), "status": block.get("status", "success")}
    header = json.dumps(payload)
    return f"<tool_response>{header}\n" + "\n".join(parts) + "</tool_response>"


def render_tool_call(name: str, arguments: Any) -> str:
    return TOOL_CALL_OPEN + json.dumps({"name": name, "arguments": arguments}) + TOOL_CALL_CLOSE


def _render_message(
    role: Role,
    content: list[dict[str, Any]],
    tool_names: dict[str, str],
    max_doc_chars: int,
    cache_cuts: list[tuple[int, dict[str, Any]]] | None = None,
) -> str:
    """The message as text; each cachePoint appends (pieces rendered before it, its block) to `cache_cuts`."""
    pieces: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            raise ValidationException("Each content block must be an object.")
        if "text" in block:
            pieces.append(str(block["text"]))
        elif "image" in block:
            pieces.append(describe_image(block["image"]))
        elif "document" in block:
            pieces.append(describe_document(block["document"], max_doc_chars))
        elif "toolUse" in block:
            if role != "assistant":
                raise ValidationException("toolUse content blocks are only allowed in assistant messages.")
            use = block["toolUse"]
            tool_names[str(use.get("toolUseId", ""))] = str(use.get("name", ""))
            pieces.append(render_tool_call(str(use.get("name", "")), use.get("input", {})))
        elif "toolResult" in block:
            if role != "user":
                raise ValidationException("toolResult content blocks are only allowed in user messages.")
            pieces.append(_render_tool_result(block["toolResult"], tool_names, max_doc_chars))
        elif "guardContent" in block:
            pieces.append(str(((block["guardContent"] or {}).get("text") or {}).get("text", "")))
        elif "cachePoint" in block:
            if cache_cuts is not None:
                cache_cuts.append((len(pieces), block["cachePoint"] or {}))
        elif "reasoningContent" in block:
            continue  # no meaning for a local model
        else:
            kinds = ", ".join(sorted(block)) or "empty"
            raise ValidationException(f"Unsupported content block type: {kinds}.")
    return "\n\n".join(pieces)


def _check_tool_pairs(messages: list[dict[str, Any]]) -> None:
    """Every toolResult must answer a toolUse of the assistant turn just before it."""
    previous_ids: set[str] = set()
    for message in messages:
        blocks = message.get("content") or []
        if message.get("role") == "user":
            for block in blocks:
                if isinstance(block, dict) and "toolResult" in block:
                    tool_use_id = str(block["toolResult"].get("toolUseId", ""))
                    if tool_use_id not in previous_ids:
                        raise ValidationException(
                            "The toolResult blocks at messages must match the toolUse blocks of the "
                            f"previous assistant message; unknown toolUseId {tool_use_id!r}."
                        )
            previous_ids = set()
        else:
            previous_ids = {
                str(b["toolUse"].get("toolUseId", ""))
                for b in blocks
                if isinstance(b, dict) and "toolUse" in b
            }


def _number(config: dict[str, Any], key: str, low: float, high: float) -> float | None:
    if key not in config or config[key] is None:
        return None
    value = config[key]
    if not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationException(f"inferenceConfig.{key} must be a number between {low} and {high}.")
    return float(value)


def _parse_tools(body: dict[str, Any]) -> tuple[list[ToolSpec], Literal["auto", "any", "tool"], str | None]:
    config = body.get("toolConfig")
    if not config:
        return [], "auto", None
    tools: list[ToolSpec] = []
    for entry in config.get("tools") or []:
        spec = entry.get("toolSpec") if isinstance(entry, dict) else None
        if spec is None:
            continue  # cachePoint and other non-tool entries
        name = spec.get("name")
        if not name or not isinstance(name, str):
            raise ValidationException("Each toolSpec needs a name.")
        schema = (spec.get("inputSchema") or {}).get("json") or {"type": "object"}
        tools.append(ToolSpec(name=name, description=str(spec.get("description", "")), input_schema=schema))
    if not tools:
        raise ValidationException("toolConfig.tools must contain at least one toolSpec.")
    choice = config.get("toolChoice") or {"auto": {}}
    if "tool" in choice:
        forced = str((choice["tool"] or {}).get("name", ""))
        if forced not in {t.name for t in tools}:
            raise ValidationException(f"toolChoice names a tool that is not in toolConfig.tools: {forced!r}.")
        return tools, "tool", forced
    if "any" in choice:
        return tools, "any", None
    return tools, "auto", None


def tool_result_text(block: dict[str, Any]) -> str:
    """A toolResult's content as one string: text blocks as they are, JSON blocks dumped."""
    parts = []
    for item in block.get("content") or []:
        if isinstance(item, dict) and "text" in item:
            parts.append(str(item["text"]))
        elif isinstance(item, dict) and "json" in item:
            parts.append(json.dumps(item["json"], ensure_ascii=False))
    return "\n".join(parts)


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    text_format = (body.get("outputConfig") or {}).get("textFormat")
    if not text_format:
        return None
    raw = ((text_format.get("structure") or {}).get("jsonSchema") or {}).get("schema")
    try:
        schema = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        schema = None
    if not isinstance(schema, dict):
        raise ValidationException("The outputConfig.textFormat JSON schema is not a valid JSON object.")
    return schema


def _cache_point(tools_key: str, prefix_text: str, spec: dict[str, Any]) -> CachePoint:
    digest = hashlib.sha256((tools_key + "\x00" + prefix_text).encode("utf-8")).hexdigest()
    return CachePoint(
        key=digest, prefix_text=prefix_text, ttl_seconds=3600 if spec.get("ttl") == "1h" else 300
    )


def _lookback_points(
    tools_key: str, system: str, turns: Sequence[Turn], cache_points: Sequence[CachePoint]
) -> list[CachePoint]:
    """A cache point at the end of each message whose prefix is no longer than the longest cache
    point's: the same keys as `_cache_point` of each prefix, computed in one pass (the prefixes
    share their start: one running SHA-256, copied at each message end, and slices of one text),
    so a long conversation costs linear, not quadratic, hashing."""
    if not cache_points:
        return []
    last = max(len(p.prefix_text) for p in cache_points)
    full = "\n".join([system, *(t.text for t in turns)])
    running = hashlib.sha256((tools_key + "\x00" + system).encode("utf-8"))
    end = len(system)
    points = []
    for turn in turns:
        running.update(("\n" + turn.text).encode("utf-8"))
        end += 1 + len(turn.text)
        if end > last:
            break
        points.append(CachePoint(key=running.copy().hexdigest(), prefix_text=full[:end], ttl_seconds=300))
    return points


def build_prompt(model_id: str, body: dict[str, Any], max_doc_chars: int = 24_000) -> ModelPrompt:
    """Validate a Converse/ConverseStream body and render it; raises `ValidationException`."""
    if not isinstance(body, dict):
        raise ValidationException("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValidationException("The messages field must contain at least one message.")
    if not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        raise ValidationException(MSG_MUST_START_WITH_USER)
    previous: str | None = None
    uses_tools = False
    for message in messages:
        if not isinstance(message, dict):
            raise ValidationException("Each message must be an object.")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise ValidationException(f"Invalid message role: {role!r}. Use user or assistant.")
        if role == previous:
            raise ValidationException(MSG_MUST_ALTERNATE)
        previous = role
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise ValidationException(f"The content field in the {role} message must not be empty.")
        uses_tools = uses_tools or any(
            isinstance(b, dict) and ("toolUse" in b or "toolResult" in b) for b in content
        )
    tools, tool_choice, forced_tool = _parse_tools(body)
    if uses_tools and not body.get("toolConfig"):
        raise ValidationException(MSG_TOOL_CONFIG_REQUIRED)
    _check_tool_pairs(messages)

    cache_points: list[CachePoint] = []
    tools_so_far: list[Any] = []
    for entry in (body.get("toolConfig") or {}).get("tools") or []:
        if isinstance(entry, dict) and "cachePoint" in entry:
            key = model_id + json.dumps(tools_so_far, sort_keys=True)
            cache_points.append(_cache_point(key, "", entry["cachePoint"] or {}))
        else:
            tools_so_far.append(entry)
    tools_key = model_id + json.dumps(tools_so_far, sort_keys=True)

    system_parts = []
    for block in body.get("system") or []:
        if isinstance(block, dict) and "text" in block:
            if not str(block["text"]).strip():
                raise ValidationException("System text blocks must not be blank.")
            system_parts.append(str(block["text"]))
        elif isinstance(block, dict) and "guardContent" in block:
            system_parts.append(str(((block["guardContent"] or {}).get("text") or {}).get("text", "")))
        elif isinstance(block, dict) and "cachePoint" in block:
            cache_points.append(_cache_point(tools_key, "\n\n".join(system_parts), block["cachePoint"] or {}))
    system = "\n\n".join(system_parts)

    tool_names: dict[str, str] = {}
    turns: list[Turn] = []
    for m in messages:
        cuts: list[tuple[int, dict[str, Any]]] = []
        text = _render_message(m["role"], m["content"], tool_names, max_doc_chars, cuts)
        for pieces_before, spec in cuts:
            partial = _render_message(
                m["role"], _rendered_blocks(m["content"])[:pieces_before], {**tool_names}, max_doc_chars
            )
            prefix = "\n".join([system, *(t.text for t in turns), partial])
            cache_points.append(_cache_point(tools_key, prefix, spec))
        turns.append(Turn(role=m["role"], text=text, images=_image_urls(m["content"])))
    lookback = _lookback_points(tools_key, system, turns, cache_points)
    latest = messages[-1] if messages[-1].get("role") == "user" else None
    latest_blocks = [b for b in (latest or {}).get("content", []) if isinstance(b, dict)]

    config = body.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise ValidationException("inferenceConfig.maxTokens must be a positive integer.")
    stops = config.get("stopSequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise ValidationException("inferenceConfig.stopSequences must be a list of non-empty strings.")
    if len(stops) > 2500:
        raise ValidationException("inferenceConfig.stopSequences has too many entries.")
    return ModelPrompt(
        model_id=model_id,
        system=system,
        turns=turns,
        max_tokens=max_tokens,
        temperature=_number(config, "temperature", 0.0, 1.0),
        top_p=_number(config, "topP", 0.0, 1.0),
        stop_sequences=list(stops),
        tools=tools,
        tool_choice=tool_choice,
        forced_tool=forced_tool,
        cache_points=tuple(cache_points),
        cache_lookback=tuple(lookback),
        output_schema=_output_schema(body),
        latest_user_plain_text="\n".join(str(b["text"]) for b in latest_blocks if "text" in b),
        latest_tool_results=tuple(
            tool_result_text(b["toolResult"]) for b in latest_blocks if "toolResult" in b
        ),
    )


def _image_urls(content: list[dict[str, Any]]) -> tuple[str, ...]:
    urls = []
    for block in content:
        image = block.get("image") if isinstance(block, dict) else None
        raw = ((image or {}).get("source") or {}).get("bytes")
        if raw is not None and isinstance(image, dict):
            data = raw if isinstance(raw, str) else base64.b64encode(raw).decode("ascii")
            urls.append(f"data:image/{str(image.get('format', 'png')).lower()};base64,{data}")
    return tuple(urls)


def _rendered_blocks(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks of a message that render to a piece of text (cachePoint and reasoning do not)."""
    return [b for b in content if isinstance(b, dict) and not ("cachePoint" in b or "reasoningContent" in b)]

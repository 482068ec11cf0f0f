"""Request validation as Bedrock does it: botocore's service model first, then the documented rules.

1. Model constraints. `botocore.validate.ParamValidator` checks the operation's input shape (types,
   required members, unions, minimum lengths and values); it does not check maxima, patterns or enums,
   so `_ConstraintWalker` adds those from the same shapes. Every failure is reported in the message
   shape AWS's request validation uses ("1 validation error detected: Value 'x' at
   'toolConfig.tools.1.member.toolSpec.name' failed to satisfy constraint: Member must satisfy
   regular expression pattern: [a-zA-Z0-9_-]+"), with 1-based `.member` list paths and sensitive
   values redacted as AWS redacts them.
2. Semantic rules Bedrock applies to Converse bodies, with its exact messages (quoted from errors
   AWS returned; see README "Validation"): blank text, unanswered toolUse, document names, ...

Unknown top-level members are ignored, as AWS's JSON protocol does (a newer SDK may send them);
unknown members deeper down are rejected.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections import OrderedDict
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator, ValidationErrors

from local_stack.bedrock_runtime.exceptions import ValidationException

_REDACTED = "*** Sensitive Data Redacted ***"

MSG_BLANK_TEXT = (
    "The text field in the {block} object at {path} is blank. Add text to the text field, and try again."
)
MSG_TOOL_RESULTS_MISSING = (
    "Expected toolResult blocks at messages.{index}.content for the following Ids: {ids}"
)
MSG_TOOL_RESULTS_EXCESS = (
    "The number of toolResult blocks at messages.{index}.content exceeds the number of toolUse blocks "
    "of previous turn."
)
MSG_DOCUMENT_NAME = (
    "The document file name can only contain alphanumeric characters, whitespace characters, hyphens, "
    "parentheses, and square brackets. The name can't contain more than one consecutive whitespace "
    "character. Check that the file name conforms to these restrictions and retry your request."
)
MSG_TOOL_RESULT_ERROR_EMPTY = (
    "The content field at messages.{index}.content.{block}.toolResult cannot be empty when status value "
    "is error."
)
MSG_TOO_MANY_CACHE_POINTS = (
    "A maximum of 4 cachePoint blocks are allowed per request; this request has {count}."
)
MSG_UNKNOWN_GUARDRAIL = "The guardrail identifier or version provided in the request does not exist."
MAX_CACHE_POINTS = 4  # https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html

# DocumentBlock.name: "alphanumeric characters, whitespace characters, hyphens, parentheses, square
# brackets", no consecutive whitespace (API_runtime_DocumentBlock). Bedrock also accepts underscores
# and only the ASCII space as whitespace (observed by users: vercel/ai#20366, generative-ai-use-cases#1677).
_DOCUMENT_NAME = re.compile(r"(?!.*  )[A-Za-z0-9 _()\[\]-]+")


@functools.cache
def service_model() -> ServiceModel:
    """botocore's bedrock-runtime service model (loaded once; about 30 ms)."""
    return botocore.session.get_session().get_service_model("bedrock-runtime")


def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


def _coral_path(botocore_name: str) -> str:
    """`.messages[0].content[1].text` -> `messages.1.member.content.2.member.text`."""
    name = botocore_name.lstrip(".")
    name = re.sub(r"\[(\d+)\]", lambda m: f".{int(m.group(1)) + 1}.member", name)
    return re.sub(r" \(key: (.*?)\)", r".\1", name)


def _render_value(value: Any, sensitive: bool) -> str:
    if sensitive:
        return f"'{_REDACTED}'"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


class _ConstraintWalker:
    """Checks what ParamValidator leaves out: max lengths/values, patterns, enums."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def walk(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        meta = shape.metadata
        if kind == "structure":
            if not isinstance(value, dict) or getattr(shape, "is_document_type", False):
                return
            for name, member in shape.members.items():  # type: ignore[attr-defined]
                if name in value and value[name] is not None:
                    self.walk(member, value[name], f"{path}.{name}" if path else name, sensitive)
        elif kind == "list" and isinstance(value, list):
            self._max(meta, len(value), value, path, sensitive, "length")
            for i, item in enumerate(value):
                self.walk(shape.member, item, f"{path}.{i + 1}.member", sensitive)  # type: ignore[attr-defined]
        elif kind == "map" and isinstance(value, dict):
            self._max(meta, len(value), value, path, sensitive, "length")
            for key, item in value.items():
                self.walk(shape.key, key, f"{path}.{key}.key", sensitive)  # type: ignore[attr-defined]
                self.walk(shape.value, item, f"{path}.{key}.value", sensitive)  # type: ignore[attr-defined]
        elif kind == "string" and isinstance(value, str):
            self._max(meta, len(value), value, path, sensitive, "length")
            enum = getattr(shape, "enum", None)
            if enum and value not in enum:
                self._fail(value, path, sensitive, f"Member must satisfy enum value set: [{', '.join(enum)}]")
            pattern = meta.get("pattern")
            if pattern and not _compiled(pattern).fullmatch(value):
                self._fail(
                    value, path, sensitive, f"Member must satisfy regular expression pattern: {pattern}"
                )
        elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
            self._max(meta, value, value, path, sensitive, "value")

    def _max(
        self, meta: dict[str, Any], size: float, value: Any, path: str, sensitive: bool, what: str
    ) -> None:
        if "max" in meta and size > meta["max"]:
            self._fail(value, path, sensitive, f"Member must have {what} less than or equal to {meta['max']}")

    def _fail(self, value: Any, path: str, sensitive: bool, constraint: str) -> None:
        self.errors.append(
            f"Value {_render_value(value, sensitive)} at '{path}' failed to satisfy constraint: {constraint}"
        )


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _botocore_messages(report: ValidationErrors, shape: Shape) -> list[str]:
    messages = []
    for error_type, name, extra in report._errors:
        path = _coral_path(name)
        if error_type == "unknown field" and not name:
            continue  # unknown top-level member: ignored, as AWS does
        if error_type == "missing required field":
            where = f"{path}.{extra['required_name']}" if path else extra["required_name"]
            messages.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
        elif error_type == "invalid length":
            # botocore reports the length, not the value.
            messages.append(
                f"Value at '{path}' failed to satisfy constraint: "
                f"Member must have length greater than or equal to {extra['min_allowed']}"
            )
        elif error_type == "invalid range":
            messages.append(
                f"Value {extra['param']} at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {extra['min_allowed']}"
            )
        elif error_type == "invalid type":
            messages.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be of type "
                f"{' or '.join(str(t) for t in extra['valid_types'])}"
            )
        elif error_type in ("more than one input", "empty input"):
            members = ", ".join(extra["members"])
            messages.append(
                f"Value at '{path}' failed to satisfy constraint: Member must set exactly one of: {members}"
            )
        elif error_type == "unknown field":
            messages.append(
                f"Value at '{path}.{extra['unknown_param']}' failed to satisfy constraint: Member is not "
                f"one of: {', '.join(extra['valid_names'])}"
            )
        else:
            messages.append(ValidationErrors._format_error(report, (error_type, name, extra)))
    return messages


MAX_KEY_CHARS = 16_384


class _ValidMessages:
    """Messages that passed validation, by a digest of their `repr` (least recently used evicted
    past `max_entries`). A conversation resends every earlier message on each turn, and whether a
    message is valid does not depend on its neighbours (each check above is of one value against
    its shape), so a later request needs to validate only the messages it adds."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._keys: OrderedDict[bytes, None] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    @staticmethod
    def key(message: Any) -> bytes | None:
        """A 128-bit BLAKE2b digest of the parsed message's `repr` (exact for what a JSON body
        parses to, and for decoded blobs; ~3x cheaper than a sorted json.dumps; a different key
        order only misses), so the memory held is 4,096 small digests whatever the messages.
        Messages over MAX_KEY_CHARS (images, documents) are not remembered: always validated."""
        text = repr(message)
        if len(text) > MAX_KEY_CHARS:
            return None
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def unseen(self, messages: list[Any], keys: list[bytes | None]) -> list[Any]:
        with self._lock:
            return [m for m, k in zip(messages, keys, strict=True) if k is None or k not in self._keys]

    def remember(self, keys: list[bytes | None]) -> None:
        with self._lock:
            for key in keys:
                if key is not None:
                    self._keys[key] = None
                    self._keys.move_to_end(key)
            while len(self._keys) > self._max:
                self._keys.popitem(last=False)


_valid_messages = _ValidMessages()


def validate_input(operation_name: str, params: dict[str, Any]) -> None:
    """Validate `params` (the operation's input members, URI and header members included) against
    botocore's bedrock-runtime model; raises `ValidationException` in AWS's message shape.

    A top-level `messages` list (Converse, ConverseStream) is checked only for the messages not
    seen valid before (`_ValidMessages`); when that finds any error, the whole request is checked
    again so every error names its real place (`messages.57.member...`)."""
    shape = operation(operation_name).input_shape
    messages = params.get("messages")
    if not isinstance(messages, list) or "messages" not in shape.members:  # type: ignore[attr-defined]
        _check_against_model(shape, params)
        return
    keys = [_ValidMessages.key(message) for message in messages]
    unseen = _valid_messages.unseen(messages, keys)
    checked = params if len(unseen) == len(messages) else {**params, "messages": unseen}
    try:
        _check_against_model(shape, checked)
    except ValidationException:
        if checked is params:
            raise
        _check_against_model(shape, params)  # raises with the full request's paths
    _valid_messages.remember(keys)


def _check_against_model(shape: Shape, params: dict[str, Any]) -> None:
    report = ParamValidator().validate(params, shape)
    messages = _botocore_messages(report, shape) if report.has_errors() else []
    walker = _ConstraintWalker()
    walker.walk(shape, params, "", False)
    messages += walker.errors
    if messages:
        count = len(messages)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(messages))


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _check_document(document: Any) -> None:
    name = document.get("name") if isinstance(document, dict) else None
    if isinstance(name, str) and not _DOCUMENT_NAME.fullmatch(name):
        raise ValidationException(MSG_DOCUMENT_NAME)


def check_converse_rules(body: dict[str, Any]) -> None:
    """The rules Bedrock enforces on a Converse/ConverseStream/CountTokens body beyond the model.

    Raises `ValidationException` with Bedrock's own message for: a blank (whitespace-only) text
    block, an assistant toolUse not answered by toolResult blocks in the next user message, more
    toolResult blocks than toolUse blocks, an error toolResult with no content, a document name
    outside Bedrock's character set, more than four cachePoint blocks.
    """
    for j, block in enumerate(body.get("system") or []):
        if isinstance(block, dict) and isinstance(block.get("text"), str) and not block["text"].strip():
            raise ValidationException(MSG_BLANK_TEXT.format(block="SystemContentBlock", path=f"system.{j}"))
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    pending: list[str] = []
    for i, message in enumerate(messages):
        blocks = _blocks(message)
        for j, block in enumerate(blocks):
            if isinstance(block.get("text"), str) and not block["text"].strip():
                raise ValidationException(
                    MSG_BLANK_TEXT.format(block="ContentBlock", path=f"messages.{i}.content.{j}")
                )
            if "document" in block:
                _check_document(block["document"])
            result = block.get("toolResult")
            if isinstance(result, dict):
                for item in result.get("content") or []:
                    if isinstance(item, dict) and "document" in item:
                        _check_document(item["document"])
                if result.get("status") == "error" and not result.get("content"):
                    raise ValidationException(MSG_TOOL_RESULT_ERROR_EMPTY.format(index=i, block=j))
        results = [
            str(b["toolResult"].get("toolUseId", "")) for b in blocks if isinstance(b.get("toolResult"), dict)
        ]
        if message.get("role") == "user":
            if pending:
                missing = [tid for tid in pending if tid not in results]
                if missing:
                    raise ValidationException(
                        MSG_TOOL_RESULTS_MISSING.format(index=i, ids=", ".join(missing))
                    )
            if len(results) > len(pending):
                raise ValidationException(MSG_TOOL_RESULTS_EXCESS.format(index=i))
            pending = []
        else:
            pending = [
                str(b["toolUse"].get("toolUseId", "")) for b in blocks if isinstance(b.get("toolUse"), dict)
            ]
    points = count_cache_points(body)
    if points > MAX_CACHE_POINTS:
        raise ValidationException(MSG_TOO_MANY_CACHE_POINTS.format(count=points))


def count_cache_points(body: dict[str, Any]) -> int:
    """cachePoint blocks in tools, system and messages (where Converse accepts them)."""
    tools = (body.get("toolConfig") or {}).get("tools") or []
    count = sum(1 for t in tools if isinstance(t, dict) and "cachePoint" in t)
    count += sum(1 for b in body.get("system") or [] if isinstance(b, dict) and "cachePoint" in b)
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            count += sum(1 for b in _blocks(message) if "cachePoint" in b)
    return count


def check_guardrail(identifier: str | None) -> None:
    """No guardrail exists locally: a request naming one is answered as AWS answers an unknown one."""
    if identifier:
        raise ValidationException(MSG_UNKNOWN_GUARDRAIL)

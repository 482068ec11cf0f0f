"""What the server needs from a model: an id, a load state, and a stream of generation events."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from local_stack.bedrock_runtime.prompt import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, ModelPrompt

EngineStatus = Literal["loading", "ready", "failed"]
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "malformed_tool_use"]


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: Any
    tool_use_id: str = field(default_factory=lambda: "tooluse_" + uuid.uuid4().hex[:22])


@dataclass(frozen=True)
class Finished:
    """The end of a generation. `input_tokens` excludes the cached prefix: with prompt caching the
    prompt is `input_tokens + cache_read_input_tokens + cache_write_input_tokens`, as Bedrock's
    TokenUsage counts it. The cache fields are None when the request carried no cachePoint (Bedrock
    then leaves them out of the usage)."""

    stop_reason: StopReason
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None


GenerationEvent = TextDelta | ToolCall | Finished


@dataclass(frozen=True)
class ModelDescription:
    model_id: str
    model_name: str
    provider_name: str
    # The embedded model reads only text (images reach it as a one-line description).
    input_modalities: tuple[str, ...] = ("TEXT",)
    output_modalities: tuple[str, ...] = ("TEXT",)


class Engine(Protocol):
    """A model behind the runtime. `generate` yields deltas and tool calls, then one `Finished`.

    `request` is the raw request dict (body plus `modelId` and `stream`), for scripted replies.

    It raises `BedrockError` subclasses (e.g. `ValidationException` for a prompt longer than the
    context) before yielding anything, so the server can still answer with an HTTP error.
    Generation stops soon after `cancel` is set (client gone, injected fault).
    """

    @property
    def description(self) -> ModelDescription: ...

    @property
    def status(self) -> EngineStatus: ...

    @property
    def load_error(self) -> str | None: ...

    def start(self) -> None: ...

    def wait_ready(self, timeout: float) -> bool: ...

    def generate(
        self, prompt: ModelPrompt, request: dict[str, Any], cancel: threading.Event
    ) -> Iterator[GenerationEvent]: ...

    def count_tokens(self, prompt: ModelPrompt) -> int:
        """Input tokens `prompt` costs (CountTokens); the same count `generate` would report."""
        ...

    def close(self) -> None: ...


class TextShaper:
    """Applies stop sequences and pulls `<tool_call>{...}</tool_call>` spans out of streamed text.

    Text that could be the start of a stop sequence or of a tool-call tag is held back until it is
    decided, so a client never sees half a stop sequence.
    """

    def __init__(self, stop_sequences: list[str], parse_tool_calls: bool) -> None:
        self._stops = [s for s in stop_sequences if s]
        self._parse_tools = parse_tool_calls
        self._markers = [*self._stops, *([TOOL_CALL_OPEN] if parse_tool_calls else [])]
        self._pending = ""
        self._in_tool = False
        self.stopped = False
        self.saw_tool_call = False

    def _held_suffix(self, text: str) -> int:
        longest = 0
        for marker in self._markers:
            for size in range(min(len(marker) - 1, len(text)), 0, -1):
                if text.endswith(marker[:size]):
                    longest = max(longest, size)
                    break
        return longest

    def feed(self, text: str) -> list[TextDelta | ToolCall]:
        if self.stopped:
            return []
        self._pending += text
        out: list[TextDelta | ToolCall] = []
        while self._pending and not self.stopped:
            if self._in_tool:
                end = self._pending.find(TOOL_CALL_CLOSE)
                if end < 0:
                    break
                out.append(self._tool_call(self._pending[:end]))
                self._pending = self._pending[end + len(TOOL_CALL_CLOSE) :]
                self._in_tool = False
                continue
            hits = [(self._pending.find(m), m) for m in self._markers]
            hits = [(i, m) for i, m in hits if i >= 0]
            if not hits:
                keep = self._held_suffix(self._pending)
                emit = self._pending[: len(self._pending) - keep]
                if emit:
                    out.append(TextDelta(emit))
                self._pending = self._pending[len(emit) :]
                break
            index, marker = min(hits, key=lambda h: h[0])
            if index:
                out.append(TextDelta(self._pending[:index]))
            self._pending = self._pending[index + len(marker) :]
            if marker == TOOL_CALL_OPEN and self._parse_tools:
                self._in_tool = True
            else:
                self.stopped = True
                self._pending = ""
        return out

    def _tool_call(self, raw: str) -> TextDelta | ToolCall:
        import json

        try:
            parsed = json.loads(raw.strip())
        except json.JSONDecodeError:
            return TextDelta(TOOL_CALL_OPEN + raw + TOOL_CALL_CLOSE)
        if isinstance(parsed, list) and parsed:
            parsed = parsed[0]
        if not isinstance(parsed, dict) or not isinstance(parsed.get("name"), str):
            return TextDelta(TOOL_CALL_OPEN + raw + TOOL_CALL_CLOSE)
        self.saw_tool_call = True
        arguments = parsed.get("arguments", parsed.get("input", {}))
        return ToolCall(name=parsed["name"], input=arguments if isinstance(arguments, dict) else {})

    def flush(self) -> list[TextDelta | ToolCall]:
        """At the end of generation: release held text (an unterminated tool call becomes text)."""
        if self.stopped or not self._pending:
            return []
        text = (TOOL_CALL_OPEN if self._in_tool else "") + self._pending
        self._pending = ""
        if self._in_tool:
            self._in_tool = False
            call = self._tool_call(text[len(TOOL_CALL_OPEN) :])
            return [call]
        return [TextDelta(text)]

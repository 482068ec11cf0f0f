"""A deterministic engine for fast tests: replies by script, counts whitespace-separated words."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from local_stack.bedrock_runtime.engine import (
    EngineStatus,
    Finished,
    GenerationEvent,
    ModelDescription,
    StopReason,
    TextDelta,
    ToolCall,
)
from local_stack.bedrock_runtime.errors import ValidationError
from local_stack.bedrock_runtime.prompt import MSG_INPUT_TOO_LONG, ModelPrompt


@dataclass(frozen=True)
class ScriptedToolCall:
    """Return this (alone or in a list after some text) from a reply script to make a tool call."""

    name: str
    input: dict[str, Any]
    tool_use_id: str | None = None


ScriptedReply = str | ScriptedToolCall | Sequence[str | ScriptedToolCall]
ReplyScript = Callable[[dict[str, Any]], ScriptedReply]


def _word_tokens(text: str, words_per_token: int) -> list[str]:
    """Split text into tokens of `words_per_token` words, keeping the whitespace in front of each."""
    words = re.findall(r"\s*\S+", text)
    trailing = text[len("".join(words)) :]
    tokens = ["".join(words[i : i + words_per_token]) for i in range(0, len(words), words_per_token)]
    if trailing and tokens:
        tokens[-1] += trailing
    return tokens


class ScriptedEngine:
    """Replies `"echo: <last user text>"` by default, or what `reply` says.

    `reply` is a string or a callable given the request dict (the parsed body plus `modelId`,
    `stream`, and `prompt`: the rendered `ModelPrompt`). It may return text, a `ScriptedToolCall`,
    or a list mixing both. `token_delay` seconds are slept before each emitted token.
    """

    def __init__(
        self,
        model_id: str = "local.scripted",
        reply: str | ReplyScript | None = None,
        token_delay: float = 0.0,
        words_per_token: int = 1,
        context_tokens: int = 8192,
    ) -> None:
        self._description = ModelDescription(
            model_id=model_id, model_name="Scripted test model", provider_name="Local"
        )
        self.reply = reply
        self.token_delay = token_delay
        self.words_per_token = max(1, words_per_token)
        self.context_tokens = context_tokens

    @property
    def description(self) -> ModelDescription:
        return self._description

    @property
    def status(self) -> EngineStatus:
        return "ready"

    @property
    def load_error(self) -> str | None:
        return None

    def start(self) -> None:
        return None

    def wait_ready(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        return None

    def _script(self, prompt: ModelPrompt, request: dict[str, Any]) -> list[str | ScriptedToolCall]:
        if self.reply is None:
            result: ScriptedReply = f"echo: {prompt.last_user_text}"
        elif isinstance(self.reply, str):
            result = self.reply
        else:
            result = self.reply({**request, "prompt": prompt})
        if isinstance(result, str | ScriptedToolCall):
            return [result]
        return list(result)

    def generate(
        self, prompt: ModelPrompt, request: dict[str, Any], cancel: threading.Event
    ) -> Iterator[GenerationEvent]:
        input_tokens = len(prompt.all_text().split())
        if input_tokens > self.context_tokens:
            raise ValidationError(MSG_INPUT_TOO_LONG)
        parts = self._script(prompt, request)
        return self._emit(parts, prompt, input_tokens, cancel)

    def _emit(
        self,
        parts: list[str | ScriptedToolCall],
        prompt: ModelPrompt,
        input_tokens: int,
        cancel: threading.Event,
    ) -> Iterator[GenerationEvent]:
        budget = prompt.max_tokens if prompt.max_tokens is not None else 1 << 30
        produced = 0
        stop_reason: StopReason = "end_turn"
        for part in parts:
            if isinstance(part, ScriptedToolCall):
                produced += len(json.dumps(part.input).split()) + 1
                kwargs = {"tool_use_id": part.tool_use_id} if part.tool_use_id else {}
                yield ToolCall(name=part.name, input=part.input, **kwargs)
                stop_reason = "tool_use"
                continue
            text = part
            hit = [(text.find(s), s) for s in prompt.stop_sequences if s in text]
            if hit:
                text = text[: min(hit)[0]]
            for token in _word_tokens(text, self.words_per_token):
                if cancel.is_set():
                    return
                if produced >= budget:
                    yield Finished("max_tokens", input_tokens, produced)
                    return
                if self.token_delay:
                    time.sleep(self.token_delay)
                produced += len(token.split())
                yield TextDelta(token)
            if hit:
                yield Finished("stop_sequence", input_tokens, produced)
                return
        yield Finished(stop_reason, input_tokens, produced)

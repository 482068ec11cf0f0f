"""A deterministic engine for fast tests: replies by script, counts whitespace-separated words."""

from __future__ import annotations

import functools
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
from local_stack.bedrock_runtime.exceptions import ValidationException
from local_stack.bedrock_runtime.prompt import MSG_INPUT_TOO_LONG, ModelPrompt
from local_stack.bedrock_runtime.prompt_cache import PrefixCache
from local_stack.bedrock_runtime.structured import example_instance

# `#call NAME {json input}` on a line of the latest user text: the scripted model calls that tool.
_CALL_CUE = re.compile(r"^[ \t]*#call[ \t]+([A-Za-z0-9_-]{1,64})[ \t]*(.*?)[ \t]*$", re.MULTILINE)


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


def cued_tool_calls(prompt: ModelPrompt) -> list[ScriptedToolCall]:
    """The `#call NAME {json}` lines of the latest user text that name a tool of the request.

    The input is the JSON object after the name (`{}` when absent); a line whose JSON does not parse
    to an object is a ValidationException, so a typo in a test fails loudly.
    """
    names = {t.name for t in prompt.tools}
    calls = []
    for name, raw in _CALL_CUE.findall(prompt.latest_user_plain_text):
        if name not in names:
            continue
        try:
            value = json.loads(raw) if raw else {}
        except json.JSONDecodeError as exc:
            raise ValidationException(f"The #call {name} input is not valid JSON: {exc.msg}.") from exc
        if not isinstance(value, dict):
            raise ValidationException(f"The #call {name} input must be a JSON object.")
        calls.append(ScriptedToolCall(name, value))
    return calls


class ScriptedEngine:
    """A deterministic test model; what it answers, in order of precedence:

    1. `reply`, when given: a string or a callable given the request dict (the parsed body plus
       `modelId`, `stream`, and `prompt`: the rendered `ModelPrompt`) returning text, a
       `ScriptedToolCall`, or a list mixing both.
    2. A toolUse for each `#call NAME {json}` line in the latest user text (stopReason tool_use).
    3. toolChoice `tool` / `any`: a toolUse of the named (or first) tool with an input built from
       its inputSchema.
    4. After toolResult blocks: `result: <tool result text or JSON>`, one line per result.
    5. With outputConfig's JSON schema: a schema-valid JSON document.
    6. Otherwise `echo: <last user text>`.

    Tokens are whitespace-separated words; `token_delay` seconds are slept before each one. With
    cachePoint blocks, cache read/write tokens come from a `PrefixCache` (deterministic).
    """

    def __init__(
        self,
        model_id: str = "local.scripted",
        reply: str | ReplyScript | None = None,
        token_delay: float = 0.0,
        words_per_token: int = 1,
        context_tokens: int = 8192,
    ) -> None:
        # A test double for any model: it takes images (described as text) so image paths stay testable.
        self._description = ModelDescription(
            model_id=model_id,
            model_name="Scripted test model",
            provider_name="Local",
            input_modalities=("TEXT", "IMAGE"),
        )
        self.reply = reply
        self.token_delay = token_delay
        self.words_per_token = max(1, words_per_token)
        self.context_tokens = context_tokens
        self.prompt_cache = PrefixCache()

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

    def count_tokens(self, prompt: ModelPrompt) -> int:
        return len(prompt.all_text().split())

    @staticmethod
    def _default_reply(prompt: ModelPrompt) -> ScriptedReply:
        calls = cued_tool_calls(prompt) if prompt.tools else []
        if calls:
            return calls
        if prompt.tool_choice in ("tool", "any"):
            spec = next(
                t for t in prompt.tools if prompt.tool_choice == "any" or t.name == prompt.forced_tool
            )
            return ScriptedToolCall(
                spec.name, example_instance(spec.input_schema, prompt.latest_user_plain_text)
            )
        if prompt.latest_tool_results:
            return "\n".join(f"result: {text}" for text in prompt.latest_tool_results)
        if prompt.output_schema is not None:
            return json.dumps(example_instance(prompt.output_schema, prompt.latest_user_plain_text))
        return f"echo: {prompt.last_user_text}"

    def _script(self, prompt: ModelPrompt, request: dict[str, Any]) -> list[str | ScriptedToolCall]:
        if self.reply is None:
            result: ScriptedReply = self._default_reply(prompt)
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
        input_tokens = self.count_tokens(prompt)
        if input_tokens > self.context_tokens:
            raise ValidationException(MSG_INPUT_TOO_LONG)
        parts = self._script(prompt, request)
        usage = self.prompt_cache.use(
            prompt.cache_points,
            lambda p: min(input_tokens, len(p.prefix_text.split())),
            prompt.cache_lookback,
        )
        finish = functools.partial(
            Finished,
            input_tokens=input_tokens - usage.read_tokens - usage.write_tokens,
            cache_read_input_tokens=usage.read_tokens if prompt.cache_points else None,
            cache_write_input_tokens=usage.write_tokens if prompt.cache_points else None,
        )
        return self._emit(parts, prompt, finish, cancel)

    def _emit(
        self,
        parts: list[str | ScriptedToolCall],
        prompt: ModelPrompt,
        finish: Callable[..., Finished],
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
                    yield finish("max_tokens", output_tokens=produced)
                    return
                if self.token_delay:
                    time.sleep(self.token_delay)
                produced += len(token.split())
                yield TextDelta(token)
            if hit:
                yield finish("stop_sequence", output_tokens=produced)
                return
        yield finish(stop_reason, output_tokens=produced)

"""How the embedded engine turns llama.cpp's stream into Bedrock events, with a stand-in llama server
(no model needed): stop sequences across chunks, tool-call tags, token counts, error mapping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from local_stack.bedrock_runtime import EmbeddedEngine
from local_stack.bedrock_runtime.engine import Finished, TextDelta, TextShaper, ToolCall
from local_stack.bedrock_runtime.exceptions import ValidationException
from local_stack.bedrock_runtime.prompt import build_prompt


class StandInLlama:
    """Replays chunks shaped like xllamacpp's streaming chat completions; stops when told to."""

    def __init__(self, pieces: list[str], finish: str = "stop", error: dict[str, Any] | None = None) -> None:
        self.pieces = pieces
        self.finish = finish
        self.error = error
        self.sent = 0
        self.last_request: dict[str, Any] = {}

    def handle_chat_completions(self, request: dict[str, Any], callback: Callable[[Any], bool]) -> None:
        self.last_request = request
        if self.error is not None:
            callback({"error": self.error})
            return
        for n, piece in enumerate(self.pieces, start=1):
            self.sent = n
            time.sleep(0.005)  # a token takes time; lets the consumer react as with a real model
            timings = {"prompt_n": 20, "cache_n": 5, "predicted_n": n}
            if callback({"choices": [{"index": 0, "delta": {"content": piece}}], "timings": timings}):
                return
        callback({"choices": [{"index": 0, "finish_reason": self.finish, "delta": {}}]})
        usage = {"prompt_tokens": 25, "completion_tokens": len(self.pieces)}
        callback({"choices": [], "usage": usage})


def _engine(llama: StandInLlama) -> EmbeddedEngine:
    engine = EmbeddedEngine(model_path="/nonexistent/model.gguf", model_id="local.stand-in")
    engine.attach(llama)
    return engine


def _run(engine: EmbeddedEngine, body: dict[str, Any]) -> list[Any]:
    prompt = build_prompt("local.stand-in", body)
    return list(engine.generate(prompt, {}, threading.Event()))


def _body(**extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [{"text": "hi"}]}], **extra}


def test_stop_sequence_split_across_tokens_stops_generation() -> None:
    llama = StandInLlama(["Hello", " wor", "ld E", "ND and", " more", " text", " here"])
    events = _run(_engine(llama), _body(inferenceConfig={"stopSequences": ["END"]}))

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello world "
    assert events[-1] == Finished("stop_sequence", input_tokens=25, output_tokens=4)
    assert llama.sent < len(llama.pieces)  # llama.cpp was told to stop early
    assert "stop" not in llama.last_request  # the runtime applies stop sequences itself


def test_usage_and_finish_reasons_come_from_llama_counts() -> None:
    events = _run(
        _engine(StandInLlama(["a", "b", "c"], finish="length")), _body(inferenceConfig={"maxTokens": 3})
    )
    assert events[-1] == Finished("max_tokens", input_tokens=25, output_tokens=3)
    events = _run(_engine(StandInLlama(["a"])), _body())
    assert events[-1] == Finished("end_turn", input_tokens=25, output_tokens=1)


def test_tool_call_tags_become_tool_use() -> None:
    pieces = [
        "Checking. <tool",
        '_call>{"name": "get_weather", ',
        '"arguments": {"city": "Oslo"}}</tool_call>',
    ]
    tools = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}
    llama = StandInLlama(pieces)
    events = _run(_engine(llama), _body(toolConfig=tools))

    assert events[0] == TextDelta("Checking. ")
    call = events[1]
    assert isinstance(call, ToolCall) and (call.name, call.input) == ("get_weather", {"city": "Oslo"})
    assert events[-1].stop_reason == "tool_use"
    assert "get_weather" in llama.last_request["messages"][0]["content"]  # tools listed in system


def test_forced_tool_choice_sends_a_json_schema_and_parses_the_answer() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = {
        "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": schema}}}],
        "toolChoice": {"tool": {"name": "get_weather"}},
    }
    llama = StandInLlama(['{"city":', ' "Oslo"}'])
    events = _run(_engine(llama), _body(toolConfig=tools))

    assert llama.last_request["json_schema"] == schema
    assert isinstance(events[0], ToolCall) and events[0].input == {"city": "Oslo"}
    assert events[-1].stop_reason == "tool_use"
    truncated = _run(_engine(StandInLlama(['{"city":'])), _body(toolConfig=tools))
    assert truncated[-1].stop_reason == "malformed_tool_use"


def test_context_overflow_maps_to_validation_error() -> None:
    error = {"code": 400, "type": "exceed_context_size_error", "message": "request (5000 tokens) exceeds"}
    with pytest.raises(ValidationException, match="Input is too long"):
        _run(_engine(StandInLlama([], error=error)), _body())


def test_shaper_releases_text_that_only_looked_like_a_marker() -> None:
    shaper = TextShaper(["STOP"], parse_tool_calls=True)
    out = shaper.feed("a ST") + shaper.feed("ART <tool") + shaper.feed("box") + shaper.flush()
    assert "".join(e.text for e in out if isinstance(e, TextDelta)) == "a START <toolbox"
    assert not shaper.stopped

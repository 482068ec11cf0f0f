"""Converse / ConverseStream wire serialising: generation events -> response JSON or stream events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from local_stack.bedrock_runtime.engine import Finished, GenerationEvent, TextDelta, ToolCall
from local_stack.bedrock_runtime.exceptions import BedrockError


def usage(event: Finished) -> dict[str, int]:
    """Bedrock's TokenUsage. With prompt caching `totalTokens` counts the cached tokens too, and the
    cache fields appear only when the request carried a cachePoint (as AWS reports them)."""
    out = {"inputTokens": event.input_tokens, "outputTokens": event.output_tokens}
    total = event.input_tokens + event.output_tokens
    if event.cache_read_input_tokens is not None:
        out["cacheReadInputTokens"] = event.cache_read_input_tokens
        out["cacheWriteInputTokens"] = event.cache_write_input_tokens or 0
        total += event.cache_read_input_tokens + (event.cache_write_input_tokens or 0)
    out["totalTokens"] = total
    return out


def elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class StreamEncoder:
    """Turns generation events into ConverseStream events, in Bedrock's order."""

    def __init__(self) -> None:
        self.index = 0
        self.text_open = False

    def events(self, event: GenerationEvent, started: float) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        if isinstance(event, TextDelta):
            if event.text:
                self.text_open = True
                out.append(
                    ("contentBlockDelta", {"contentBlockIndex": self.index, "delta": {"text": event.text}})
                )
            return out
        if self.text_open:
            out.append(("contentBlockStop", {"contentBlockIndex": self.index}))
            self.index += 1
            self.text_open = False
        if isinstance(event, ToolCall):
            start = {"toolUse": {"toolUseId": event.tool_use_id, "name": event.name}}
            delta = {"toolUse": {"input": json.dumps(event.input)}}
            out.append(("contentBlockStart", {"contentBlockIndex": self.index, "start": start}))
            out.append(("contentBlockDelta", {"contentBlockIndex": self.index, "delta": delta}))
            out.append(("contentBlockStop", {"contentBlockIndex": self.index}))
            self.index += 1
        elif isinstance(event, Finished):
            out.append(("messageStop", {"stopReason": event.stop_reason}))
            out.append(("metadata", {"usage": usage(event), "metrics": {"latencyMs": elapsed_ms(started)}}))
        return out


def converse_response(events: Iterable[GenerationEvent], started: float) -> dict[str, Any]:
    """The Converse response body for a whole generation."""
    content: list[dict[str, Any]] = []
    finished: Finished | None = None
    for event in events:
        if isinstance(event, TextDelta):
            if content and "text" in content[-1]:
                content[-1]["text"] += event.text
            elif event.text:
                content.append({"text": event.text})
        elif isinstance(event, ToolCall):
            content.append(
                {"toolUse": {"toolUseId": event.tool_use_id, "name": event.name, "input": event.input}}
            )
        elif isinstance(event, Finished):
            finished = event
    if finished is None:
        raise BedrockError("The model stopped without finishing its response.")
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": finished.stop_reason,
        "usage": usage(finished),
        "metrics": {"latencyMs": elapsed_ms(started)},
    }

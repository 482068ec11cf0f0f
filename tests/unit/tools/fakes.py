"""A scripted tool-calling model for the agent loop's tests (the ChatModel port)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lambda_chat.domain.ports import ModelRequest
from lambda_chat.tools.model_stream import ToolModelChunk, ToolUseDelta, ToolUseStart, ToolUseStop


def text(value: str) -> ToolModelChunk:
    return ToolModelChunk(text=value)


def tool_use(
    index: int, tool_use_id: str, name: str, value: Any, *, pieces: int = 3, stop: bool = True
) -> list[ToolModelChunk]:
    """A toolUse block as ConverseStream sends it: start, the input JSON in pieces, stop."""
    raw = value if isinstance(value, str) else json.dumps(value)
    size = max(1, -(-len(raw) // pieces))
    chunks = [ToolModelChunk(tool_use=ToolUseStart(index, tool_use_id, name))]
    chunks += [
        ToolModelChunk(tool_use=ToolUseDelta(index, raw[i : i + size])) for i in range(0, len(raw), size)
    ]
    if stop:
        chunks.append(ToolModelChunk(tool_use=ToolUseStop(index)))
    return chunks


def end(stop_reason: str, input_tokens: int = 10, output_tokens: int = 5) -> list[ToolModelChunk]:
    return [
        ToolModelChunk(stop_reason=stop_reason),
        ToolModelChunk(input_tokens=input_tokens, output_tokens=output_tokens),
    ]


Step = list[ToolModelChunk] | Exception | Callable[[ModelRequest], list[ToolModelChunk]]


@dataclass
class ScriptedToolModel:
    """Answers each call with the next scripted step (the last one repeats). A step may be an
    exception (raised before any chunk) or a function of the request. Records every request and
    whether each stream was closed."""

    steps: list[Step]
    requests: list[ModelRequest] = field(default_factory=list)
    closed: list[bool] = field(default_factory=list)

    def stream(self, request: ModelRequest) -> Iterator[ToolModelChunk]:
        self.requests.append(request)
        step = self.steps[min(len(self.requests) - 1, len(self.steps) - 1)]
        position = len(self.closed)
        self.closed.append(False)
        try:
            if isinstance(step, Exception):
                raise step
            chunks = step(request) if callable(step) else step
            yield from chunks
        finally:
            self.closed[position] = True

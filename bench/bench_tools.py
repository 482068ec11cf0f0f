"""Tool-use benchmarks (issue 13).

    python -m bench tools

1. calculator: the slowest expressions its limits still allow (ms each).
2. Agent loop overhead per tool step (scripted model, a no-op tool): ms per step.
3. Four 100 ms tools in one step: step wall time (concurrent) against the sum of their times.
4. search_documents over a user's cached documents (in-memory storage): ms per search.
5. One MCP tool call to a server on 127.0.0.1 (a new session per call): ms per call.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import replace
from typing import Any

from lambda_chat.domain.ports import ChatMessage, ModelRequest
from lambda_chat.tools.agent_loop import AgentConfig, AgentRun, run_to_completion
from lambda_chat.tools.builtins import evaluate_expression
from lambda_chat.tools.document_search import DocumentSearch
from lambda_chat.tools.registry import Tool, ToolCall, ToolContext, ToolRegistry

EMPTY = {"type": "object", "properties": {}}
CONTEXT = ToolContext(user_id="bench")


def timed(fn: Any, repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def bench_calculator() -> None:
    expressions = [
        "9 ** 3150",  # just under the 10,000-bit limit
        "factorial(1000)",
        "(3 ** 4000) * (7 ** 1000) // 11",
        "+".join(["123456789 * 987654321"] * 20),
        "sqrt(" * 80 + "2" + ")" * 80,
    ]
    print("| expression (allowed, worst cases) | ms |\n|---|---:|")
    for expression in expressions:
        shown = expression[:40] + ("…" if len(expression) > 40 else "")
        print(f"| `{shown}` | {timed(lambda e=expression: evaluate_expression(e)):.2f} |")


class LoopModel:
    """Calls the tool `steps` times, then answers."""

    def __init__(self, steps: int, tool: str, calls_per_step: int = 1) -> None:
        self.steps, self.tool, self.per_step, self.calls = steps, tool, calls_per_step, 0

    def stream(self, request: ModelRequest) -> Any:
        from lambda_chat.tools.model_stream import ToolModelChunk, ToolUseStart, ToolUseStop

        self.calls += 1
        if self.calls > self.steps:
            yield ToolModelChunk(text="done", stop_reason="end_turn", input_tokens=1, output_tokens=1)
            return
        for i in range(self.per_step):
            yield ToolModelChunk(tool_use=ToolUseStart(i, f"t{self.calls}-{i}", self.tool))
            yield ToolModelChunk(tool_use=ToolUseStop(i))
        yield ToolModelChunk(stop_reason="tool_use")


def tool(name: str, delay: float = 0.0) -> Tool:
    async def run(arguments: dict[str, Any], context: ToolContext) -> str:
        if delay:
            await asyncio.sleep(delay)
        return "ok"

    return Tool(name=name, description=name, input_schema=EMPTY, run=run)


def run_loop(registry: ToolRegistry, model: LoopModel, steps: int) -> None:
    request = ModelRequest(model_id="m", messages=[ChatMessage.text("user", "go")])
    run = AgentRun(
        model, registry, request, CONTEXT, enabled=registry.names(), config=AgentConfig(max_steps=steps + 1)
    )
    run_to_completion(run)


def bench_loop() -> None:
    registry = ToolRegistry([tool("noop"), tool("slow", 0.1)])
    steps = 20
    per_step = timed(lambda: run_loop(registry, LoopModel(steps, "noop"), steps), repeats=3) / steps
    concurrent = timed(lambda: run_loop(registry, LoopModel(1, "slow", calls_per_step=4), 1), repeats=3)
    print("\n| agent loop | figure |\n|---|---:|")
    print(f"| overhead per tool step (no-op tool, no model latency) | {per_step:.2f} ms |")
    print(f"| one step with four 100 ms tools (sequential would be 400 ms) | {concurrent:.0f} ms |")


def bench_search() -> None:
    from tests.unit.attachments.fakes import Uploads  # in-memory storage shared with the tests

    uploads = Uploads()
    paragraph = "The quarterly report covers revenue, staffing, logistics and the facilities plan. " * 6
    for number in range(20):
        text = "\n\n".join(f"Section {number}.{i}: {paragraph}" for i in range(100))  # ~50k chars
        record = uploads.add("bench", f"doc{number}.txt", text.encode(), "txt")
        uploads.records.records[("bench", record.upload_id)] = replace(record, status="ready")

    class Listing:
        def ready_documents(self, user_id: str, limit: int) -> list[Any]:
            return [r for (u, _), r in uploads.records.records.items() if u == user_id][:limit]

    registry = ToolRegistry([_search_tool(DocumentSearch(uploads.library, Listing()))])

    def search() -> None:
        asyncio.run(
            registry.run(ToolCall("s", "search_documents", {"query": "facilities staffing"}), CONTEXT)
        )

    search()  # fills the text cache
    print("\n| search_documents | ms |\n|---|---:|")
    print(f"| 20 cached documents of ~50k characters each | {timed(search, repeats=3):.0f} |")


def _search_tool(search: DocumentSearch) -> Tool:
    from lambda_chat.tools.document_search import search_documents_tool

    return search_documents_tool(search)


def bench_mcp() -> None:
    from lambda_chat.tools.mcp_servers import McpServerConfig, McpToolSource
    from tests.integration.tools.conftest import start_mcp

    running = start_mcp()
    try:
        source = McpToolSource([McpServerConfig(name="demo", url=running.url)])
        started = time.perf_counter()
        source.discover()
        discovery = (time.perf_counter() - started) * 1000
        registry = ToolRegistry(source.current()[0])

        def call() -> None:
            asyncio.run(registry.run(ToolCall("m", "demo__add", {"a": 1, "b": 2}), CONTEXT))

        per_call = timed(call, repeats=10)
    finally:
        running.stop()
    print("\n| MCP (127.0.0.1, streamable HTTP) | ms |\n|---|---:|")
    print(f"| discovery (tools/list) | {discovery:.0f} |\n| one tool call (new session) | {per_call:.0f} |")


def main() -> None:
    bench_calculator()
    bench_loop()
    bench_search()
    bench_mcp()


if __name__ == "__main__":
    main()

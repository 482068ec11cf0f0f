"""Benchmark the local Bedrock runtime against xllamacpp called directly, in the same run.

Both paths drive the same loaded model with the identical llama.cpp request (the one the runtime
builds), so the difference is what the runtime adds: HTTP (hypercorn), event-stream framing,
validation, boto3 parsing. A second table shows prompt caching on the embedded model: time to
first token for a long shared prefix behind a cachePoint, evaluated (new prefix) vs reused by
llama.cpp (same prefix), with the cache tokens the runtime reports.

Run: `make bench` (all benchmarks) or `.venv/bin/python -m bench runtime`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import markdown_table

PROMPT = "Write a long story about a dragon who learns to bake bread."
SYSTEM = "You are a helpful assistant."


@dataclass
class Run:
    ttft_s: float
    gen_tokens_per_s: float
    e2e_tokens_per_s: float
    output_tokens: int


def _through_runtime(client: Any, model_id: str, max_tokens: int) -> Run:
    started = time.perf_counter()
    response = client.converse_stream(
        modelId=model_id,
        system=[{"text": SYSTEM}],
        messages=[{"role": "user", "content": [{"text": PROMPT}]}],
        inferenceConfig={"temperature": 0, "maxTokens": max_tokens},
    )
    first = last = 0.0
    output_tokens = 0
    for event in response["stream"]:
        if "contentBlockDelta" in event:
            last = time.perf_counter()
            first = first or last
        elif "metadata" in event:
            output_tokens = event["metadata"]["usage"]["outputTokens"]
    return _run(started, first, last, output_tokens)


def _direct(llama: Any, body: dict[str, Any]) -> Run:
    marks: dict[str, float] = {}
    usage: dict[str, int] = {}

    def on_chunk(chunk: dict[str, Any]) -> bool:
        for choice in chunk.get("choices") or []:
            if (choice.get("delta") or {}).get("content"):
                marks["last"] = time.perf_counter()
                marks.setdefault("first", marks["last"])
        usage.update(chunk.get("usage") or {})
        return False

    started = time.perf_counter()
    llama.handle_chat_completions(body, on_chunk)
    return _run(started, marks.get("first", 0.0), marks.get("last", 0.0), usage.get("completion_tokens", 0))


def _run(started: float, first: float, last: float, output_tokens: int) -> Run:
    gen_window = max(last - first, 1e-9)
    return Run(
        ttft_s=first - started,
        # Tokens after the first, over the time between first and last token.
        gen_tokens_per_s=max(output_tokens - 1, 0) / gen_window,
        e2e_tokens_per_s=output_tokens / max(last - started, 1e-9),
        output_tokens=output_tokens,
    )


LONG_SYSTEM = " ".join(
    f"Rule {i}: answer politely, cite the catalogue section, and keep replies under fifty words."
    for i in range(40)
)


def _ttft_with_cache_point(
    client: Any, model_id: str, system: str, question: str
) -> tuple[float, dict[str, int]]:
    """(seconds to the first text delta, usage) of one ConverseStream with a cachePoint after `system`."""
    started = time.perf_counter()
    response = client.converse_stream(
        modelId=model_id,
        system=[{"text": system}, {"cachePoint": {"type": "default"}}],
        messages=[{"role": "user", "content": [{"text": question}]}],
        inferenceConfig={"temperature": 0, "maxTokens": 8},
    )
    first = 0.0
    usage: dict[str, int] = {}
    for event in response["stream"]:
        if "contentBlockDelta" in event and not first:
            first = time.perf_counter()
        elif "metadata" in event:
            usage = event["metadata"]["usage"]
    return first - started, usage


def _prompt_reuse_rows(client: Any, model_id: str, runs: int) -> list[tuple[str, str, str, str]]:
    cold: list[float] = []
    warm: list[float] = []
    usages: dict[str, dict[str, int]] = {}
    for i in range(runs):
        # A new prefix each time (nothing to reuse), then the same prefix with another question.
        system = f"Session {i}. " + LONG_SYSTEM
        seconds, usages["cold"] = _ttft_with_cache_point(client, model_id, system, "Where is my order?")
        cold.append(seconds * 1000)
        seconds, usages["warm"] = _ttft_with_cache_point(client, model_id, system, "Can I return a gift?")
        warm.append(seconds * 1000)

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"

    def tokens(usage: dict[str, int]) -> str:
        return (
            f"read {usage.get('cacheReadInputTokens', 0)}, write {usage.get('cacheWriteInputTokens', 0)}, "
            f"input {usage.get('inputTokens', 0)}"
        )

    return [
        ("new prefix (evaluated)", cell(cold), tokens(usages["cold"]), ""),
        (
            "same prefix (reused by llama.cpp)",
            cell(warm),
            tokens(usages["warm"]),
            f"{statistics.median(cold) / max(statistics.median(warm), 1e-9):.1f}x faster",
        ),
    ]


def _median(runs: list[Run], pick: Callable[[Run], float]) -> float:
    return statistics.median(pick(r) for r in runs)


def _cell(runs: list[Run], pick: Callable[[Run], float], scale: float = 1.0, unit: str = "") -> str:
    """Median with the min-max range: on a shared machine the spread matters as much."""
    values = [pick(r) * scale for r in runs]
    return f"{statistics.median(values):.1f}{unit} ({min(values):.0f}-{max(values):.0f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="0 = the runtime's default")
    # `python -m bench` calls main() from `python -c`: only parse flags when given explicitly.
    args = parser.parse_args(argv if argv is not None else [])

    import boto3

    from local_stack.bedrock_runtime import EmbeddedEngine, serve_in_thread
    from local_stack.bedrock_runtime.prompt import build_prompt

    engine = EmbeddedEngine(ctx_size=2048, parallel=1, threads=args.threads)
    requested = time.perf_counter()
    runtime = serve_in_thread([engine])
    if not runtime.wait_ready(timeout=300):
        raise SystemExit(f"model failed to load: {engine.load_error}")
    ready_after = time.perf_counter() - requested
    model_id = engine.description.model_id
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=runtime.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    body = {
        "system": [{"text": SYSTEM}],
        "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
        "inferenceConfig": {"temperature": 0, "maxTokens": args.max_tokens},
    }
    llama_request = engine.chat_request(build_prompt(model_id, body))
    llama = engine.llama_server

    try:
        # Warm both paths (first-call allocations, prompt cache), then alternate.
        _through_runtime(client, model_id, args.max_tokens)
        _direct(llama, llama_request)
        via_runtime: list[Run] = []
        direct: list[Run] = []
        for _ in range(args.runs):
            via_runtime.append(_through_runtime(client, model_id, args.max_tokens))
            direct.append(_direct(llama, llama_request))
        reuse_rows = _prompt_reuse_rows(client, model_id, max(3, args.runs // 2))
    finally:
        runtime.stop()

    def overhead(pick: Callable[[Run], float], lower_is_better: bool) -> str:
        a, b = _median(via_runtime, pick), _median(direct, pick)
        pct = (a - b) / b * 100 if lower_is_better else (b - a) / b * 100
        return f"{pct:+.1f}%"

    rows = [
        ("model load (xllamacpp.Server)", f"{engine.load_seconds or 0:.2f} s", "", ""),
        ("runtime ready (serve -> /health ready)", f"{ready_after:.2f} s", "", ""),
        (
            "time to first token",
            _cell(via_runtime, lambda r: r.ttft_s, 1000, " ms"),
            _cell(direct, lambda r: r.ttft_s, 1000, " ms"),
            overhead(lambda r: r.ttft_s, True),
        ),
        (
            "generation tokens/s",
            _cell(via_runtime, lambda r: r.gen_tokens_per_s),
            _cell(direct, lambda r: r.gen_tokens_per_s),
            overhead(lambda r: r.gen_tokens_per_s, False),
        ),
        (
            "end-to-end tokens/s",
            _cell(via_runtime, lambda r: r.e2e_tokens_per_s),
            _cell(direct, lambda r: r.e2e_tokens_per_s),
            overhead(lambda r: r.e2e_tokens_per_s, False),
        ),
        ("output tokens per run", str(via_runtime[0].output_tokens), str(direct[0].output_tokens), ""),
    ]
    print(
        f"\nLocal Bedrock runtime benchmark: {model_id}, threads={engine.threads}, "
        f"{args.runs} interleaved runs, median (min-max), maxTokens={args.max_tokens}, "
        f"cpus={os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}"
    )
    print(markdown_table(("metric", "ConverseStream (boto3)", "xllamacpp direct", "runtime overhead"), rows))
    print(
        f"\nPrompt caching on the embedded model: ~{len(LONG_SYSTEM.split())}-word system prompt + cachePoint"
    )
    print(markdown_table(("request", "time to first token", "usage (tokens)", ""), reuse_rows))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

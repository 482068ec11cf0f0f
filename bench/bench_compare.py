"""Comparison multiplexer benchmarks (domain level, no servers): what running lanes concurrently
costs and saves, and how fast closing the stream stops them.

    python -m bench compare

1. Wall time of a comparison whose lanes each stream 100 chunks 2 ms apart (a 500 tokens/s model),
   against one lane alone and against running the lanes one after another. Goal: 2-4 lanes take
   at most 1.2x one lane.
2. Multiplexer cost per event: lanes that stream as fast as they can, against iterating the same
   chunks directly.
3. Close latency: the time `close()` takes with every lane mid-stream (chunks 10 ms apart), and
   with one lane blocked on its model but given a cancel hook. Goal: at most one chunk interval
   plus 5 ms.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator

from bench import markdown_table, summarize_ms
from chatbot_common.model_table import DEFAULT_MODEL_TABLE
from lambda_chat.domain.compare import Lane, LaneInput, LaneRun, multiplex_lanes, validate_lanes
from lambda_chat.domain.ports import ModelChunk

MODEL = "local.bench"
RUNS = 5
CLOSE_RUNS = 20


def lanes(count: int) -> list[Lane]:
    inputs = [LaneInput(MODEL, {"temperature": round(0.1 + 0.2 * i, 1)}) for i in range(count)]
    return validate_lanes(inputs, require_model=lambda _: None, table=DEFAULT_MODEL_TABLE)


def paced(chunks: int, interval: float) -> Callable[[], Iterator[ModelChunk]]:
    def stream() -> Iterator[ModelChunk]:
        for _ in range(chunks):
            if interval:
                time.sleep(interval)
            yield ModelChunk(text="tok ")
        yield ModelChunk(input_tokens=50, output_tokens=chunks, stop_reason="end_turn")

    return stream


def run_comparison(count: int, stream: Callable[[], Iterator[ModelChunk]]) -> tuple[float, float]:
    """(seconds to the final event, seconds to the first delta)."""
    started = time.perf_counter()
    first = 0.0
    for event in multiplex_lanes([LaneRun(lane, stream) for lane in lanes(count)], table=DEFAULT_MODEL_TABLE):
        if event.name == "delta" and not first:
            first = time.perf_counter() - started
    return time.perf_counter() - started, first


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_concurrency() -> None:
    stream = paced(100, 0.002)
    one = [timed(lambda: list(stream())) for _ in range(RUNS)]
    rows = [["1 lane, direct", f"{statistics.median(one) * 1000:.0f}", "", "", "1.00"]]
    for count in (2, 4):
        runs = [run_comparison(count, stream) for _ in range(RUNS)]
        total = statistics.median(run[0] for run in runs)
        first = statistics.median(run[1] for run in runs)
        ratio = total / statistics.median(one)
        rows.append(
            [
                f"{count} lanes, multiplexed",
                f"{total * 1000:.0f}",
                f"{first * 1000:.1f}",
                f"{count * statistics.median(one) * 1000:.0f}",
                f"{ratio:.2f} ({'meets' if ratio <= 1.2 else 'misses'} <= 1.2)",
            ]
        )
    print("### 1. Lanes run concurrently (100 chunks, 2 ms apart, per lane)\n")
    headers = ["run", "wall ms (median)", "first delta ms", "one after another ms", "x one lane"]
    print(markdown_table(headers, rows))
    print()


def bench_event_cost() -> None:
    chunks = 5_000
    stream = paced(chunks, 0)
    direct = statistics.median(timed(lambda: list(stream())) for _ in range(RUNS))
    rows = []
    for count in (2, 4):
        total = statistics.median(run_comparison(count, stream)[0] for _ in range(RUNS))
        events = count * (chunks + 2) + 2
        per_event_us = (total - direct * count) / events * 1e6
        rows.append(
            [count, events, f"{total * 1000:.0f}", f"{direct * count * 1000:.0f}", f"{per_event_us:.1f}"]
        )
    print("### 2. Multiplexer cost per event (lanes streaming as fast as they can)\n")
    headers = ["lanes", "events", "multiplexed ms", "direct ms (all lanes)", "added us / event"]
    print(markdown_table(headers, rows))
    print()


def close_after_deltas(count: int, *, blocked_lane: bool) -> float:
    release = threading.Event()

    def blocked() -> Iterator[ModelChunk]:
        yield ModelChunk(text="waiting")
        release.wait(30)
        yield ModelChunk(text="late")

    stream = paced(10_000, 0.010)
    selected = lanes(count)
    runs = [LaneRun(lane, stream) for lane in selected]
    if blocked_lane:
        runs[0] = LaneRun(selected[0], blocked, cancel=release.set)
    events = multiplex_lanes(runs, table=DEFAULT_MODEL_TABLE)
    seen = 0
    for event in events:
        seen += event.name == "delta"
        if seen >= 3 * count:
            break
    started = time.perf_counter()
    events.close()  # type: ignore[attr-defined]
    return time.perf_counter() - started


def bench_close() -> None:
    rows = []
    for label, blocked in (("4 lanes streaming", False), ("4 lanes, one blocked (cancel hook)", True)):
        samples = [close_after_deltas(4, blocked_lane=blocked) for _ in range(CLOSE_RUNS)]
        median, p95 = summarize_ms(samples)
        verdict = "meets" if p95 <= 15 else "misses"
        rows.append([label, f"{median:.1f}", f"{p95:.1f}", f"{verdict} <= 15 (10 ms chunks + 5)"])
    alive = [thread.name for thread in threading.enumerate() if thread.name.startswith("compare-lane-")]
    print("### 3. Closing the stream stops every lane\n")
    print(markdown_table(["case", "close ms (median)", "p95", "goal"], rows))
    print(f"\nLane threads still alive afterwards: {len(alive)}")


def main() -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"(machine: {os.cpu_count()} CPUs, load average {load})\n")
    bench_concurrency()
    bench_event_cost()
    bench_close()


if __name__ == "__main__":
    main()

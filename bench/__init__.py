"""Benchmarks: `make bench` (= `python -m bench`) runs every `bench/bench_*.py` module's `main()`.

Each module prints its own markdown tables; `markdown_table` and `summarize_ms` keep them alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction 0..1) of a non-empty sample."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    return statistics.median(seconds) * 1000, percentile(seconds, 0.95) * 1000

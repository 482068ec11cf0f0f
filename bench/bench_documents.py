"""Document benchmarks: text extraction speed, and summary wall time against chunk count.

    python -m bench.bench_documents

1. pypdf text extraction (through the service's `extract_document`, with its checks) on a
   generated 300-page PDF: pages per second.
2. `summarize_text` with a model double of fixed latency: wall time against chunk count, with
   the map calls sequential (concurrency 1) and concurrent (bounded pool).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from lambda_chat.attachments.extraction import ExtractionLimits, extract_document
from lambda_chat.attachments.map_reduce import Completion, SummaryOptions, summarize_text
from lambda_chat.domain.tokens import CHARS_PER_TOKEN

PAGES = 300
MODEL_LATENCY_S = 0.05
CHUNK_TOKENS = 1_000
CHUNK_COUNTS = (4, 8, 16, 32, 64)
CONCURRENCY = (1, 4, 8)


def make_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    paragraph = " ".join(
        f"Line {i}: quarterly figures, staffing notes and the facilities plan." for i in range(12)
    )
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {page}. {paragraph}\n\n{paragraph}\n\n{paragraph}")
    return bytes(pdf.output())


def bench_extraction(repeats: int = 3) -> tuple[float, float, int]:
    started = time.perf_counter()
    data = make_pdf(PAGES)
    print(f"(generated {len(data):,} bytes in {time.perf_counter() - started:.1f} s)")
    limits = ExtractionLimits(pdf_max_pages=PAGES)
    times = []
    chars = 0
    for _ in range(repeats):
        started = time.perf_counter()
        doc = extract_document(data, "pdf", limits)
        times.append(time.perf_counter() - started)
        chars = len(doc.text)
    best = min(times)
    return PAGES / best, PAGES / statistics.median(times), chars


def fixed_latency_model(latency: float) -> Callable[..., Completion]:
    def model(system: str, prompt: str, *, on_delta: Callable[[str], None] | None = None) -> Completion:
        time.sleep(latency)
        text = "A partial summary of a few sentences keeping key facts. " * 4
        if on_delta:
            on_delta(text)
        return Completion(text, len(prompt) // CHARS_PER_TOKEN, 50, "double")

    return model


def document_of(chunks: int) -> str:
    # Paragraphs just under one chunk each, so the splitter yields exactly `chunks` chunks.
    paragraph = ("word " * (CHUNK_TOKENS * CHARS_PER_TOKEN // 5 - 20)).strip()
    return "\n\n".join(f"{i}. {paragraph}" for i in range(chunks))


def bench_summary(chunks: int, concurrency: int, repeats: int = 3) -> tuple[float, int, int]:
    """Best wall time of ``repeats`` runs (the double's latency is fixed; the rest is noise)."""
    options = SummaryOptions(chunk_tokens=CHUNK_TOKENS, overlap_tokens=0, max_concurrency=concurrency)
    text = document_of(chunks)
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = summarize_text(
            text, title="bench", model=fixed_latency_model(MODEL_LATENCY_S), options=options
        )
        walls.append(time.perf_counter() - started)
    return min(walls), result.chunks, result.calls


def main() -> None:
    print(f"Document extraction: {PAGES}-page generated PDF (fpdf2), pypdf via extract_document")
    best, median, chars = bench_extraction()
    print("| pages | best pages/s | median pages/s | chars extracted |")
    print("|---|---|---|---|")
    print(f"| {PAGES} | {best:,.0f} | {median:,.0f} | {chars:,} |")
    print()
    print(
        f"Summary wall time, model double with fixed {MODEL_LATENCY_S * 1000:.0f} ms latency, "
        f"{CHUNK_TOKENS} tokens per chunk"
    )
    header = " | ".join(f"concurrency {c} (s)" for c in CONCURRENCY)
    print(f"| chunks | model calls | {header} | speed-up x{CONCURRENCY[-1]} |")
    print("|---" * (3 + len(CONCURRENCY)) + "|")
    for count in CHUNK_COUNTS:
        walls = []
        calls = chunks = 0
        for concurrency in CONCURRENCY:
            wall, chunks, calls = bench_summary(count, concurrency)
            walls.append(wall)
        cells = " | ".join(f"{w:.2f}" for w in walls)
        print(f"| {chunks} | {calls} | {cells} | {walls[0] / walls[-1]:.1f} |")
    print(f"(ideal sequential time = model calls x {MODEL_LATENCY_S * 1000:.0f} ms)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

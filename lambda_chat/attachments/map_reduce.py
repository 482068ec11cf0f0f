"""Summaries that cover the whole document: map over every chunk, then reduce until it fits.

Map calls run concurrently, at most ``max_concurrency`` at a time (model calls are blocking
boto3 calls, so a thread pool is the honest tool). Partial summaries are grouped to fit the
model's context budget and reduced level by level until one call can see them all; that last
call may stream its text to the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from lambda_chat.attachments.chunking import estimate_tokens, split_into_chunks

SUMMARY_SYSTEM = (
    "You summarize documents faithfully and concisely. Keep key facts, figures, names, dates and "
    "conclusions. Never add information that is not in the text."
)
# Room for instructions and separators around the partial summaries in a reduce prompt.
_PROMPT_OVERHEAD_TOKENS = 200


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""


class SummaryModel(Protocol):
    """One blocking model call; ``on_delta`` (when given) receives the text as it streams."""

    def __call__(
        self, system: str, prompt: str, *, on_delta: Callable[[str], None] | None = None
    ) -> Completion: ...


ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class SummaryOptions:
    chunk_tokens: int = 3_000
    overlap_tokens: int = 100
    context_tokens: int = 12_000
    max_concurrency: int = 4
    max_levels: int = 8


@dataclass(frozen=True)
class SummaryResult:
    summary: str
    chunks: int
    calls: int
    levels: int
    input_tokens: int
    output_tokens: int
    model: str


def map_prompt(title: str, index: int, total: int, chunk: str) -> str:
    return (
        f'Summarize part {index} of {total} of the document "{title}". Keep every key fact, '
        "figure, name, date and conclusion of this part; do not comment on missing parts.\n\n"
        f"<part>\n{chunk}\n</part>"
    )


def reduce_prompt(title: str, partials: Sequence[str], *, final: bool) -> str:
    body = "\n\n".join(f"<summary {i}>\n{p}\n</summary {i}>" for i, p in enumerate(partials, 1))
    goal = (
        "Write one coherent summary of the whole document from them: start with a one-sentence "
        "overview, then the main points in order. Keep facts from every part, the last ones too."
        if final
        else "Merge them into one shorter summary that keeps the key facts of every part."
    )
    return f'Below are summaries of consecutive parts of the document "{title}". {goal}\n\n{body}'


def single_prompt(title: str, text: str) -> str:
    return (
        f'Summarize the document "{title}": start with a one-sentence overview, then the main '
        f"points in order.\n\n<document>\n{text}\n</document>"
    )


def group_to_fit(partials: Sequence[str], budget_tokens: int) -> list[list[str]]:
    """Consecutive groups whose total estimated size fits ``budget_tokens``; at least two per group
    whenever possible so every level shrinks the count."""
    groups: list[list[str]] = []
    current: list[str] = []
    used = 0
    for part in partials:
        cost = estimate_tokens(part) + 10
        if current and used + cost > budget_tokens and len(current) >= 2:
            groups.append(current)
            current, used = [], 0
        current.append(part)
        used += cost
    if current:
        if len(current) == 1 and groups:
            groups[-1].append(current[0])
        else:
            groups.append(current)
    return groups


class _Progress:
    def __init__(self, total: int, callback: ProgressFn | None) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.total = total
        self._callback = callback

    def grow(self, extra: int) -> None:
        with self._lock:
            self.total += extra

    def tick(self) -> None:
        with self._lock:
            self.done += 1
            done, total = self.done, self.total
        if self._callback:
            self._callback(done, total)


def summarize_text(
    text: str,
    *,
    title: str,
    model: SummaryModel,
    options: SummaryOptions | None = None,
    on_progress: ProgressFn | None = None,
    on_delta: Callable[[str], None] | None = None,
) -> SummaryResult:
    """Summarize all of ``text``. ``on_progress(done, total)`` follows the model calls (``total``
    may grow when an extra reduce level is needed); ``on_delta`` streams the final summary."""
    options = options or SummaryOptions()
    chunks = split_into_chunks(text, options.chunk_tokens, options.overlap_tokens)
    if not chunks:
        raise ValueError("Nothing to summarize")
    usage = [0, 0]
    models: list[str] = []
    usage_lock = threading.Lock()

    def call(prompt: str, stream: Callable[[str], None] | None = None) -> str:
        result = model(SUMMARY_SYSTEM, prompt, on_delta=stream)
        with usage_lock:
            usage[0] += result.input_tokens
            usage[1] += result.output_tokens
            if result.model:
                models.append(result.model)
        progress.tick()
        return result.text.strip()

    if len(chunks) == 1:
        progress = _Progress(1, on_progress)
        summary = call(single_prompt(title, chunks[0]), on_delta)
        return SummaryResult(summary, 1, 1, 1, usage[0], usage[1], models[-1] if models else "")

    progress = _Progress(len(chunks) + 1, on_progress)
    budget = options.context_tokens - _PROMPT_OVERHEAD_TOKENS
    with ThreadPoolExecutor(max_workers=options.max_concurrency, thread_name_prefix="summary") as pool:

        def run_all(prompts: list[str]) -> list[str]:
            futures: list[Future[str]] = [pool.submit(call, p) for p in prompts]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for fut in finished:
                error = fut.exception()
                if error is not None:
                    for other in futures:
                        other.cancel()
                    raise error
            return [f.result() for f in futures]

        partials = run_all([map_prompt(title, i, len(chunks), c) for i, c in enumerate(chunks, 1)])
        levels = 1
        while sum(estimate_tokens(p) + 10 for p in partials) > budget and len(partials) > 1:
            if levels >= options.max_levels:
                raise RuntimeError("Summaries did not shrink enough to fit the model's context")
            groups = group_to_fit(partials, budget)
            progress.grow(len(groups))
            partials = run_all([reduce_prompt(title, g, final=False) for g in groups])
            levels += 1
        summary = call(reduce_prompt(title, partials, final=True), on_delta)
    calls = progress.done
    return SummaryResult(
        summary, len(chunks), calls, levels + 1, usage[0], usage[1], models[-1] if models else ""
    )

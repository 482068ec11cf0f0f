"""Summaries that cover the whole document: map over every chunk, then reduce until it fits.

Map calls run concurrently, at most ``max_concurrency`` at a time (model calls are blocking
boto3 calls, so a thread pool is the honest tool). Partial summaries are grouped to fit the
model's context budget and reduced level by level until one call can see them all; that last
call may stream its text to the caller.

Every call is sized from the chosen model's context window and output limit
(``fit_to_model``): system prompt + instructions + text + requested output stay inside the
window with 10% headroom for the token estimate, and each partial summary is kept under half
the reduce budget so that every reduce level at least halves the count and no reduce prompt
can outgrow the window, however long the document.

The prompts wrap text in tags (``<document>``, ``<part>``, ``<summary N>``); models sometimes
echo a closing tag at the end of their answer, so those tags are removed from every answer,
including mid-stream (``WrapperTagFilter``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Protocol

from lambda_chat.attachments.chunking import estimate_tokens, split_into_chunks
from lambda_chat.attachments.context_windows import ContextWindow

SUMMARY_SYSTEM = (
    "You summarize documents faithfully and concisely. Keep key facts, figures, names, dates and "
    "conclusions. Never add information that is not in the text."
)
# Room for instructions, the title and separators around the text of a prompt.
_PROMPT_OVERHEAD_TOKENS = 200
# Share of the window kept free for the estimate's error (estimate_tokens is not a tokenizer).
_HEADROOM = 0.10
# Per partial summary in a reduce prompt: its <summary N> tags.
_PARTIAL_OVERHEAD_TOKENS = 10
_WRAPPER_TAG = re.compile(r"</?\s*(?:document|part|summary)(?:\s+\d+)?\s*>", re.IGNORECASE)
_LONGEST_TAG = len("</summary 100000>")


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    stop_reason: str = "end_turn"  # Converse stopReason; max_tokens when the output limit cut it


class SummaryModel(Protocol):
    """One blocking model call; ``on_delta`` (when given) receives the text as it streams."""

    def __call__(
        self, system: str, prompt: str, *, on_delta: Callable[[str], None] | None = None
    ) -> Completion: ...


ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class SummaryOptions:
    """Sizes in estimated tokens. ``context_tokens`` caps a reduce prompt's partial summaries;
    ``output_tokens`` is each call's maxTokens. ``fit_to_model`` lowers them to the model's."""

    chunk_tokens: int = 3_000
    overlap_tokens: int = 100
    context_tokens: int = 12_000
    max_concurrency: int = 4
    max_levels: int = 32
    output_tokens: int = 800


def fit_to_model(options: SummaryOptions, window: ContextWindow) -> SummaryOptions:
    """``options`` with every call sized to fit ``window``.

    usable = 90% of the window - system prompt - instructions; output = min(configured output,
    the model's output limit, usable / 4); map chunks and reduce prompts get at most
    usable - output. Raises ValueError for a window too small to summarize in.
    """
    overhead = estimate_tokens(SUMMARY_SYSTEM) + _PROMPT_OVERHEAD_TOKENS
    usable = int(window.context_tokens * (1 - _HEADROOM)) - overhead
    if usable < 400:
        raise ValueError(f"A {window.context_tokens}-token context window is too small to summarize in")
    output = max(1, min(options.output_tokens, window.max_output_tokens, usable // 4))
    budget = usable - output
    chunk = min(options.chunk_tokens, budget)
    return replace(
        options,
        chunk_tokens=chunk,
        overlap_tokens=min(options.overlap_tokens, chunk // 4),
        context_tokens=min(options.context_tokens, budget),
        output_tokens=output,
    )


def strip_wrapper_tags(text: str) -> str:
    """``text`` without the prompts' wrapper tags (``</document>``, ``<summary 3>``...)."""
    return _WRAPPER_TAG.sub("", text)


class WrapperTagFilter:
    """Removes wrapper tags from streamed text, holding back a possible tag's start (``</doc``)
    until the next piece shows whether it is one."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink
        self._pending = ""

    def __call__(self, piece: str) -> None:
        text = self._pending + piece
        cut = text.rfind("<")
        if cut != -1 and ">" not in text[cut:] and len(text) - cut < _LONGEST_TAG:
            text, self._pending = text[:cut], text[cut:]
        else:
            self._pending = ""
        text = strip_wrapper_tags(text)
        if text:
            self._sink(text)

    def flush(self) -> None:
        rest, self._pending = strip_wrapper_tags(self._pending), ""
        if rest:
            self._sink(rest)


@dataclass(frozen=True)
class SummaryResult:
    summary: str
    chunks: int
    calls: int
    levels: int
    input_tokens: int
    output_tokens: int
    model: str
    stop_reason: str = "end_turn"  # the final call's: max_tokens means the summary was cut


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
    whenever possible so every level shrinks the count. A group never outgrows the budget (a
    leftover last partial joins the previous group only if it fits, else takes that group's last
    partial along when it has three or more, else stands alone)."""

    def cost(part: str) -> int:
        return estimate_tokens(part) + _PARTIAL_OVERHEAD_TOKENS

    groups: list[list[str]] = []
    current: list[str] = []
    used = 0
    for part in partials:
        if current and used + cost(part) > budget_tokens and len(current) >= 2:
            groups.append(current)
            current, used = [], 0
        current.append(part)
        used += cost(part)
    if not current:
        return groups
    if len(current) == 1 and groups:
        previous = groups[-1]
        if sum(cost(p) for p in previous) + used <= budget_tokens:
            previous.append(current[0])
            return groups
        if len(previous) >= 3:
            current.insert(0, previous.pop())
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
    stop_reasons: list[str] = []
    # A partial summary may use at most half a reduce prompt, so two always fit together.
    partial_limit = max(1, options.context_tokens // 2 - _PARTIAL_OVERHEAD_TOKENS)

    def call(prompt: str, stream: Callable[[str], None] | None = None) -> str:
        tag_filter = WrapperTagFilter(stream) if stream is not None else None
        result = model(SUMMARY_SYSTEM, prompt, on_delta=tag_filter)
        if tag_filter is not None:
            tag_filter.flush()
        with usage_lock:
            usage[0] += result.input_tokens
            usage[1] += result.output_tokens
            if result.model:
                models.append(result.model)
            stop_reasons.append(result.stop_reason)
        progress.tick()
        return strip_wrapper_tags(result.text).strip()

    def fitted(partial: str) -> str:
        if estimate_tokens(partial) <= partial_limit:
            return partial
        return split_into_chunks(partial, partial_limit)[0]

    if len(chunks) == 1:
        progress = _Progress(1, on_progress)
        summary = call(single_prompt(title, chunks[0]), on_delta)
        return SummaryResult(
            summary, 1, 1, 1, usage[0], usage[1], models[-1] if models else "", stop_reasons[-1]
        )

    progress = _Progress(len(chunks) + 1, on_progress)
    budget = options.context_tokens
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
            return [fitted(f.result()) for f in futures]

        partials = run_all([map_prompt(title, i, len(chunks), c) for i, c in enumerate(chunks, 1)])
        levels = 1
        while sum(estimate_tokens(p) + _PARTIAL_OVERHEAD_TOKENS for p in partials) > budget:
            if levels >= options.max_levels:
                raise RuntimeError("Summaries did not shrink enough to fit the model's context")
            groups = group_to_fit(partials, budget)
            progress.grow(len(groups))
            partials = run_all([reduce_prompt(title, g, final=False) for g in groups])
            levels += 1
        summary = call(reduce_prompt(title, partials, final=True), on_delta)
    calls = progress.done
    return SummaryResult(
        summary,
        len(chunks),
        calls,
        levels + 1,
        usage[0],
        usage[1],
        models[-1] if models else "",
        stop_reasons[-1],
    )

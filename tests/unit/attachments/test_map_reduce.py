"""Chunking, excerpt selection and the map-reduce summarizer with a fake model."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import pytest

from chatbot_common.errors import Throttled
from lambda_chat.attachments.chunking import estimate_tokens, select_relevant_chunks, split_into_chunks
from lambda_chat.attachments.map_reduce import Completion, SummaryOptions, summarize_text


def _document(parts: int, words_per_part: int = 600) -> str:
    """Sections that each state one fact, e.g. 'FACT-007', in filler text."""
    return "\n\n".join(
        f"Section {i}. "
        + "lorem ipsum dolor sit amet " * (words_per_part // 5)
        + f"The key fact is FACT-{i:03d}."
        for i in range(parts)
    )


class FakeModel:
    """Summaries that carry forward every FACT-nnn marker they were shown; tracks concurrency."""

    def __init__(self, delay: float = 0.0, fail_on: Callable[[str], bool] | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.prompts: list[str] = []
        self.streamed: list[str] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __call__(
        self, system: str, prompt: str, *, on_delta: Callable[[str], None] | None = None
    ) -> Completion:
        with self._lock:
            self.prompts.append(prompt)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            if self.fail_on and self.fail_on(prompt):
                raise Throttled("slow down")
            text = "Facts: " + " ".join(sorted(set(re.findall(r"FACT-\d{3}", prompt))))
            if on_delta:
                for word in text.split(" "):
                    on_delta(word + " ")
                    self.streamed.append(word)
            return Completion(
                text, input_tokens=estimate_tokens(prompt), output_tokens=len(text.split()), model="fake"
            )
        finally:
            with self._lock:
                self.active -= 1


def test_chunks_respect_the_token_size_and_cover_the_text() -> None:
    text = _document(30)
    chunks = split_into_chunks(text, chunk_tokens=500)
    assert all(estimate_tokens(c) <= 500 for c in chunks)
    joined = " ".join(chunks)
    assert all(f"FACT-{i:03d}" in joined for i in range(30))


def test_relevant_chunks_are_chosen_by_the_question_within_the_budget() -> None:
    chunks = [f"Chapter {i}: " + "general filler text about nothing " * 40 for i in range(50)]
    chunks[37] += " The warranty period for the turbine is seven years."
    chosen = select_relevant_chunks(chunks, "How long is the turbine warranty?", budget_tokens=800)
    assert 37 in [c.index for c in chosen]
    assert sum(estimate_tokens(c.text) for c in chosen) <= 800
    assert [c.index for c in chosen] == sorted(c.index for c in chosen)  # document order


def test_everything_is_returned_when_it_fits() -> None:
    assert [c.index for c in select_relevant_chunks(["a", "b"], "anything", 100)] == [0, 1]


def test_summary_covers_every_chunk_not_just_the_first_ones() -> None:
    model = FakeModel()
    result = summarize_text(
        _document(40),
        title="report.pdf",
        model=model,
        options=SummaryOptions(chunk_tokens=600, overlap_tokens=0),
    )
    assert result.chunks > 10
    map_prompts = [p for p in model.prompts if "<part>" in p]
    assert len(map_prompts) == result.chunks
    for i in range(40):
        assert f"FACT-{i:03d}" in result.summary
    assert result.calls == len(model.prompts)
    assert result.input_tokens > 0 and result.model == "fake"


def test_reduce_recurses_until_the_partials_fit_the_context() -> None:
    model = FakeModel()
    # A tiny context forces more than one reduce level.
    result = summarize_text(
        _document(60, words_per_part=300),
        title="big.txt",
        model=model,
        options=SummaryOptions(chunk_tokens=400, overlap_tokens=0, context_tokens=700),
    )
    assert result.levels >= 3
    assert all(f"FACT-{i:03d}" in result.summary for i in range(60))
    for prompt in model.prompts:
        if "<summary 1>" in prompt:
            assert estimate_tokens(prompt) <= 700 + 150


def test_map_calls_run_concurrently_up_to_the_bound() -> None:
    model = FakeModel(delay=0.05)
    started = time.perf_counter()
    result = summarize_text(
        _document(16),
        title="t",
        model=model,
        options=SummaryOptions(chunk_tokens=800, overlap_tokens=0, max_concurrency=3),
    )
    elapsed = time.perf_counter() - started
    assert model.max_active == 3
    sequential = result.calls * 0.05
    assert elapsed < sequential * 0.7


def test_concurrency_of_one_is_sequential() -> None:
    model = FakeModel(delay=0.01)
    summarize_text(
        _document(8), title="t", model=model, options=SummaryOptions(chunk_tokens=800, max_concurrency=1)
    )
    assert model.max_active == 1


def test_progress_counts_every_call_and_only_the_final_summary_streams() -> None:
    model = FakeModel()
    progress: list[tuple[int, int]] = []
    deltas: list[str] = []
    result = summarize_text(
        _document(10),
        title="t",
        model=model,
        options=SummaryOptions(chunk_tokens=800, max_concurrency=2),
        on_progress=lambda done, total: progress.append((done, total)),
        on_delta=deltas.append,
    )
    assert [d for d, _ in progress] == list(range(1, result.calls + 1))
    assert progress[-1] == (result.calls, result.calls)
    assert "".join(deltas).strip() == result.summary


def test_a_short_document_is_one_call() -> None:
    model = FakeModel()
    result = summarize_text("Short note with FACT-001.", title="n.txt", model=model)
    assert (result.chunks, result.calls) == (1, 1)
    assert "FACT-001" in result.summary


def test_a_failed_call_fails_the_summary_with_its_typed_error() -> None:
    model = FakeModel(fail_on=lambda p: "part 3 of" in p)
    with pytest.raises(Throttled):
        summarize_text(_document(10), title="t", model=model, options=SummaryOptions(chunk_tokens=800))

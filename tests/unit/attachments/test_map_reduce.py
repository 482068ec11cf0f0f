"""Chunking, excerpt selection and the map-reduce summarizer with a fake model."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import pytest

from chatbot_common.errors import Throttled
from lambda_chat.attachments.chunking import estimate_tokens, select_relevant_chunks, split_into_chunks
from lambda_chat.attachments.context_windows import DEFAULT_WINDOW, ContextWindow, context_window
from lambda_chat.attachments.map_reduce import Completion, SummaryOptions, fit_to_model, summarize_text


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


class WindowCheckingModel:
    """A model with a context window: refuses (like Bedrock's 'Input is too long for requested
    model') any call whose prompt plus maxTokens exceeds it, and always writes its whole output
    budget (the worst case for the reduce steps)."""

    def __init__(self, window: ContextWindow, output_tokens: int) -> None:
        self.window = window
        self.output_tokens = output_tokens
        self.calls = 0
        self.largest = 0
        self._lock = threading.Lock()

    def __call__(
        self, system: str, prompt: str, *, on_delta: Callable[[str], None] | None = None
    ) -> Completion:
        needed = estimate_tokens(system) + estimate_tokens(prompt) + self.output_tokens
        with self._lock:
            self.calls += 1
            self.largest = max(self.largest, needed)
        if needed > self.window.context_tokens:
            raise AssertionError(f"Input is too long for requested model ({needed} tokens)")
        facts = " ".join(sorted(set(re.findall(r"FACT-\d{3}", prompt))))
        text = (facts + " " + "summary words " * (self.output_tokens * 2))[: self.output_tokens * 4]
        return Completion(text, estimate_tokens(prompt), self.output_tokens, "windowed")


@pytest.mark.parametrize(
    "model_id", ["local.smollm2-135m-instruct", "amazon.titan-text-lite-v1", "some.unknown-model-v9"]
)
def test_every_call_fits_the_model_window_on_a_document_far_larger_than_any_budget(model_id: str) -> None:
    # Given a document of ~500,000 estimated tokens (a ~120-page dense PDF is ~60,000)
    window = context_window(model_id)
    text = _document(parts=800, words_per_part=500)
    assert estimate_tokens(text) > 50 * window.context_tokens
    options = fit_to_model(SummaryOptions(max_concurrency=2, output_tokens=800), window)
    model = WindowCheckingModel(window, options.output_tokens)
    # When it is summarized
    result = summarize_text(text, title="long.pdf", model=model, options=options)
    # Then no map or reduce call outgrew the window, and the reduce recursed to one summary
    assert model.largest <= window.context_tokens
    assert result.levels >= 3 and result.calls == model.calls
    assert result.summary


def test_the_window_table_knows_bedrock_ids_profiles_and_defaults_safely() -> None:
    assert context_window("us.anthropic.claude-sonnet-4-20250514-v1:0") == ContextWindow(200_000, 64_000)
    assert context_window("global.anthropic.claude-opus-4-5-20251101-v1:0").max_output_tokens == 64_000
    assert context_window("anthropic.claude-opus-4-1-20250805-v1:0").max_output_tokens == 32_000
    assert context_window("us.amazon.nova-lite-v1:0").context_tokens == 300_000
    assert context_window("local.scripted").context_tokens == 4_096
    assert context_window("acme.brand-new-model-v1:0") == DEFAULT_WINDOW


def test_fit_to_model_never_asks_for_more_output_than_the_model_allows() -> None:
    options = fit_to_model(
        SummaryOptions(output_tokens=8_000, context_tokens=50_000), ContextWindow(8_192, 2_048)
    )
    assert options.output_tokens <= 2_048
    assert options.context_tokens + options.output_tokens <= 8_192
    assert options.chunk_tokens + options.output_tokens <= 8_192


def test_wrapper_tags_never_reach_the_answer_even_split_across_stream_events() -> None:
    streamed: list[str] = []

    def echoing_model(system: str, prompt: str, *, on_delta=None) -> Completion:
        pieces = ["Totals: a < b and b > c.", "\n</docu", "ment>", " <summary 2>end"]
        for piece in pieces:
            if on_delta:
                on_delta(piece)
        return Completion("".join(pieces), stop_reason="end_turn")

    result = summarize_text("A short text.", title="t.csv", model=echoing_model, on_delta=streamed.append)
    assert result.summary == "Totals: a < b and b > c.\n end"
    assert "".join(streamed) == "Totals: a < b and b > c.\n end"


def test_a_summary_cut_by_its_output_limit_reports_max_tokens() -> None:
    def cut_model(system: str, prompt: str, *, on_delta=None) -> Completion:
        return Completion("The first half of", stop_reason="max_tokens")

    assert summarize_text("A short text.", title="t.txt", model=cut_model).stop_reason == "max_tokens"


def test_summary_windows_come_from_the_one_model_table_with_the_deployments_overrides() -> None:
    from chatbot_common.model_table import load_model_table

    # Given a deployment that describes a model the built-in table does not know
    table = load_model_table({"acme.brand-new-model": {"contextWindow": 50_000, "maxOutputTokens": 3_000}})
    # Then summaries are sized from that row, and the table's own rows are unchanged
    assert context_window("acme.brand-new-model-v1:0", table) == ContextWindow(50_000, 3_000)
    assert context_window("us.amazon.nova-lite-v1:0", table) == context_window("us.amazon.nova-lite-v1:0")

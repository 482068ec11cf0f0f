"""Cost of a model call from its token usage and the price table, and the sums `chatbot logs`
prints by user, model and day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chatbot_common.model_table import DEFAULT_MODEL_TABLE, Price
from lambda_chat.domain.cost import COST_QUANTUM, TokenUsage, cost_usd, model_cost_usd, summarize_costs
from lambda_chat.domain.entities import CallRecord

NOVA_LITE = "us.amazon.nova-lite-v1:0"
SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_input_and_output_tokens_are_priced_per_thousand() -> None:
    # Nova Lite: $0.00006 / 1K input, $0.00024 / 1K output
    assert model_cost_usd(TokenUsage(1000, 1000), NOVA_LITE, DEFAULT_MODEL_TABLE) == Decimal("0.000300000")
    assert model_cost_usd(TokenUsage(1234, 56), NOVA_LITE, DEFAULT_MODEL_TABLE) == Decimal("0.000087480")


def test_cache_reads_and_writes_are_priced_apart_from_input() -> None:
    # Sonnet 4.5: $0.003 input, $0.015 output, $0.0003 cache read, $0.00375 cache write per 1K
    usage = TokenUsage(
        input_tokens=200, output_tokens=100, cache_read_tokens=10_000, cache_write_tokens=2_000
    )
    expected = Decimal("0.0006") + Decimal("0.0015") + Decimal("0.003") + Decimal("0.0075")
    assert model_cost_usd(usage, SONNET_45, DEFAULT_MODEL_TABLE) == expected
    # And caching the same 10,000-token prefix costs a tenth of sending it fresh
    fresh = model_cost_usd(TokenUsage(input_tokens=10_000), SONNET_45, DEFAULT_MODEL_TABLE)
    cached = model_cost_usd(TokenUsage(cache_read_tokens=10_000), SONNET_45, DEFAULT_MODEL_TABLE)
    assert fresh is not None and cached is not None and cached * 10 == fresh


def test_cache_tokens_of_a_model_without_cache_prices_cost_the_input_price() -> None:
    price = Price(
        input_per_1k=Decimal("0.001"), output_per_1k=Decimal("0.002"), as_of=date(2026, 1, 1), source="x"
    )
    assert cost_usd(TokenUsage(cache_read_tokens=1000, cache_write_tokens=1000), price) == Decimal("0.002")


def test_local_models_cost_zero_and_unknown_prices_are_not_guessed() -> None:
    assert model_cost_usd(TokenUsage(5000, 5000), "local.smollm2-135m-instruct", DEFAULT_MODEL_TABLE) == 0
    assert model_cost_usd(TokenUsage(5000, 5000), "no.such-model-v9", DEFAULT_MODEL_TABLE) is None


def test_costs_are_rounded_half_even_to_a_billionth_of_a_dollar() -> None:
    # One Nova Micro cache-read token costs $0.00000000875: it rounds to 9 billionths, not 0
    one_token = model_cost_usd(TokenUsage(cache_read_tokens=1), "amazon.nova-micro-v1:0", DEFAULT_MODEL_TABLE)
    assert one_token == Decimal("0.000000009")
    assert one_token is not None and one_token.as_tuple().exponent == COST_QUANTUM.as_tuple().exponent


def record(user: str, model: str, when: str, tokens: tuple[int, int], **extra: object) -> CallRecord:
    call = CallRecord(
        call_id=f"{user}{when}",
        user_id=user,
        conversation_id=None,
        model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        latency_ms=10,
        status="complete",
        request_id=None,
        created_at=when,
    )
    for name, value in extra.items():
        object.__setattr__(call, name, value)  # the cost fields phase 2 adds to CallRecord
    return call


def test_chatbot_logs_sums_cost_by_user_model_and_day() -> None:
    records = [
        record("alice", NOVA_LITE, "2026-12-01T10:00:00.000Z", (1000, 1000)),
        record("alice", NOVA_LITE, "2026-12-01T11:00:00.000Z", (1000, 1000)),
        record("alice", NOVA_LITE, "2026-12-02T09:00:00.000Z", (1000, 0)),
        record("bob", SONNET_45, "2026-12-01T12:00:00.000Z", (0, 0), cost_usd=Decimal("0.5"),
               cache_read_tokens=7),
        # the CLI's camelCase form of a record, with a stored cost
        {"userId": "bob", "model": SONNET_45, "createdAt": "2026-12-01T13:00:00.000Z", "inputTokens": 10,
         "outputTokens": 1, "costUsd": "0.25", "cacheWriteInputTokens": 3},
        record("carol", "no.such-model-v9", "2026-12-01T12:00:00.000Z", (10, 10)),
    ]  # fmt: skip
    rows = {(r.user_id, r.model, r.day): r for r in summarize_costs(records, table=DEFAULT_MODEL_TABLE)}

    alice_day1 = rows[("alice", NOVA_LITE, "2026-12-01")]
    assert (alice_day1.calls, alice_day1.input_tokens, alice_day1.output_tokens) == (2, 2000, 2000)
    assert alice_day1.cost_usd == Decimal("0.0006")
    assert rows[("alice", NOVA_LITE, "2026-12-02")].cost_usd == Decimal("0.00006")
    bob = rows[("bob", SONNET_45, "2026-12-01")]
    assert bob.cost_usd == Decimal("0.75")  # stored costs are summed, not recomputed
    assert (bob.cache_read_tokens, bob.cache_write_tokens) == (7, 3)
    carol = rows[("carol", "no.such-model-v9", "2026-12-01")]
    assert carol.unpriced_calls == 1 and carol.cost_usd == 0
    assert carol.to_json()["unpricedCalls"] == 1 and bob.to_json()["costUsd"] == "0.750000000"


def test_costs_group_by_any_subset_and_sort_by_day() -> None:
    records = [
        record("alice", NOVA_LITE, "2026-12-02T10:00:00.000Z", (1000, 0)),
        record("bob", NOVA_LITE, "2026-12-01T10:00:00.000Z", (1000, 0)),
    ]
    by_model = summarize_costs(records, table=DEFAULT_MODEL_TABLE, by=("model",))
    assert [(r.user_id, r.model, r.day, r.calls, r.cost_usd) for r in by_model] == [
        (None, NOVA_LITE, None, 2, Decimal("0.00012"))
    ]
    by_day = summarize_costs(records, table=DEFAULT_MODEL_TABLE, by=("day",))
    assert [r.day for r in by_day] == ["2026-12-01", "2026-12-02"]
    # Without a table, records that carry no stored cost stay unpriced
    assert summarize_costs(records, by=("model",))[0].unpriced_calls == 2
    with pytest.raises(ValueError, match="conversation"):
        summarize_costs(records, by=("conversation",))  # type: ignore[arg-type]

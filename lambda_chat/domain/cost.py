"""What a model call costs: tokens priced with the model's row of the price table.

Bedrock bills ``inputTokens``, ``outputTokens``, ``cacheReadInputTokens`` and
``cacheWriteInputTokens`` separately (Converse TokenUsage; the cache counts are not part of
``inputTokens``), each at its own price per 1,000 tokens (https://aws.amazon.com/bedrock/pricing/).
Costs are exact Decimals rounded half-even to `COST_QUANTUM` (a billionth of a dollar): one token of
the cheapest cache read still shows, and sums of stored costs stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from chatbot_common.model_table import ModelTable, Price

COST_QUANTUM = Decimal("0.000000001")
_THOUSAND = Decimal(1000)

GroupBy = Literal["user", "model", "day"]


@dataclass(frozen=True)
class TokenUsage:
    """Token counts of one model call, as Converse reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # True when Bedrock sent no counts (a stopped stream) and these are estimates
    # (`lambda_chat.domain.tokens`) of what was sent and received, rather than 0.
    estimated: bool = False

    def to_json(self) -> dict[str, int]:
        """The API's (and Converse's) names (`estimated` is not among them: see the callers)."""
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheReadInputTokens": self.cache_read_tokens,
            "cacheWriteInputTokens": self.cache_write_tokens,
        }


def cost_usd(usage: TokenUsage, price: Price | None) -> Decimal | None:
    """USD for `usage` at `price`, rounded to `COST_QUANTUM`; None when the price is unknown.

    Cache tokens of a model with no cache price are billed at its input price.
    """
    if price is None:
        return None
    cache_read = price.cache_read_per_1k if price.cache_read_per_1k is not None else price.input_per_1k
    cache_write = price.cache_write_per_1k if price.cache_write_per_1k is not None else price.input_per_1k
    total = (
        usage.input_tokens * price.input_per_1k
        + usage.output_tokens * price.output_per_1k
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
    ) / _THOUSAND
    return round_cost(total)


def model_cost_usd(usage: TokenUsage, model_id: str, table: ModelTable) -> Decimal | None:
    """`cost_usd` with the model's price from `table` (local models cost 0, unknown ones None)."""
    return cost_usd(usage, table.price_for(model_id))


def plain_decimal(value: Decimal | None) -> Decimal | None:
    """`value` without trailing zeros and never in exponent form ("0E-9" becomes "0"), so it is
    stored (DynamoDB number) and logged as people write it."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


def round_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class CostSummaryRow:
    """Calls grouped by user / model / UTC day (a dimension not grouped on is None).

    `cost_usd` sums the calls' stored costs, pricing with the table those stored without one;
    `unpriced_calls` counts calls whose model has no known price (they add nothing to the cost).
    """

    user_id: str | None
    model: str | None
    day: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal
    unpriced_calls: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "model": self.model,
            "day": self.day,
            "calls": self.calls,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheReadInputTokens": self.cache_read_tokens,
            "cacheWriteInputTokens": self.cache_write_tokens,
            "costUsd": format(self.cost_usd, "f"),  # fixed-point text, never "0E-9"
            "unpricedCalls": self.unpriced_calls,
        }


def summarize_costs(
    records: Iterable[Any],
    *,
    table: ModelTable | None = None,
    by: Sequence[GroupBy] = ("user", "model", "day"),
) -> list[CostSummaryRow]:
    """Sum call records (for `chatbot logs`) by the `by` dimensions, sorted by day, user, model.

    A record is a `CallRecord`-like object (``user_id``, ``model``, ``created_at``, token counts,
    optional ``cost_usd``, ``cache_read_tokens``, ``cache_write_tokens``) or the CLI's camelCase
    dict of one (``userId``, ``model``, ``createdAt``, ``inputTokens``, ..., ``costUsd``). Records
    written before costs were stored are priced with `table` when given.
    """
    unknown = set(by) - {"user", "model", "day"}
    if unknown:
        raise ValueError(f"cannot group costs by {sorted(unknown)}: use user, model and/or day")
    groups: dict[tuple[str | None, str | None, str | None], list[Any]] = {}
    for record in records:
        user = str(_field(record, "user_id", "userId", ""))
        model = str(_field(record, "model", "model", ""))
        day = str(_field(record, "created_at", "createdAt", ""))[:10]
        key = (
            user if "user" in by else None,
            model if "model" in by else None,
            day if "day" in by else None,
        )
        groups.setdefault(key, []).append(record)
    rows = [_summarize(key, members, table) for key, members in groups.items()]
    rows.sort(key=lambda row: (row.day or "", row.user_id or "", row.model or ""))
    return rows


def _summarize(
    key: tuple[str | None, str | None, str | None], members: list[Any], table: ModelTable | None
) -> CostSummaryRow:
    totals = [0, 0, 0, 0]
    cost = Decimal(0)
    unpriced = 0
    for record in members:
        usage = TokenUsage(
            input_tokens=int(_field(record, "input_tokens", "inputTokens", 0) or 0),
            output_tokens=int(_field(record, "output_tokens", "outputTokens", 0) or 0),
            cache_read_tokens=int(_field(record, "cache_read_tokens", "cacheReadInputTokens", 0) or 0),
            cache_write_tokens=int(_field(record, "cache_write_tokens", "cacheWriteInputTokens", 0) or 0),
        )
        totals[0] += usage.input_tokens
        totals[1] += usage.output_tokens
        totals[2] += usage.cache_read_tokens
        totals[3] += usage.cache_write_tokens
        stored = _field(record, "cost_usd", "costUsd", None)
        if stored is not None:
            cost += Decimal(str(stored))
            continue
        priced = model_cost_usd(usage, str(_field(record, "model", "model", "")), table) if table else None
        if priced is None:
            unpriced += 1
        else:
            cost += priced
    return CostSummaryRow(
        user_id=key[0],
        model=key[1],
        day=key[2],
        calls=len(members),
        input_tokens=totals[0],
        output_tokens=totals[1],
        cache_read_tokens=totals[2],
        cache_write_tokens=totals[3],
        cost_usd=round_cost(cost),
        unpriced_calls=unpriced,
    )


def _field(record: Any, attribute: str, key: str, default: Any) -> Any:
    if isinstance(record, dict):
        return record.get(key, default)
    return getattr(record, attribute, default)

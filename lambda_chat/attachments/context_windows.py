"""How many tokens a model can read and write in one call, for sizing summary calls.

Read from the app's model table (`chatbot_common.model_table`: one table of context windows,
output limits, ranges and prices, overridable per deployment with ``modelTable``). A model the
table does not know, or whose window it does not give, gets ``DEFAULT_WINDOW``: small enough for
any text model Bedrock serves today, so a summary never overflows an unknown model.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatbot_common.model_table import DEFAULT_MODEL_TABLE, ModelTable


@dataclass(frozen=True)
class ContextWindow:
    """``context_tokens``: input and output together; ``max_output_tokens``: the most one call
    may generate (Converse ``inferenceConfig.maxTokens`` above it is a ValidationException)."""

    context_tokens: int
    max_output_tokens: int


DEFAULT_WINDOW = ContextWindow(8_192, 2_048)


def context_window(model_id: str, table: ModelTable = DEFAULT_MODEL_TABLE) -> ContextWindow:
    """The model's context window and output limit from `table` (`DEFAULT_WINDOW`'s figures for
    what it does not say). Ids match as the table matches them (inference-profile prefixes,
    ARNs, longest key prefix)."""
    profile = table.profile_for(model_id)
    return ContextWindow(
        context_tokens=profile.context_window or DEFAULT_WINDOW.context_tokens,
        max_output_tokens=profile.max_output_tokens or DEFAULT_WINDOW.max_output_tokens,
    )

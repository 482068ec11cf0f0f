"""Where a Converse request gets prompt-cache checkpoints (`cachePoint` blocks).

Bedrock caches the prompt prefix that ends at a checkpoint; a later request with the same prefix
reads it (faster, billed at the model's cache-read price) instead of processing it again. The
prefix is ordered tools, system, messages, so:

- a checkpoint after the system prompt caches the tool definitions and the system prompt;
- a checkpoint after the newest user message caches the whole conversation so far: the next turn
  sends the same messages plus the answer and a new question, and reads all of it back.

Only models whose `chatbot_common.model_table` row says prompt caching is supported get any (a
`cachePoint` a model refuses fails the whole request), and only in the request fields the row
lists. A checkpoint is placed only once the prefix before it reaches the model's minimum tokens
per checkpoint (below it Bedrock makes no cache entry), and never more than the row's maximum
(Bedrock: at most 4 per request). Source: Bedrock user guide, "Prompt caching for faster model
inference" (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatbot_common.model_table import PromptCaching
from lambda_chat.domain.ports import ChatMessage
from lambda_chat.domain.tokens import estimate_block_tokens, estimate_tokens


@dataclass(frozen=True)
class CachePlan:
    """Checkpoints for one request: after the system prompt, and after `messages[i]` for each i."""

    system: bool = False
    after_messages: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return int(self.system) + len(self.after_messages)


def plan_cache_points(
    caching: PromptCaching,
    *,
    system: str | None,
    messages: Sequence[ChatMessage],
    reserved_checkpoints: int = 0,
    prefix_tokens: int = 0,
) -> CachePlan:
    """The checkpoints to place, given the model's caching row.

    `prefix_tokens` counts what comes before the system prompt (tool definitions), and
    `reserved_checkpoints` the checkpoints already placed elsewhere (on tools), both estimates;
    token counts are the ~4-characters-per-token estimate of `lambda_chat.domain.tokens`.
    Returns an empty plan for models without prompt caching.
    """
    if not caching.supported:
        return CachePlan()
    budget = caching.max_checkpoints - reserved_checkpoints
    minimum = caching.min_tokens_per_checkpoint or 1
    tokens = prefix_tokens
    place_system = False
    if system and "system" in caching.fields and budget > 0:
        tokens += estimate_tokens(system)
        if tokens >= minimum:
            place_system = True
            budget -= 1
    elif system:
        tokens += estimate_tokens(system)
    after: tuple[int, ...] = ()
    newest_user = _newest_user_index(messages)
    if newest_user is not None and "messages" in caching.fields and budget > 0:
        tokens += sum(estimate_block_tokens(message.content) for message in messages[: newest_user + 1])
        if tokens >= minimum:
            after = (newest_user,)
    return CachePlan(system=place_system, after_messages=after)


def _newest_user_index(messages: Sequence[ChatMessage]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return None

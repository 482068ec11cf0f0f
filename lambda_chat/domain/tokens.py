"""Token estimates for budgets (history trimming, document chunks, summaries).

Tokens are estimated (about four characters per token for English prose) rather than counted
with a model tokenizer: tiktoken would download its vocabulary at first use, and Bedrock models
do not share one tokenizer anyway. Budgets therefore keep some headroom.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CHARS_PER_TOKEN = 4
# Images cost a roughly fixed number of tokens whatever their text; Bedrock's guidance is ~1.6k.
IMAGE_TOKEN_ESTIMATE = 1_600


def estimate_tokens(text: str) -> int:
    """A cheap, model-agnostic estimate: ceil(characters / 4)."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_block_tokens(blocks: Sequence[dict[str, Any]]) -> int:
    """The estimate for Converse content blocks: text by length, each image or document a flat
    IMAGE_TOKEN_ESTIMATE."""
    total = 0
    for block in blocks:
        if "text" in block:
            total += estimate_tokens(str(block["text"]))
        elif "image" in block or "document" in block:
            total += IMAGE_TOKEN_ESTIMATE
    return total

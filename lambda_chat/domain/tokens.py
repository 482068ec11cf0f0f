"""Token estimates for budgets (history trimming, document chunks, summaries).

Tokens are estimated rather than counted with a model tokenizer: tiktoken would download its
vocabulary at first use, and Bedrock models do not share one tokenizer anyway. The estimate is
about four characters per token for ASCII (English prose) and one token per other character
(a CJK character is one to two tokens; an accented letter rarely more than one), so that CJK
text is not under-counted fourfold. Budgets therefore keep some headroom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CHARS_PER_TOKEN = 4
# Images cost a roughly fixed number of tokens whatever their text; Bedrock's guidance is ~1.6k.
IMAGE_TOKEN_ESTIMATE = 1_600


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text``: ceil(ASCII characters / 4), plus one per other character.
    (``str.isascii`` reads a flag CPython keeps on each string: all-ASCII text, most of a
    history, is counted without encoding it.)"""
    ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + (len(text) - ascii_chars)


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


def estimate_request_tokens(system: str | None, messages: Sequence[Any]) -> int:
    """The estimate of a request's input: its system prompt and every message's content blocks
    (`ChatMessage`s). What a call record keeps when Bedrock sends no counts (a stopped stream)."""
    return estimate_tokens(system or "") + sum(estimate_block_tokens(m.content) for m in messages)

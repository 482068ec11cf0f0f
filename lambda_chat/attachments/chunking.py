"""Token-sized chunks of a document, and choosing the chunks relevant to a question.
Token counts are estimates: `lambda_chat.domain.tokens`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from lambda_chat.domain.tokens import estimate_tokens


def split_into_chunks(text: str, chunk_tokens: int, overlap_tokens: int = 0) -> list[str]:
    """Split on paragraph, line, sentence and word boundaries into chunks of at most
    ``chunk_tokens`` estimated tokens (``estimate_tokens``)."""
    if estimate_tokens(text) <= chunk_tokens:
        return [text] if text.strip() else []
    # Imported on the first long document, not with the app (cold start of a plain chat turn).
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=min(overlap_tokens, chunk_tokens // 4),
        length_function=estimate_tokens,
        separators=["\n\n", "\n", ". ", "。", " ", ""],
        keep_separator="end",
    )
    return [chunk for chunk in splitter.split_text(text) if chunk.strip()]


_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "do",
        "does",
        "did",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "about",
        "can",
        "could",
        "would",
        "should",
        "tell",
        "document",
        "file",
        "please",
        "summary",
    ]
)


def _terms(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class ScoredChunk:
    index: int
    score: float
    text: str


def select_relevant_chunks(chunks: list[str], question: str, budget_tokens: int) -> list[ScoredChunk]:
    """The chunks that best match ``question`` (BM25) within ``budget_tokens``, in document order.

    When everything fits, everything is returned. With no matching terms (a question like "and
    then?"), the beginning of the document is used.
    """
    if not chunks or budget_tokens <= 0:
        return []
    if sum(estimate_tokens(c) for c in chunks) <= budget_tokens:
        return [ScoredChunk(i, 0.0, c) for i, c in enumerate(chunks)]
    query = set(_terms(question))
    docs = [Counter(_terms(c)) for c in chunks]
    lengths = [sum(d.values()) or 1 for d in docs]
    avg_len = sum(lengths) / len(lengths)
    n = len(chunks)
    k1, b = 1.5, 0.75
    df = Counter(term for d in docs for term in query if term in d)
    scores: list[float] = []
    for doc, length in zip(docs, lengths, strict=True):
        score = 0.0
        for term in query:
            tf = doc.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_len))
        scores.append(score)
    ranked = sorted(range(n), key=lambda i: (-scores[i], i))
    if all(s == 0 for s in scores):
        ranked = list(range(n))
    chosen: list[int] = []
    used = 0
    for i in ranked:
        cost = estimate_tokens(chunks[i])
        if used + cost > budget_tokens:
            continue
        chosen.append(i)
        used += cost
    return [ScoredChunk(i, scores[i], chunks[i]) for i in sorted(chosen)]

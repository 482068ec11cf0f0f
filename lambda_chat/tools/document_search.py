"""The `search_documents` tool: excerpts from the caller's own ready document uploads.

Scoped by the caller's identity like every other read: records come from
``DocumentLibrary.record(user_id, ...)`` (keyed by the user, and refused when the record names
another owner) or from an ``UploadListing`` queried by the user's key, and every record is
checked again for its owner before its text is read. Text comes from the document text cache
(``DocumentLibrary.document``: one HEAD plus the cached extraction when the file is unchanged);
ranking is the BM25 code the chat's document excerpts use (``select_relevant_chunks``).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from chatbot_common.errors import DomainError
from chatbot_common.uploads import UploadRecord
from lambda_chat.attachments.chunking import estimate_tokens, select_relevant_chunks, split_into_chunks
from lambda_chat.attachments.documents import DocumentLibrary
from lambda_chat.tools.registry import Tool, ToolContext, ToolError

_log = logging.getLogger(__name__)


class UploadListing(Protocol):
    def ready_documents(self, user_id: str, limit: int) -> list[UploadRecord]:
        """The caller's uploads with purpose "document" and status "ready", newest first, at most
        `limit`. Reads only keys of `user_id`."""
        ...


@dataclass(frozen=True)
class SearchOptions:
    chunk_tokens: int = 250
    max_documents: int = 20
    max_results: int = 5
    max_excerpt_chars: int = 1_500


@dataclass(frozen=True)
class Passage:
    record: UploadRecord
    index: int  # position of the chunk in its document
    total: int  # chunks in the document
    text: str
    page: int | None
    section: str | None
    score: float


_PAGE_MARK = re.compile(r"^\[Page (\d+)(?::[^\]]*)?\]$", re.MULTILINE)  # written by extract_pdf
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)  # Markdown headings


def _positions(text: str, chunks: Sequence[str]) -> list[int]:
    """Start offset of each chunk in `text` (chunks come in order from the splitter)."""
    offsets: list[int] = []
    cursor = 0
    for chunk in chunks:
        found = text.find(chunk, cursor)
        if found < 0:
            found = text.find(chunk[:80], cursor)
        start = found if found >= 0 else cursor
        offsets.append(start)
        cursor = start + 1
    return offsets


def _last_before(marks: list[tuple[int, str]], offset: int) -> str | None:
    i = bisect.bisect_right([position for position, _ in marks], offset) - 1
    return marks[i][1] if i >= 0 else None


def document_passages(record: UploadRecord, text: str, chunk_tokens: int) -> list[Passage]:
    """The document cut into passages, each with its page (PDF) or section (Markdown heading)."""
    chunks = split_into_chunks(text, chunk_tokens)
    offsets = _positions(text, chunks)
    pages = [(m.start(), m.group(1)) for m in _PAGE_MARK.finditer(text)]
    headings = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)] if record.kind == "md" else []
    passages = []
    for index, (chunk, offset) in enumerate(zip(chunks, offsets, strict=True)):
        # A chunk that starts with a page mark belongs to that page.
        page = _last_before(pages, offset + len(chunk.split("\n", 1)[0])) if pages else None
        section = _last_before(headings, offset + len(chunk.split("\n", 1)[0])) if headings else None
        passages.append(Passage(record, index, len(chunks), chunk, int(page) if page else None, section, 0.0))
    return passages


def rank_passages(passages: list[Passage], query: str, options: SearchOptions) -> tuple[list[Passage], bool]:
    """The passages most relevant to `query` (BM25 over all the documents' passages together),
    best first, and whether they are simply all the text (everything fit the result budget, so
    nothing was ranked).

    Passages with no query term in common are left out when ranking happened.
    """
    budget = options.max_results * options.chunk_tokens
    texts = [p.text for p in passages]
    if sum(estimate_tokens(t) for t in texts) <= budget:
        return passages, True
    chosen = select_relevant_chunks(texts, query, budget)
    scored = [Passage(**{**passages[c.index].__dict__, "score": c.score}) for c in chosen if c.score > 0]
    scored.sort(key=lambda p: -p.score)
    return scored[: options.max_results], False


def _excerpt(passage: Passage, max_chars: int) -> dict[str, Any]:
    text = _PAGE_MARK.sub("", passage.text).strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    result: dict[str, Any] = {
        "document": passage.record.filename,
        "uploadId": passage.record.upload_id,
        "part": f"{passage.index + 1} of {passage.total}",
    }
    if passage.page is not None:
        result["page"] = passage.page
    if passage.section:
        result["section"] = passage.section
    result["excerpt"] = text
    return result


SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "description": "Words to look for in the user's documents",
            "minLength": 1,
            "maxLength": 500,
        },
        "scope": {
            "type": "string",
            "enum": ["conversation", "all"],
            "description": (
                "conversation: the documents attached in this conversation; all: every document "
                "the user has uploaded. Default: this conversation's when it has any, else all."
            ),
        },
        "maxResults": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["query"],
    "additionalProperties": False,
}


class DocumentSearch:
    """Searches one user's ready documents; every read is keyed by `ToolContext.user_id`."""

    def __init__(
        self, library: DocumentLibrary, listing: UploadListing, options: SearchOptions | None = None
    ) -> None:
        self._library = library
        self._listing = listing
        self._options = options or SearchOptions()

    def records(self, context: ToolContext, scope: str | None) -> tuple[str, list[UploadRecord]]:
        """The scope actually searched and the caller's ready documents in it."""
        if scope is None:
            scope = "conversation" if context.conversation_upload_ids else "all"
        if scope == "conversation":
            records = []
            for upload_id in dict.fromkeys(context.conversation_upload_ids):
                try:
                    record = self._library.record(context.user_id, upload_id)
                except DomainError:
                    continue  # expired, rejected, or not the caller's: not searchable
                # Already used by this conversation's turns, so any status but rejected (which
                # record() refuses) is searchable, as it was for the chat itself.
                if record.purpose == "document":
                    records.append(record)
        else:
            records = self._listing.ready_documents(context.user_id, self._options.max_documents)
        # Defence in depth: whatever an adapter returns, only the caller's records are read.
        own = [r for r in records if r.user_id == context.user_id]
        return scope, own[: self._options.max_documents]

    def search(
        self, context: ToolContext, query: str, scope: str | None, max_results: int | None
    ) -> dict[str, Any]:
        """Blocking (S3 and DynamoDB reads): run it off the event loop."""
        options = self._options
        if max_results is not None:
            options = replace(options, max_results=max_results)
        searched_scope, records = self.records(context, scope)
        if not records:
            where = "in this conversation" if searched_scope == "conversation" else "for this user"
            raise ToolError(f"There are no ready documents {where} to search.")
        passages: list[Passage] = []
        searched: list[str] = []
        skipped: list[dict[str, str]] = []
        for record in records:
            try:
                loaded = self._library.document(record)
            except DomainError as exc:
                skipped.append({"document": record.filename, "reason": exc.message})
                continue
            searched.append(record.filename)
            passages.extend(document_passages(record, loaded.text, options.chunk_tokens))
        ranked, whole = rank_passages(passages, query, options)
        result: dict[str, Any] = {
            "query": query,
            "scope": searched_scope,
            "searchedDocuments": searched,
            "match": "all text (the documents are short)" if whole else "best matching passages",
            "results": [_excerpt(p, options.max_excerpt_chars) for p in ranked],
        }
        if skipped:
            result["skipped"] = skipped
        if not ranked:
            result["note"] = "No passage contains the query's words; try other words."
        return result


def search_documents_tool(search: DocumentSearch) -> Tool:
    async def run(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        return await asyncio.to_thread(
            search.search,
            context,
            str(arguments["query"]),
            arguments.get("scope"),
            arguments.get("maxResults"),
        )

    return Tool(
        name="search_documents",
        title="Search documents",
        description=(
            "Searches the user's uploaded documents (PDF, Word, text, Markdown, HTML, CSV) and "
            "returns the best matching passages with document name and page or section. Use it "
            "when the user asks about their documents or files."
        ),
        input_schema=SEARCH_SCHEMA,
        run=run,
    )

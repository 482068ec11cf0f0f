from __future__ import annotations

import json
from dataclasses import replace

from chatbot_common.uploads import UploadRecord
from lambda_chat.tools.document_search import DocumentSearch, SearchOptions, search_documents_tool
from lambda_chat.tools.registry import ToolCall, ToolContext, ToolRegistry
from tests.async_support import run_coroutine
from tests.fakes.uploads import Uploads
from tests.fakes.sample_files import text_pdf

FILLER = "Quarterly planning notes about office logistics and catering. " * 30


MARKDOWN = f"# Intro\n\n{FILLER}\n\n## Travel\n\nTravel expenses are refunded within 30 days.\n\n{FILLER}"


class MemoryListing:
    """In-memory UploadListing over the same records the library reads (keyed by owner)."""

    def __init__(self, uploads: Uploads) -> None:
        self._uploads = uploads
        self.asked: list[str] = []

    def ready_documents(self, user_id: str, limit: int) -> list[UploadRecord]:
        self.asked.append(user_id)
        records = [
            r
            for (owner, _), r in self._uploads.records.records.items()
            if owner == user_id and r.status == "ready" and r.purpose == "document"
        ]
        return sorted(records, key=lambda r: r.upload_id, reverse=True)[:limit]


def ready(uploads: Uploads, user: str, name: str, data: bytes, kind: str) -> UploadRecord:
    record = replace(uploads.add(user, name, data, kind), status="ready")
    uploads.records.records[(user, record.upload_id)] = record
    return record


def setup() -> tuple[Uploads, ToolRegistry, dict[str, UploadRecord]]:
    uploads = Uploads()
    docs = {
        "alice_pdf": ready(
            uploads,
            "alice",
            "handbook.pdf",
            text_pdf(
                [FILLER, FILLER + " The vacation policy grants 25 days of paid leave per year.", FILLER]
            ),
            "pdf",
        ),
        "alice_md": ready(
            uploads,
            "alice",
            "notes.md",
            MARKDOWN.encode(),
            "md",
        ),
        "bob_secret": ready(
            uploads, "bob", "bob-secret.txt", b"Bob's vacation policy: 99 days of paid leave. " * 40, "txt"
        ),
    }
    search = DocumentSearch(
        uploads.library, MemoryListing(uploads), SearchOptions(chunk_tokens=120, max_results=3)
    )
    return uploads, ToolRegistry([search_documents_tool(search)]), docs


def run(registry: ToolRegistry, context: ToolContext, **arguments: object):
    return run_coroutine(registry.run(ToolCall("s", "search_documents", arguments), context))


def test_search_finds_the_passage_with_document_name_and_page() -> None:
    _, registry, _ = setup()

    outcome = run(registry, ToolContext(user_id="alice"), query="vacation policy paid leave")

    assert outcome.status == "success"
    found = json.loads(outcome.text)
    assert found["scope"] == "all" and sorted(found["searchedDocuments"]) == ["handbook.pdf", "notes.md"]
    best = found["results"][0]
    assert (best["document"], best["page"]) == ("handbook.pdf", 2)
    assert "25 days of paid leave" in best["excerpt"]


def test_markdown_passages_name_their_section() -> None:
    _, registry, _ = setup()

    found = json.loads(run(registry, ToolContext(user_id="alice"), query="travel expenses refunded").text)

    best = found["results"][0]
    assert (best["document"], best["section"]) == ("notes.md", "Travel")


def test_another_users_documents_are_never_seen() -> None:
    uploads, registry, docs = setup()
    bob = docs["bob_secret"]

    # Alice searches all her documents, then forges Bob's upload id as "this conversation's".
    everything = run(registry, ToolContext(user_id="alice"), query="Bob vacation 99 days")
    forged = run(
        registry,
        ToolContext(user_id="alice", conversation_upload_ids=(bob.upload_id,)),
        query="Bob vacation 99 days",
        scope="conversation",
    )

    excerpts = json.loads(everything.text)["results"]
    assert excerpts and all(
        r["document"] != "bob-secret.txt" and "99 days" not in r["excerpt"] for r in excerpts
    )
    assert "bob-secret" not in everything.text
    assert forged.status == "error" and "no ready documents in this conversation" in forged.text
    assert all(not key.startswith("uploads/bob/") for key in uploads.files.reads)


def test_conversation_scope_searches_only_its_documents_and_is_the_default_when_it_has_some() -> None:
    _, registry, docs = setup()
    context = ToolContext(user_id="alice", conversation_upload_ids=(docs["alice_md"].upload_id,))

    found = json.loads(run(registry, context, query="vacation policy").text)

    assert found["scope"] == "conversation" and found["searchedDocuments"] == ["notes.md"]
    assert found["results"] == [] and "No passage" in found["note"]


def test_the_text_cache_is_used_on_later_searches() -> None:
    uploads, registry, _ = setup()
    run(registry, ToolContext(user_id="alice"), query="vacation")
    reads_after_first = len(uploads.files.reads)

    run(registry, ToolContext(user_id="alice"), query="travel")

    assert reads_after_first == 2 and len(uploads.files.reads) == reads_after_first


def test_a_user_without_documents_gets_a_plain_error() -> None:
    _, registry, _ = setup()

    outcome = run(registry, ToolContext(user_id="carol"), query="anything")

    assert outcome.status == "error" and "no ready documents for this user" in outcome.text


def test_short_documents_are_returned_whole() -> None:
    uploads = Uploads()
    ready(uploads, "dana", "todo.txt", b"Buy milk. Call the plumber.", "txt")
    registry = ToolRegistry([search_documents_tool(DocumentSearch(uploads.library, MemoryListing(uploads)))])

    found = json.loads(run(registry, ToolContext(user_id="dana"), query="plumber").text)

    assert (
        found["match"].startswith("all text")
        and found["results"][0]["excerpt"] == "Buy milk. Call the plumber."
    )

"""The AttachmentResolver and the summary service against in-memory storage and the chat domain."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from chatbot_common.errors import Conflict, InvalidInput, NotFound, UnprocessableContent, UnsupportedMediaType
from lambda_chat.attachments.documents import cache_key
from lambda_chat.attachments.map_reduce import SummaryOptions
from lambda_chat.attachments.resolver import UploadAttachmentResolver
from lambda_chat.attachments.summary_service import DocumentSummaryService, aggregate_summary
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatConfig, ChatService, TurnInput
from lambda_chat.domain.ports import AttachmentRequest
from tests.fakes import sample_files as files
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeModel, FakeStore
from tests.fakes.uploads import Uploads


@pytest.fixture
def uploads() -> Uploads:
    return Uploads()


@pytest.fixture
def resolver(uploads: Uploads) -> UploadAttachmentResolver:
    return UploadAttachmentResolver(uploads.library, excerpt_chunk_tokens=100)


def _long_manual() -> str:
    sections = [f"Section {i}. " + "routine maintenance instructions apply here. " * 30 for i in range(60)]
    sections[42] += "The torque for the rotor bolts is 85 newton metres."
    return "\n\n".join(sections)


def test_two_images_become_image_blocks_and_references_without_bytes(
    uploads: Uploads, resolver: UploadAttachmentResolver
) -> None:
    a = uploads.add("alice", "a.png", files.png_bytes(20, 20, "red"), "png")
    b = uploads.add("alice", "b.jpg", files.image_bytes(30, 10, "JPEG", "blue"), "jpeg")
    resolved = resolver.resolve(
        AttachmentRequest("alice", [a.upload_id, b.upload_id], [], "compare them", 1000)
    )
    assert [blk["image"]["format"] for blk in resolved.content_blocks] == ["png", "jpeg"]
    assert resolved.content_blocks[0]["image"]["source"]["bytes"] == uploads.files.objects[a.key]
    assert resolved.references == [
        {"uploadId": a.upload_id, "kind": "image", "filename": "a.png", "key": a.key},
        {"uploadId": b.upload_id, "kind": "image", "filename": "b.jpg", "key": b.key},
    ]
    assert all(isinstance(v, str) for ref in resolved.references for v in ref.values())


def test_a_small_document_is_included_whole(uploads: Uploads, resolver: UploadAttachmentResolver) -> None:
    doc = uploads.add("alice", "note.txt", b"The meeting moved to Thursday.", "txt")
    resolved = resolver.resolve(AttachmentRequest("alice", [doc.upload_id], [], "when is the meeting?", 1000))
    (block,) = resolved.content_blocks
    assert "The meeting moved to Thursday." in block["text"]
    assert 'name="note.txt"' in block["text"]


def test_a_follow_up_gets_the_relevant_excerpt_of_an_earlier_document(
    uploads: Uploads, resolver: UploadAttachmentResolver
) -> None:
    doc = uploads.add("alice", "manual.txt", _long_manual().encode(), "txt")
    earlier = [{"uploadId": doc.upload_id, "kind": "document", "filename": "manual.txt", "key": doc.key}]
    resolved = resolver.resolve(
        AttachmentRequest("alice", [], earlier, "What torque for the rotor bolts?", 600)
    )
    (block,) = resolved.content_blocks
    assert "85 newton metres" in block["text"]
    assert "excerpts=" in block["text"]
    assert len(block["text"]) < 600 * 4 + 400
    assert resolved.references == []  # the earlier message already holds the reference


def test_extracted_text_is_cached_and_reused(uploads: Uploads, resolver: UploadAttachmentResolver) -> None:
    doc = uploads.add("alice", "r.pdf", files.text_pdf(["alpha page", "omega page"]), "pdf")
    resolver.resolve(AttachmentRequest("alice", [doc.upload_id], [], "q", 1000))
    cached = uploads.files.json[cache_key(doc)]
    assert "omega page" in cached["text"]
    assert cache_key(doc).endswith("/.extracted.json")
    cached["text"] = "[Page 1]\nfrom the cache"
    resolved = resolver.resolve(AttachmentRequest("alice", [doc.upload_id], [], "q", 1000))
    assert "from the cache" in resolved.content_blocks[0]["text"]


def test_a_replaced_object_is_extracted_again(uploads: Uploads, resolver: UploadAttachmentResolver) -> None:
    doc = uploads.add("alice", "n.txt", b"first version", "txt")
    resolver.resolve(AttachmentRequest("alice", [doc.upload_id], [], "q", 1000))
    uploads.files.objects[doc.key] = b"second version"
    assert (
        "second version"
        in resolver.resolve(AttachmentRequest("alice", [doc.upload_id], [], "q", 1000)).content_blocks[0][
            "text"
        ]
    )


def test_another_users_upload_is_not_found(uploads: Uploads, resolver: UploadAttachmentResolver) -> None:
    doc = uploads.add("alice", "n.txt", b"private", "txt")
    with pytest.raises(NotFound):
        resolver.resolve(AttachmentRequest("mallory", [doc.upload_id], [], "q", 1000))


def test_malformed_ids_are_invalid(resolver: UploadAttachmentResolver) -> None:
    with pytest.raises(InvalidInput):
        resolver.resolve(AttachmentRequest("alice", ["../../x"], [], "q", 1000))


def test_hostile_file_fails_and_nothing_is_cached(
    uploads: Uploads, resolver: UploadAttachmentResolver
) -> None:
    doc = uploads.add("alice", "e.pdf", files.encrypted_pdf(), "pdf")
    with pytest.raises(UnprocessableContent, match="encrypted"):
        resolver.resolve(AttachmentRequest("alice", [doc.upload_id], [], "q", 1000))
    assert uploads.files.json == {}


def test_an_expired_earlier_document_is_skipped(uploads: Uploads, resolver: UploadAttachmentResolver) -> None:
    doc = uploads.add("alice", "n.txt", b"text", "txt")
    del uploads.files.objects[doc.key]
    earlier = [{"uploadId": doc.upload_id, "kind": "document", "filename": "n.txt", "key": doc.key}]
    assert resolver.resolve(AttachmentRequest("alice", [], earlier, "q", 1000)).content_blocks == []


# --- through the chat domain ------------------------------------------------------------------


def _chat(uploads: Uploads, model: FakeModel, store: FakeStore) -> ChatService:
    catalog = ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID)
    resolver = UploadAttachmentResolver(uploads.library, excerpt_chunk_tokens=100)
    return ChatService(store, model, catalog, ChatConfig(history_token_budget=2000), attachments=resolver)


def test_chat_turn_sends_images_to_the_model_and_stores_only_references(uploads: Uploads) -> None:
    store, model = FakeStore(), FakeModel()
    chat = _chat(uploads, model, store)
    a = uploads.add("alice", "a.png", files.png_bytes(8, 8), "png")
    b = uploads.add("alice", "b.png", files.png_bytes(9, 9, "blue"), "png")
    result = chat.run_turn(
        "alice", TurnInput(message="", preset="caption", attachments=(a.upload_id, b.upload_id))
    )
    sent = model.requests[-1].messages[-1].content
    assert [next(iter(block)) for block in sent] == ["image", "image", "text"]
    assert "caption" in sent[-1]["text"]
    user_message = store.all_messages("alice", result.conversation_id)[0]
    assert [ref["uploadId"] for ref in user_message.attachments] == [a.upload_id, b.upload_id]
    assert "bytes" not in repr(user_message.attachments)


def test_hostile_attachment_refuses_the_turn_and_writes_nothing(uploads: Uploads) -> None:
    store, model = FakeStore(), FakeModel()
    chat = _chat(uploads, model, store)
    bomb = uploads.add("alice", "bomb.png", files.png_pixel_bomb(), "png")
    with pytest.raises(Exception) as raised:
        chat.run_turn("alice", TurnInput(message="what is it?", attachments=(bomb.upload_id,)))
    assert getattr(raised.value, "status", 0) == 413
    assert store.conversations == {} and model.requests == []


# --- summaries --------------------------------------------------------------------------------


def _summaries(uploads: Uploads, model: FakeModel, store: FakeStore) -> DocumentSummaryService:
    catalog = ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID)
    return DocumentSummaryService(
        uploads.library, store, model, catalog, options=SummaryOptions(chunk_tokens=300, max_concurrency=3)
    )


def test_summary_is_stored_with_a_reference_and_a_call_record_per_model_call(uploads: Uploads) -> None:
    store, model = FakeStore(), FakeModel(reply=lambda req: "summary text")
    doc = uploads.add("alice", "manual.txt", _long_manual().encode(), "txt")
    events = list(_summaries(uploads, model, store).start_summary("alice", doc.upload_id))
    names = [e.name for e in events]
    assert names[0] == "meta" and names[-2:] == ["usage", "done"]
    progress = [e.data for e in events if e.name == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == len(model.requests)
    outcome = aggregate_summary(iter(events))
    assert outcome.summary == "summary text"
    assert outcome.chunks > 5
    stored = store.all_messages("alice", outcome.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].content == "Summarize manual.txt"
    assert stored[0].attachments == [
        {"uploadId": doc.upload_id, "kind": "document", "filename": "manual.txt", "key": doc.key}
    ]
    assert stored[1].content == "summary text" and stored[1].id == outcome.message_id
    assert len(store.calls) == len(model.requests)
    assert {c.kind for c in store.calls} == {"summary"}
    assert store.conversations[("alice", outcome.conversation_id)].title == "Summary of manual.txt"


def test_a_summary_on_a_priced_model_costs_every_call_and_the_answer_their_sum(uploads: Uploads) -> None:
    # Given Nova Lite's price ($0.00006 / 1K input, $0.00024 / 1K output)
    priced = "us.amazon.nova-lite-v1:0"
    store, model = FakeStore(), FakeModel(reply=lambda req: "summary text")
    catalog = ModelCatalog(FakeDirectory((MODEL_ID, priced)), default_model_id=priced)
    service = DocumentSummaryService(
        uploads.library, store, model, catalog, options=SummaryOptions(chunk_tokens=300, max_concurrency=3)
    )
    doc = uploads.add("alice", "manual.txt", _long_manual().encode(), "txt")
    # When it is summarized (map-reduce: many calls)
    outcome = aggregate_summary(service.start_summary("alice", doc.upload_id))
    # Then each call record is priced, and the answer's cost is the price of all their tokens
    assert len(store.calls) > 5 and all(c.cost_usd is not None and c.cost_usd > 0 for c in store.calls)
    answer = store.all_messages("alice", outcome.conversation_id)[-1]
    expected = (
        Decimal("0.00006") * answer.usage.input_tokens + Decimal("0.00024") * answer.usage.output_tokens
    ) / 1000
    assert answer.cost_usd == pytest.approx(expected, rel=Decimal("0.001"))
    assert outcome.cost_usd == float(answer.cost_usd)


@pytest.mark.parametrize(
    ("make", "kind", "error"),
    [
        (files.encrypted_pdf, "pdf", UnprocessableContent),
        (files.corrupt_pdf, "pdf", UnprocessableContent),
        (lambda: b"", "txt", UnprocessableContent),
        (lambda: files.png_bytes(5, 5), "pdf", UnsupportedMediaType),
    ],
)
def test_hostile_documents_are_refused_before_anything_is_stored(uploads: Uploads, make, kind, error) -> None:
    store, model = FakeStore(), FakeModel()
    doc = uploads.add("alice", f"x.{kind}", make(), kind)
    with pytest.raises(error):
        _summaries(uploads, model, store).start_summary("alice", doc.upload_id)
    assert store.conversations == {} and store.messages == {} and store.calls == [] and model.requests == []
    assert uploads.files.json == {}


def test_a_model_failure_mid_summary_stores_no_messages(uploads: Uploads) -> None:
    from chatbot_common.errors import UpstreamError

    store = FakeStore()
    # More failing scripts than the document has chunks: every map call fails, however many start
    # before the first failure is seen (a fake with scripts left over answers normally).
    model = FakeModel(scripts=[[UpstreamError("boom")]] * 500)
    doc = uploads.add("alice", "m.txt", _long_manual().encode(), "txt")
    events = _summaries(uploads, model, store).start_summary("alice", doc.upload_id)
    with pytest.raises(UpstreamError):
        aggregate_summary(events)
    assert store.conversations == {} and store.messages == {}
    assert store.calls and all(c.status == "error" for c in store.calls)


def test_an_image_cannot_be_summarized(uploads: Uploads) -> None:
    img = uploads.add("alice", "a.png", files.png_bytes(4, 4), "png")
    with pytest.raises(UnsupportedMediaType):
        _summaries(uploads, FakeModel(), FakeStore()).start_summary("alice", img.upload_id)


def test_client_going_away_mid_summary_stops_model_calls_and_stores_nothing(uploads: Uploads) -> None:
    import time

    class SlowModel(FakeModel):
        def stream(self, request):  # type: ignore[no-untyped-def]
            time.sleep(0.02)
            yield from super().stream(request)

    store = FakeStore()
    model = SlowModel(reply=lambda req: "partial")
    doc = uploads.add("alice", "m.txt", _long_manual().encode(), "txt")
    service = DocumentSummaryService(
        uploads.library,
        store,
        model,
        ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID),
        options=SummaryOptions(chunk_tokens=100, max_concurrency=1),
    )
    events = service.start_summary("alice", doc.upload_id)
    assert next(events).name == "meta"
    first = next(events)
    assert first.name == "progress" and first.data["total"] > 20
    events.close()  # what the SSE relay does when the client disconnects
    time.sleep(0.2)
    made = len(model.requests)
    time.sleep(0.2)
    assert len(model.requests) == made <= 3  # no new calls after the in-flight one
    assert store.conversations == {} and store.messages == {}


def test_every_summary_model_call_is_observed_like_a_chat_call(uploads: Uploads) -> None:
    # Given a summary service whose observer (log line + metrics in the app) records what it sees
    store, model = FakeStore(), FakeModel(reply=lambda req: "summary text")
    observed: list = []
    service = DocumentSummaryService(
        uploads.library,
        store,
        model,
        ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID),
        options=SummaryOptions(chunk_tokens=300, max_concurrency=3),
        on_call=observed.append,
    )
    doc = uploads.add("alice", "manual.txt", _long_manual().encode(), "txt")
    # When a document is summarised
    aggregate_summary(service.start_summary("alice", doc.upload_id))
    # Then the observer saw exactly the call records the call log holds, marked as summary calls
    assert sorted(r.call_id for r in observed) == sorted(r.call_id for r in store.calls)
    assert len(observed) == len(model.requests) and {r.kind for r in observed} == {"summary"}


@pytest.mark.parametrize(("name", "kind"), [("photo.png", "png"), ("notes.txt", "txt")])
def test_an_upload_never_posted_is_not_ready_and_one_gone_after_arriving_is_not_found(
    uploads: Uploads, resolver: UploadAttachmentResolver, name: str, kind: str
) -> None:
    # Given an upload reserved (record pending) whose file was never posted
    record = uploads.add("alice", name, files.png_bytes(4, 4, "red") if kind == "png" else b"hello", kind)
    del uploads.files.objects[record.key]
    # Then attaching it says the file has not arrived (409 upload_not_ready), not that it expired
    with pytest.raises(Conflict) as raised:
        resolver.resolve(AttachmentRequest("alice", [record.upload_id], [], "q", 1000))
    assert raised.value.code == "upload_not_ready" and name in raised.value.message
    # And once it had arrived (ready) and is gone, it is not found (expired)
    uploads.records.records[("alice", record.upload_id)] = replace(record, status="ready")
    with pytest.raises(NotFound):
        resolver.resolve(AttachmentRequest("alice", [record.upload_id], [], "q", 1000))

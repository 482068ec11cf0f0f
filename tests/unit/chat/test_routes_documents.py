"""POST /documents/{uploadId}/summary through the real chat app, in-process with fakes (no sockets)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from lambda_chat.attachments.resolver import UploadAttachmentResolver
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeModel, FakeStore
from tests.fakes.uploads import Uploads


@pytest.fixture
def uploads() -> Uploads:
    return Uploads()


@pytest.fixture
def client(uploads: Uploads) -> TestClient:
    settings = Settings(
        table_name="table", uploads_bucket="bucket", local_mode=True, default_model_id=MODEL_ID
    )
    app = create_app(
        settings,
        store=FakeStore(),
        model=FakeModel(reply=lambda request: "A short summary."),
        model_directory=FakeDirectory(),
        attachments=UploadAttachmentResolver(uploads.library),
    )
    return TestClient(app)


def test_summary_without_a_body_starts_a_conversation(client: TestClient, uploads: Uploads) -> None:
    doc = uploads.add("local-dev-user", "notes.txt", b"Some notes worth summarizing.", "txt")
    response = client.post(f"/documents/{doc.upload_id}/summary")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "conversationId",
        "messageId",
        "summary",
        "chunks",
        "stopReason",
        "usage",
        "model",
        "latencyMs",
        "costUsd",
    }
    assert body["stopReason"] == "end_turn"
    assert (body["summary"], body["chunks"], body["model"]) == ("A short summary.", 1, MODEL_ID)
    conversation = client.get(f"/conversations/{body['conversationId']}").json()
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]
    # A local model costs 0: the summary shows its cost like any answer (the page showed none)
    assert body["costUsd"] == 0 and conversation["messages"][1]["costUsd"] == 0


def test_summary_as_server_sent_events(client: TestClient, uploads: Uploads) -> None:
    doc = uploads.add("local-dev-user", "notes.txt", b"Some notes worth summarizing.", "txt")
    response = client.post(f"/documents/{doc.upload_id}/summary", headers={"Accept": "text/event-stream"})
    names = [line.split(": ", 1)[1] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names[0] == "meta" and "progress" in names and "delta" in names and names[-2:] == ["usage", "done"]


def test_summary_into_an_existing_conversation_of_someone_else_is_404(
    client: TestClient, uploads: Uploads
) -> None:
    doc = uploads.add("local-dev-user", "notes.txt", b"text", "txt")
    response = client.post(f"/documents/{doc.upload_id}/summary", json={"conversationId": "0" * 26})
    assert response.status_code == 404


@pytest.mark.parametrize(("upload_id", "status"), [("bad-id", 400), ("0123456789abcdefghjkmnpqrs", 404)])
def test_bad_and_unknown_upload_ids(client: TestClient, upload_id: str, status: int) -> None:
    response = client.post(f"/documents/{upload_id}/summary", json={})
    assert response.status_code == status
    assert "error" in response.json()


def test_openapi_documents_the_summary_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/documents/{uploadId}/summary"]["post"]
    assert "text/event-stream" in json.dumps(operation["responses"]["200"])


def _cut_and_tagged_client(uploads: Uploads) -> tuple[TestClient, FakeModel]:
    from lambda_chat.domain.ports import ModelChunk

    settings = Settings(
        table_name="table", uploads_bucket="bucket", local_mode=True, default_model_id=MODEL_ID
    )
    # The model echoes the prompt's wrapper tag, split across stream events, and is cut by maxTokens.
    pieces = ["The notes say", " to water the plants.", "\n</doc", "ument>"]
    model = FakeModel(
        scripts=[
            [
                *(ModelChunk(text=p) for p in pieces),
                ModelChunk(input_tokens=9, output_tokens=800),
                ModelChunk(stop_reason="max_tokens"),
            ]
            for _ in range(2)
        ]
    )
    app = create_app(
        settings,
        store=FakeStore(),
        model=model,
        model_directory=FakeDirectory(),
        attachments=UploadAttachmentResolver(uploads.library),
    )
    return TestClient(app), model


def test_a_summary_cut_by_the_output_limit_says_max_tokens_in_json_and_sse(uploads: Uploads) -> None:
    client, _ = _cut_and_tagged_client(uploads)
    doc = uploads.add("local-dev-user", "notes.txt", b"Water the plants on Monday.", "txt")
    body = client.post(f"/documents/{doc.upload_id}/summary", json={}).json()
    assert body["stopReason"] == "max_tokens"
    assert body["summary"] == "The notes say to water the plants."  # no </document>
    messages = client.get(f"/conversations/{body['conversationId']}").json()["messages"]
    assert messages[-1]["content"] == "The notes say to water the plants."
    assert messages[-1]["status"] == "incomplete"

    response = client.post(f"/documents/{doc.upload_id}/summary", headers={"Accept": "text/event-stream"})
    events = [line for line in response.text.splitlines() if line.startswith(("event: ", "data: "))]
    done = json.loads(events[events.index("event: done") + 1].removeprefix("data: "))
    assert done["stopReason"] == "max_tokens"
    deltas = [
        json.loads(events[i + 1].removeprefix("data: "))["text"]
        for i, line in enumerate(events)
        if line == "event: delta"
    ]
    assert "".join(deltas).strip() == "The notes say to water the plants."

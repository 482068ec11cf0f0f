"""The upload app's HTTP layer in-process (no sockets): shapes, status codes, identity."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from chatbot_common.settings import Settings
from lambda_upload.app import create_app
from lambda_upload.domain import UploadLimits, UploadService
from tests.fakes.uploads import MemoryObjects, MemoryRecords


def _client(local_mode: bool = True) -> TestClient:
    settings = Settings(table_name="table", uploads_bucket="bucket", local_mode=local_mode)
    service = UploadService(MemoryObjects(), MemoryRecords(), UploadLimits(1000, 5000, 60, 1))
    return TestClient(create_app(settings, service=service))


def test_health_needs_no_identity() -> None:
    assert _client(local_mode=False).get("/health").json() == {"status": "ok"}


def test_uploads_need_an_authenticated_identity() -> None:
    response = _client(local_mode=False).post(
        "/uploads", json={"filename": "a.txt", "contentType": "text/plain", "size": 3, "purpose": "document"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_create_upload_answers_the_documented_shape() -> None:
    response = _client().post(
        "/uploads", json={"filename": "a.txt", "contentType": "text/plain", "size": 3, "purpose": "document"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"uploadId", "url", "fields", "key", "expiresIn", "maxBytes"}
    assert body["key"] == f"uploads/local-dev-user/{body['uploadId']}/a.txt"
    assert (body["expiresIn"], body["maxBytes"]) == (60, 5000)


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "filename": "a.png",
        "contentType": "image/png",
        "size": 10,
        "purpose": "image",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_body(filename="a.exe", contentType="application/x-msdownload"), 415, "unsupported_media_type"),
        (_body(filename="a.pdf", contentType="application/pdf"), 415, "unsupported_media_type"),
        (_body(size=5000), 413, "payload_too_large"),
        (_body(size=0), 400, "invalid_request"),
        (_body(purpose="video"), 400, "invalid_request"),
        (_body(size=None), 400, "invalid_request"),
        (_body(filename="../"), 400, "invalid_request"),
    ],
)
def test_refusals_are_typed_json_errors(body: dict, status: int, code: str) -> None:
    response = _client().post("/uploads", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_unknown_and_malformed_ids() -> None:
    client = _client()
    assert client.get("/uploads/0123456789abcdefghjkmnpqrs").status_code == 404
    assert client.get("/uploads/nope").status_code == 400

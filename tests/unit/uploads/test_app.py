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
        (_body(size="10"), 400, "invalid_request"),  # a string is not a size (never coerced)
        (_body(size=True), 400, "invalid_request"),
        (_body(contentLength=10), 400, "invalid_request"),  # not a field of the API
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


def _ready_image(
    client: TestClient, objects: MemoryObjects, data: bytes, headers: dict[str, str] | None = None
) -> str:
    body = client.post("/uploads", json=_body(size=len(data)), headers=headers or {}).json()
    objects.objects[body["key"]] = data
    return str(body["uploadId"])


def test_view_url_is_a_short_lived_presigned_get_for_the_owner_only() -> None:
    import json

    from tests.fakes.sample_files import png_bytes

    settings = Settings(table_name="table", uploads_bucket="bucket", local_mode=True)
    objects = MemoryObjects()
    client = TestClient(
        create_app(
            settings, service=UploadService(objects, MemoryRecords(), UploadLimits(10_000, 5000, 60, 1))
        )
    )
    upload_id = _ready_image(client, objects, png_bytes(4, 4))
    response = client.get(f"/uploads/{upload_id}/view-url")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expiresIn"] == 300
    assert body["contentType"] == "image/png"
    assert f"/{upload_id}/" in body["url"]
    bob = {"x-amzn-request-context": json.dumps({"requestId": "r", "authorizer": {"claims": {"sub": "bob"}}})}
    assert client.get(f"/uploads/{upload_id}/view-url", headers=bob).status_code == 404
    assert client.get("/uploads/not-an-id/view-url").status_code == 400
    pending = client.post("/uploads", json=_body()).json()["uploadId"]
    not_yet = client.get(f"/uploads/{pending}/view-url")
    assert (not_yet.status_code, not_yet.json()["error"]["code"]) == (409, "upload_not_ready")
    doc = client.post(
        "/uploads", json=_body(filename="a.txt", contentType="text/plain", purpose="document")
    ).json()
    objects.objects[doc["key"]] = b"abc"
    assert client.get(f"/uploads/{doc['uploadId']}/view-url").status_code == 400

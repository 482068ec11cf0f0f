"""The upload service on moto: presigned POST from a browser-style multipart form, then status."""

from __future__ import annotations

import json

import httpx

from tests.fakes import sample_files as files
from tests.integration.uploads.conftest import BUCKET, Stack

OTHER_USER = {
    "x-amzn-request-context": json.dumps(
        {"authorizer": {"claims": {"sub": "mallory-123"}}, "requestId": "r1"}
    )
}


def test_browser_style_upload_lands_under_the_callers_prefix_and_becomes_ready(stack: Stack) -> None:
    data = files.text_pdf(["hello from a PDF"])
    ticket = stack.upload_file("../../Quarterly report.pdf", data, "application/pdf")
    assert ticket["key"] == f"uploads/local-dev-user/{ticket['uploadId']}/Quarterly report.pdf"
    assert ticket["fields"]["key"] == ticket["key"]
    assert ticket["fields"]["Content-Type"] == "application/pdf"
    assert ticket["maxBytes"] == stack.settings.document_max_bytes
    policy = json.loads(__import__("base64").b64decode(ticket["fields"]["policy"]))
    assert ["content-length-range", 1, stack.settings.document_max_bytes] in policy["conditions"]
    assert {"key": ticket["key"]} in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]

    stored = stack.s3().get_object(Bucket=BUCKET, Key=ticket["key"])["Body"].read()
    assert stored == data
    status = stack.upload.get(f"/uploads/{ticket['uploadId']}")
    assert status.status_code == 200
    assert status.json() == {
        "uploadId": ticket["uploadId"],
        "status": "ready",
        "filename": "Quarterly report.pdf",
        "purpose": "document",
        "contentType": "application/pdf",
        "size": len(data),
        "detectedType": "application/pdf",
        "reason": None,
    }


def test_status_is_pending_before_the_browser_posts(stack: Stack) -> None:
    created = stack.upload.post(
        "/uploads", json={"filename": "a.png", "contentType": "image/png", "size": 10, "purpose": "image"}
    ).json()
    status = stack.upload.get(f"/uploads/{created['uploadId']}").json()
    assert status["status"] == "pending"
    assert created["expiresIn"] == stack.settings.upload_url_expiry_seconds


def test_bucket_cors_allows_the_web_origin_to_post(stack: Stack) -> None:
    created = stack.upload.post(
        "/uploads", json={"filename": "a.txt", "contentType": "text/plain", "size": 3, "purpose": "document"}
    ).json()
    preflight = httpx.options(
        created["url"],
        headers={"Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers.get("access-control-allow-origin") in ("http://127.0.0.1:8000", "*")


def test_another_users_upload_id_is_not_found(stack: Stack) -> None:
    ticket = stack.upload_file("mine.txt", b"private notes", "text/plain")
    response = stack.upload.get(f"/uploads/{ticket['uploadId']}", headers=OTHER_USER)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_malformed_upload_id_is_a_400(stack: Stack) -> None:
    response = stack.upload.get("/uploads/..%2F..%2Fetc")
    assert response.status_code in (400, 404)
    response = stack.upload.get("/uploads/NOT-A-ULID")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_view_url_is_a_presigned_get_that_serves_the_image_inline(stack: Stack) -> None:
    data = files.png_bytes(8, 8)
    ticket = stack.upload_file("photo.png", data, "image/png", purpose="image")
    view = stack.upload.get(f"/uploads/{ticket['uploadId']}/view-url")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["expiresIn"] == 300
    assert "X-Amz-Signature=" in body["url"] and "X-Amz-Expires=300" in body["url"]
    fetched = httpx.get(body["url"])
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["content-type"] == "image/png"
    assert stack.upload.get(f"/uploads/{ticket['uploadId']}/view-url", headers=OTHER_USER).status_code == 404

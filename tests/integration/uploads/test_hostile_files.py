"""Every hostile file gets a clear 4xx and leaves nothing half-stored (no conversation, no message,
no cached extraction)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import sample_files as files
from tests.integration.uploads.conftest import BUCKET, Stack

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OTHER_USER = {
    "x-amzn-request-context": json.dumps(
        {"authorizer": {"claims": {"sub": "mallory-123"}}, "requestId": "r2"}
    )
}


def _conversation_ids(stack: Stack) -> set[str]:
    return {c["id"] for c in stack.chat.get("/conversations", params={"limit": 100}).json()["items"]}


def _objects_under(stack: Stack, upload_id: str) -> list[str]:
    listed = stack.s3().list_objects_v2(Bucket=BUCKET, Prefix=f"uploads/local-dev-user/{upload_id}/")
    return [o["Key"] for o in listed.get("Contents", [])]


def _summarize_refused(stack: Stack, upload_id: str, status: int, code: str, fragment: str) -> dict[str, Any]:
    before = _conversation_ids(stack)
    calls = len(stack.runtime.requests)
    response = stack.chat.post(f"/documents/{upload_id}/summary", json={})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]
    assert _conversation_ids(stack) == before  # no conversation, no messages
    assert len(stack.runtime.requests) == calls  # no model call
    assert not any(k.endswith(".extracted.json") for k in _objects_under(stack, upload_id))
    return dict(error)


# --- refused by the upload service (declared vs. real) ---------------------------------------------


def test_zero_byte_file_is_rejected_and_removed(stack: Stack) -> None:
    ticket = stack.upload_file("empty.txt", b"", "text/plain")
    status = stack.upload.get(f"/uploads/{ticket['uploadId']}").json()
    assert (status["status"], status["reason"]) == ("rejected", "The file is empty")
    assert _objects_under(stack, ticket["uploadId"]) == []
    _summarize_refused(stack, ticket["uploadId"], 422, "unprocessable_content", "rejected")


def test_zero_byte_file_is_refused_by_the_chat_service_even_unchecked(stack: Stack) -> None:
    ticket = stack.upload_file("empty2.txt", b"", "text/plain")  # status never asked for
    _summarize_refused(stack, ticket["uploadId"], 422, "unprocessable_content", "empty")


def test_content_not_matching_its_declared_type_is_rejected(stack: Stack) -> None:
    ticket = stack.upload_file("report.pdf", files.png_bytes(20, 20), "application/pdf")
    status = stack.upload.get(f"/uploads/{ticket['uploadId']}").json()
    assert status["status"] == "rejected"
    assert status["detectedType"] == "image/png"
    assert "not the declared application/pdf" in status["reason"]
    assert _objects_under(stack, ticket["uploadId"]) == []


def test_mismatched_content_is_refused_by_the_chat_service_too(stack: Stack) -> None:
    ticket = stack.upload_file("sheet.csv", files.docx_bytes(["x"]), "text/csv")
    _summarize_refused(stack, ticket["uploadId"], 415, "unsupported_media_type", "not the declared csv")


def test_over_the_size_limit_is_caught_on_the_server(stack: Stack) -> None:
    # moto does not enforce the POST policy's content-length-range: the server checks.
    oversized = b"\x89PNG\r\n\x1a\n" + b"\0" * (stack.settings.image_max_bytes + 10)
    ticket = stack.upload_file("huge.png", oversized, "image/png", "image", declared_size=100)
    before = _conversation_ids(stack)
    response = stack.chat.post(
        "/chat", json={"message": "what is this?", "attachments": [ticket["uploadId"]]}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert _conversation_ids(stack) == before
    status = stack.upload.get(f"/uploads/{ticket['uploadId']}").json()
    assert status["status"] == "rejected" and "limit" in status["reason"]
    assert _objects_under(stack, ticket["uploadId"]) == []


def test_declared_size_over_the_limit_gets_no_upload_url(stack: Stack) -> None:
    response = stack.upload.post(
        "/uploads",
        json={"filename": "big.pdf", "contentType": "application/pdf", "size": 10**9, "purpose": "document"},
    )
    assert response.status_code == 413


# --- refused by the chat service when parsing --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make", "ctype", "status", "code", "fragment"),
    [
        (
            "thousands.pdf",
            lambda: files.blank_pdf(3000),
            "application/pdf",
            413,
            "payload_too_large",
            "3,000 pages",
        ),
        ("corrupt.pdf", files.corrupt_pdf, "application/pdf", 422, "unprocessable_content", "corrupt"),
        ("locked.pdf", files.encrypted_pdf, "application/pdf", 422, "unprocessable_content", "encrypted"),
        ("scan.pdf", files.image_only_pdf, "application/pdf", 422, "unprocessable_content", "scanned PDF?"),
        ("bomb.docx", files.docx_zip_bomb, DOCX, 422, "unprocessable_content", "zip bomb"),
    ],
)
def test_hostile_documents_are_refused_with_a_clear_error(
    stack: Stack, name: str, make: Any, ctype: str, status: int, code: str, fragment: str
) -> None:
    upload_id = stack.ready_upload(name, make(), ctype)  # the right magic bytes: only parsing can tell
    _summarize_refused(stack, upload_id, status, code, fragment)


def test_hostile_document_attached_to_a_chat_message_refuses_the_turn(stack: Stack) -> None:
    upload_id = stack.ready_upload("locked2.pdf", files.encrypted_pdf(), "application/pdf")
    before = _conversation_ids(stack)
    response = stack.chat.post("/chat", json={"message": "summarize", "attachments": [upload_id]})
    assert response.status_code == 422
    assert _conversation_ids(stack) == before


def test_image_decompression_bomb_is_refused(stack: Stack) -> None:
    upload_id = stack.ready_upload("bomb.png", files.png_pixel_bomb(), "image/png", "image")
    before = _conversation_ids(stack)
    calls = len(stack.runtime.requests)
    response = stack.chat.post("/chat", json={"message": "describe", "attachments": [upload_id]})
    assert response.status_code == 413
    assert "decompression bomb" in response.json()["error"]["message"]
    assert _conversation_ids(stack) == before and len(stack.runtime.requests) == calls


# --- valid but large or tricky input ---------------------------------------------------------------


def test_csv_with_a_million_rows_is_summarized_from_its_profile(stack: Stack, scripted_reply) -> None:
    seen: list[str] = []

    def reply(request: dict[str, Any]) -> str:
        seen.append(request["prompt"].all_text())
        return "A table of one million rows with columns id, code and value."

    scripted_reply(reply)
    upload_id = stack.ready_upload("million.csv", files.csv_million(), "text/csv")
    response = stack.chat.post(f"/documents/{upload_id}/summary", json={})
    assert response.status_code == 200, response.text
    assert response.json()["chunks"] == 1
    assert "1,000,000 data rows" in seen[-1]
    assert "statistics from the first 1,000 rows" in seen[-1]
    assert len(seen[-1]) < 20_000  # the model got a profile, not 13 MB of rows


def test_html_scripts_are_dropped_and_text_kept(stack: Stack, scripted_reply) -> None:
    seen: list[str] = []
    scripted_reply(lambda request: seen.append(request["prompt"].all_text()) or "Revenue grew.")
    upload_id = stack.ready_upload("page.html", files.HOSTILE_HTML, "text/html")
    assert stack.chat.post(f"/documents/{upload_id}/summary", json={}).status_code == 200
    assert "Revenue grew 12%" in seen[-1]
    assert "alert(" not in seen[-1] and "document.cookie" not in seen[-1] and "evil.example" not in seen[-1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\boot.ini.txt", "boot.ini.txt"),
        ("evil\x00\x1b[31mname\r\n.txt", "evil[31mname.txt"),
        ("a" * 1000 + ".txt", "a" * 96 + ".txt"),
    ],
)
def test_hostile_filenames_are_sanitised_into_the_callers_prefix(
    stack: Stack, raw: str, expected: str
) -> None:
    ticket = stack.upload_file(raw, b"hello", "text/plain")
    assert ticket["key"] == f"uploads/local-dev-user/{ticket['uploadId']}/{expected}"
    assert stack.upload.get(f"/uploads/{ticket['uploadId']}").json()["filename"] == expected


@pytest.mark.parametrize("raw", ["../..", "\x00\x01\x02", "/"])
def test_filenames_with_nothing_left_are_refused(stack: Stack, raw: str) -> None:
    response = stack.upload.post(
        "/uploads", json={"filename": raw, "contentType": "text/plain", "size": 5, "purpose": "document"}
    )
    assert response.status_code == 400


def test_another_users_upload_cannot_be_used(stack: Stack) -> None:
    upload_id = stack.ready_upload("private.txt", b"my secrets", "text/plain")
    before = len(stack.runtime.requests)
    summary = stack.chat.post(f"/documents/{upload_id}/summary", json={}, headers=OTHER_USER)
    assert summary.status_code == 404
    chat = stack.chat.post(
        "/chat", json={"message": "read it", "attachments": [upload_id]}, headers=OTHER_USER
    )
    assert chat.status_code == 404
    assert len(stack.runtime.requests) == before

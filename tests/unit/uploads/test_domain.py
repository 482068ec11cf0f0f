"""Upload domain with in-memory fakes: presigning rules, filename sanitising, status checks."""

from __future__ import annotations

import io
import zipfile

import pytest

from chatbot_common.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from lambda_upload.domain import (
    UploadLimits,
    UploadService,
    sanitize_filename,
)
from tests.fakes.uploads import MemoryObjects, MemoryRecords

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


LIMITS = UploadLimits(image_max_bytes=1000, document_max_bytes=5000, url_expiry_seconds=120, retention_days=1)


@pytest.fixture
def objects() -> MemoryObjects:
    return MemoryObjects()


@pytest.fixture
def service(objects: MemoryObjects) -> UploadService:
    return UploadService(objects, MemoryRecords(), LIMITS)


def _presign(service: UploadService, name: str = "photo.png", ctype: str = "image/png", size: int = 100):
    purpose = "image" if ctype.startswith("image/") else "document"
    return service.presign_upload("alice", filename=name, content_type=ctype, size=size, purpose=purpose)


# --- filenames -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\system32\\notes.txt", "notes.txt"),
        ("C:\\Users\\me\\My Doc.docx", "My Doc.docx"),
        ("evil\x00name\r\n.csv", "evilname.csv"),
        ("  .hidden.md  ", "hidden.md"),
        ("caf\u0065\u0301.txt", "café.txt"),
        ("full\uff0fwidth\uff0fslash.txt", "slash.txt"),  # NFKC turns U+FF0F into '/'
        ('a<b>c:d"e|f?g*.txt', "a_b_c_d_e_f_g_.txt"),
    ],
)
def test_sanitize_filename_strips_paths_and_control_characters(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_sanitize_filename_caps_a_thousand_characters_keeping_the_extension() -> None:
    name = sanitize_filename("x" * 1000 + ".pdf")
    assert len(name) == 100
    assert name.endswith(".pdf")


@pytest.mark.parametrize("raw", ["", "../..", "/", "\x00\x01", "   ", "...", "dir/"])
def test_sanitize_filename_rejects_names_with_nothing_left(raw: str) -> None:
    with pytest.raises(InvalidInput):
        sanitize_filename(raw)


# --- presigning ----------------------------------------------------------------------------------


def test_presign_pins_key_under_the_callers_prefix_type_and_size_limit(
    service: UploadService, objects: MemoryObjects
) -> None:
    ticket = _presign(service, "../../other-user/pic.png")
    key, ctype, max_bytes, expiry = objects.presigned[0]
    assert key == f"uploads/alice/{ticket.record.upload_id}/pic.png"
    assert (ctype, max_bytes, expiry) == ("image/png", 1000, 120)
    assert ticket.record.status == "pending"
    assert ticket.max_bytes == 1000


@pytest.mark.parametrize(
    ("name", "ctype"),
    [
        ("photo.png", "image/jpeg"),  # extension and type disagree
        ("script.exe", "application/octet-stream"),
        ("page.svg", "image/svg+xml"),
        ("notes.txt", "image/png"),
    ],
)
def test_presign_refuses_unsupported_or_inconsistent_types(
    service: UploadService, name: str, ctype: str
) -> None:
    with pytest.raises(UnsupportedMediaType):
        _presign(service, name, ctype)


def test_presign_refuses_a_document_declared_as_an_image(service: UploadService) -> None:
    with pytest.raises(UnsupportedMediaType):
        service.presign_upload(
            "alice", filename="a.pdf", content_type="application/pdf", size=5, purpose="image"
        )


def test_presign_enforces_size_limits_per_purpose(service: UploadService) -> None:
    with pytest.raises(PayloadTooLarge):
        _presign(service, size=1001)
    with pytest.raises(InvalidInput):
        _presign(service, size=0)
    assert _presign(service, "a.pdf", "application/pdf", size=5000).max_bytes == 5000


# --- status --------------------------------------------------------------------------------------


def test_status_is_pending_until_the_object_arrives_then_ready(
    service: UploadService, objects: MemoryObjects
) -> None:
    ticket = _presign(service)
    assert service.upload_status("alice", ticket.record.upload_id).status == "pending"
    objects.objects[ticket.record.key] = PNG_HEAD
    record = service.upload_status("alice", ticket.record.upload_id)
    assert (record.status, record.detected_type, record.size) == ("ready", "image/png", len(PNG_HEAD))
    # Only the first bytes are read to detect the type.
    assert objects.ranges == [(ticket.record.key, 0, len(PNG_HEAD) - 1)]


@pytest.mark.parametrize(
    ("name", "ctype", "content", "reason_part"),
    [
        ("a.png", "image/png", b"", "empty"),
        ("a.png", "image/png", b"%PDF-1.7 not an image", "application/pdf"),
        ("a.pdf", "application/pdf", b"just some text", "text/plain"),
        ("a.txt", "text/plain", b"\x00\x01\x02binary", "unrecognised"),
        ("a.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"x" * 2000, "limit"),
    ],
)
def test_status_rejects_and_deletes_content_that_is_not_what_was_declared(
    service: UploadService, objects: MemoryObjects, name: str, ctype: str, content: bytes, reason_part: str
) -> None:
    ticket = _presign(service, name, ctype)
    objects.objects[ticket.record.key] = content
    record = service.upload_status("alice", ticket.record.upload_id)
    assert record.status == "rejected"
    assert reason_part in (record.reason or "")
    assert ticket.record.key not in objects.objects  # nothing half-stored
    # The verdict is kept: asking again does not re-read S3.
    assert service.upload_status("alice", ticket.record.upload_id).status == "rejected"


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, "x" * 20000)  # stored big enough that the directory is past the head
    return buf.getvalue()


def test_status_tells_a_word_document_from_any_other_zip(objects: MemoryObjects) -> None:
    service = UploadService(objects, MemoryRecords(), UploadLimits(1000, 100_000, 60, 1))
    dtype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    good = _presign(service, "a.docx", dtype, size=100)
    objects.objects[good.record.key] = _zip(["[Content_Types].xml", "word/document.xml"])
    assert service.upload_status("alice", good.record.upload_id).status == "ready"
    bad = _presign(service, "b.docx", dtype, size=100)
    objects.objects[bad.record.key] = _zip(["payload.bin"])
    record = service.upload_status("alice", bad.record.upload_id)
    assert record.status == "rejected"
    assert "zip archive" in (record.reason or "")


def test_status_of_another_users_upload_is_not_found(service: UploadService) -> None:
    ticket = _presign(service)
    with pytest.raises(NotFound):
        service.upload_status("mallory", ticket.record.upload_id)


@pytest.mark.parametrize("bad_id", ["x", "../../etc", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "0" * 27])
def test_status_of_a_malformed_id_is_invalid(service: UploadService, bad_id: str) -> None:
    with pytest.raises(InvalidInput):
        service.upload_status("alice", bad_id)


def test_rejection_stands_even_when_the_object_cannot_be_deleted(objects: MemoryObjects) -> None:
    from chatbot_common.errors import UpstreamError

    class UndeletableObjects(MemoryObjects):
        def delete(self, key: str) -> None:
            raise UpstreamError("AccessDenied")

    undeletable = UndeletableObjects()
    service = UploadService(undeletable, MemoryRecords(), LIMITS)
    ticket = _presign(service, "a.pdf", "application/pdf")
    undeletable.objects[ticket.record.key] = b"not a pdf at all"
    assert service.upload_status("alice", ticket.record.upload_id).status == "rejected"

"""Upload logic: which files are accepted, where they go, and whether what arrived is what was declared.

Plain Python: no FastAPI, no boto3, no environment. Storage comes in through the ports below.
"""

from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from chatbot_common.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from chatbot_common.keys import is_valid_id, new_id, upload_object_key
from chatbot_common.timestamps import iso_now
from chatbot_common.uploads import (
    HEAD_BYTES,
    TAIL_BYTES,
    ZIP_TYPE,
    Purpose,
    Rejection,
    UploadRecord,
    detect_type,
    file_type_by_kind,
    file_type_for,
    type_matches,
)

_log = logging.getLogger(__name__)
MAX_FILENAME_CHARS = 100
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")


def sanitize_filename(raw: str) -> str:
    """A name safe as the last part of an S3 key and in a Content-Disposition header.

    Drops any path (both separators), control and reserved characters, leading dots; normalises
    Unicode (NFKC, so look-alike slashes are caught too); caps the length at 100 characters
    keeping the extension. Raises InvalidInput when nothing usable is left.
    """
    name = unicodedata.normalize("NFKC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_CHARS.sub("_", name)
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    if not name or set(name) <= {"_", ".", " "}:
        raise InvalidInput("The filename is empty once path and control characters are removed")
    if len(name) > MAX_FILENAME_CHARS:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: MAX_FILENAME_CHARS - len(ext)].rstrip() + ext
    return name


@dataclass(frozen=True)
class UploadLimits:
    image_max_bytes: int
    document_max_bytes: int
    url_expiry_seconds: int
    retention_days: int

    def max_bytes(self, purpose: Purpose) -> int:
        return self.image_max_bytes if purpose == "image" else self.document_max_bytes


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None


class UploadObjects(Protocol):
    """The uploads bucket, as this service uses it."""

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost: ...

    def head(self, key: str) -> ObjectInfo | None:
        """None when there is no object (yet)."""

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes start..end inclusive (HTTP Range semantics)."""

    def delete(self, key: str) -> None: ...

    def presign_get(self, key: str, content_type: str, expires_in: int) -> str:
        """A presigned GET URL of the object, served inline as `content_type`."""
        ...


# How long a presigned GET of an image stays valid (seconds): long enough to load a page of
# thumbnails, short enough that a copied link soon stops working. The page asks again on reload.
VIEW_URL_SECONDS = 300


@dataclass(frozen=True)
class ViewUrl:
    url: str
    expires_in: int
    content_type: str


class UploadRecords(Protocol):
    def put(self, record: UploadRecord) -> None: ...

    def get(self, user_id: str, upload_id: str) -> UploadRecord | None: ...

    def update(self, record: UploadRecord) -> None: ...


@dataclass(frozen=True)
class UploadTicket:
    record: UploadRecord
    post: PresignedPost
    expires_in: int
    max_bytes: int


def _now() -> str:
    return iso_now(time.time())


class UploadService:
    def __init__(self, objects: UploadObjects, records: UploadRecords, limits: UploadLimits) -> None:
        self._objects = objects
        self._records = records
        self._limits = limits

    def presign_upload(
        self, user_id: str, *, filename: str, content_type: str, size: int, purpose: Purpose
    ) -> UploadTicket:
        """Record a pending upload and return a presigned POST pinned to its key, type and size range."""
        safe_name = sanitize_filename(filename)
        ftype = file_type_for(safe_name, content_type)
        if ftype is None:
            raise UnsupportedMediaType(
                f"Unsupported file: the extension and content type ({content_type}) must name one of "
                "txt, md, csv, pdf, docx, html (documents) or png, jpeg, gif, webp (images)"
            )
        if ftype.purpose != purpose:
            raise UnsupportedMediaType(f"A {ftype.kind} file cannot be uploaded as {purpose}")
        max_bytes = self._limits.max_bytes(purpose)
        if size <= 0:
            raise InvalidInput("The file is empty")
        if size > max_bytes:
            raise PayloadTooLarge(f"The file is {size} bytes; the limit for {purpose}s is {max_bytes}")
        upload_id = new_id()
        key = upload_object_key(user_id, upload_id, safe_name)
        now = _now()
        record = UploadRecord(
            user_id=user_id,
            upload_id=upload_id,
            filename=safe_name,
            key=key,
            purpose=purpose,
            kind=ftype.kind,
            content_type=ftype.content_type,
            declared_size=size,
            created_at=now,
            updated_at=now,
            expires_at=int(time.time()) + self._limits.retention_days * 86400,
        )
        # Record first: a POST that lands without a record would be an orphan no one can see.
        self._records.put(record)
        post = self._objects.presign_post(key, ftype.content_type, max_bytes, self._limits.url_expiry_seconds)
        return UploadTicket(record, post, self._limits.url_expiry_seconds, max_bytes)

    def upload_status(self, user_id: str, upload_id: str) -> UploadRecord:
        """Check what S3 holds for an upload and settle its status (pending, ready or rejected).

        A rejected object is deleted, so nothing half-valid stays around to be used later.
        """
        if not is_valid_id(upload_id):
            raise InvalidInput("Malformed upload id")
        record = self._records.get(user_id, upload_id)
        if record is None:
            raise NotFound("No such upload")
        if record.status != "pending":
            return record
        info = self._objects.head(record.key)
        if info is None:
            return record
        rejection, reason, detected = self._check(record, info)
        record.size = info.size
        record.detected_type = detected
        record.updated_at = _now()
        if rejection:
            record.status = "rejected"
            record.reason = reason
            record.rejection = rejection
            try:
                self._objects.delete(record.key)
            except DomainError as exc:
                # The verdict still stands (the chat service refuses rejected uploads) and the
                # bucket's lifecycle rule removes the object later.
                _log.warning("could not delete a rejected upload", extra={"code": exc.code})
        else:
            record.status = "ready"
        self._records.update(record)
        return record

    def view_url(self, user_id: str, upload_id: str) -> ViewUrl:
        """A short-lived presigned GET of one of the caller's own image uploads (thumbnails in
        history, full size on click). Only the owner's upload record is ever read (the key is
        under their user id), so no one else's object can be signed.

        Raises InvalidInput (bad id, not an image), NotFound (no such upload of this user, or
        rejected and deleted), Conflict `upload_not_ready` (the object has not arrived yet).
        """
        record = self.upload_status(user_id, upload_id)
        if record.purpose != "image":
            raise InvalidInput("Only image uploads can be viewed; documents are read by the chat service")
        if record.status == "rejected":
            raise NotFound("That upload was rejected and deleted")
        if record.status != "ready":
            raise Conflict("The image has not finished uploading", code="upload_not_ready")
        content_type = record.detected_type or record.content_type
        url = self._objects.presign_get(record.key, content_type, VIEW_URL_SECONDS)
        return ViewUrl(url=url, expires_in=VIEW_URL_SECONDS, content_type=content_type)

    def _check(
        self, record: UploadRecord, info: ObjectInfo
    ) -> tuple[Rejection | None, str | None, str | None]:
        """(rejection, reason, detected type); no rejection when the object is usable."""
        max_bytes = self._limits.max_bytes(record.purpose)
        if info.size == 0:
            return "empty", "The file is empty", None
        if info.size > max_bytes:
            return "too_large", f"The file is {info.size} bytes; the limit is {max_bytes}", None
        head = self._objects.read_range(record.key, 0, min(info.size, HEAD_BYTES) - 1)
        tail = b""
        if head.startswith(b"PK\x03\x04") and info.size > HEAD_BYTES:
            start = max(0, info.size - TAIL_BYTES)
            tail = self._objects.read_range(record.key, start, info.size - 1)
        detected = detect_type(head, tail)
        ftype = file_type_by_kind(record.kind)
        if not type_matches(ftype, detected):
            found = detected or "unrecognised binary data"
            if detected == ZIP_TYPE:
                found = "a zip archive that is not a Word document"
            return (
                "type_mismatch",
                f"The content is {found}, not the declared {record.content_type}",
                detected,
            )
        return None, None, detected

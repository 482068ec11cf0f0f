"""What both Lambdas agree on about uploads: accepted types, real-type detection, the upload record.

The upload Lambda checks a file when the client asks for its status; the chat Lambda checks it
again before parsing (S3's POST policy is not the only thing between a user and the parser, and
moto does not enforce it at all). Both use the detection below, so they cannot disagree.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any, Literal

import charset_normalizer

from chatbot_common.keys import upload_sk, user_pk
from chatbot_common.resources import ITEM_TYPE_ATTRIBUTE

Purpose = Literal["document", "image"]
UploadStatus = Literal["pending", "ready", "rejected"]

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
ZIP_TYPE = "application/zip"
TEXT_TYPE = "text/plain"


@dataclass(frozen=True)
class FileType:
    kind: str  # short name used by extraction: txt, md, csv, pdf, docx, html, png, jpeg, gif, webp
    purpose: Purpose
    content_types: tuple[str, ...]  # first one is canonical
    extensions: tuple[str, ...]

    @property
    def content_type(self) -> str:
        return self.content_types[0]

    @property
    def is_text(self) -> bool:
        return self.kind in {"txt", "md", "csv", "html"}


FILE_TYPES: tuple[FileType, ...] = (
    FileType("txt", "document", ("text/plain",), (".txt", ".text")),
    FileType("md", "document", ("text/markdown", "text/x-markdown", "text/plain"), (".md", ".markdown")),
    FileType("csv", "document", ("text/csv", "application/csv"), (".csv",)),
    FileType("pdf", "document", (PDF_TYPE,), (".pdf",)),
    FileType("docx", "document", (DOCX_TYPE,), (".docx",)),
    FileType("html", "document", ("text/html", "application/xhtml+xml"), (".html", ".htm")),
    FileType("png", "image", ("image/png",), (".png",)),
    FileType("jpeg", "image", ("image/jpeg", "image/jpg"), (".jpg", ".jpeg")),
    FileType("gif", "image", ("image/gif",), (".gif",)),
    FileType("webp", "image", ("image/webp",), (".webp",)),
)


def file_type_for(filename: str, content_type: str) -> FileType | None:
    """The accepted type named by both the extension and the content type, or None if they disagree."""
    lowered = filename.lower()
    ctype = content_type.split(";", 1)[0].strip().lower()
    for ftype in FILE_TYPES:
        if lowered.endswith(ftype.extensions) and ctype in ftype.content_types:
            return ftype
    return None


def file_type_by_kind(kind: str) -> FileType:
    for ftype in FILE_TYPES:
        if ftype.kind == kind:
            return ftype
    raise KeyError(kind)


# How many leading bytes detection needs; a zip also needs its central directory (the tail).
HEAD_BYTES = 8192
TAIL_BYTES = 65536

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF_TYPE),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", ZIP_TYPE),
)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def detect_type(head: bytes, tail: bytes = b"") -> str | None:
    """The real type of a file from its first bytes (and, for zips, its last bytes), as a MIME type.

    Returns None for content that is neither a known binary format nor text.
    """
    if not head:
        return None
    for magic, mime in _SIGNATURES:
        if head.startswith(magic):
            if mime == ZIP_TYPE and b"word/document.xml" in (tail or head):
                return DOCX_TYPE
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return TEXT_TYPE if looks_like_text(head) else None


def looks_like_text(data: bytes) -> bool:
    """Text after charset detection, with no NUL bytes (unless a UTF-16 byte-order mark says so)."""
    if data.startswith(_BOMS[1:]):
        try:
            data.decode("utf-16")
        except UnicodeDecodeError:
            return False
        return True
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of a sample is still text.
        if exc.start >= len(data) - 3 and exc.reason.startswith("unexpected end"):
            return True
    best = charset_normalizer.from_bytes(data).best()
    return best is not None


def type_matches(ftype: FileType, detected: str | None) -> bool:
    """Whether the detected real type is what the declared type promises."""
    if detected is None:
        return False
    if ftype.is_text:
        return detected == TEXT_TYPE
    return detected == ftype.content_type


@dataclass
class UploadRecord:
    """The DynamoDB item that tracks one upload (pk USER#<user>, sk UPLOAD#<id>)."""

    user_id: str
    upload_id: str
    filename: str  # the sanitised name, also the last part of the key
    key: str
    purpose: Purpose
    kind: str
    content_type: str
    declared_size: int
    status: UploadStatus = "pending"
    size: int | None = None
    detected_type: str | None = None
    reason: str | None = None
    created_at: str = ""
    updated_at: str = ""
    expires_at: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": user_pk(self.user_id),
            "sk": upload_sk(self.upload_id),
            ITEM_TYPE_ATTRIBUTE: "upload",
            "userId": self.user_id,
            "uploadId": self.upload_id,
            "filename": self.filename,
            "key": self.key,
            "purpose": self.purpose,
            "kind": self.kind,
            "contentType": self.content_type,
            "declaredSize": self.declared_size,
            "status": self.status,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        optional = {
            "size": self.size,
            "detectedType": self.detected_type,
            "reason": self.reason,
            "expiresAt": self.expires_at,
        }
        item.update({k: v for k, v in optional.items() if v is not None})
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> UploadRecord:
        def _int(value: Any) -> int | None:
            return None if value is None else int(value)

        return cls(
            user_id=str(item["userId"]),
            upload_id=str(item["uploadId"]),
            filename=str(item["filename"]),
            key=str(item["key"]),
            purpose=item["purpose"],
            kind=str(item["kind"]),
            content_type=str(item["contentType"]),
            declared_size=int(item["declaredSize"]),
            status=item.get("status", "pending"),
            size=_int(item.get("size")),
            detected_type=item.get("detectedType"),
            reason=item.get("reason"),
            created_at=str(item.get("createdAt", "")),
            updated_at=str(item.get("updatedAt", "")),
            expires_at=_int(item.get("expiresAt")),
        )

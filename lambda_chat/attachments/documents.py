"""The caller's uploads as the chat service uses them: checked records, document text, images.

Extracted text is cached in S3 next to the upload (``uploads/<user>/<id>/.extracted.json``;
sanitised file names never start with a dot, so the cache cannot collide with an upload), keyed
by the object's ETag so a replaced object is parsed again. Nothing is cached for a refused file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatbot_common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnprocessableContent,
    UnsupportedMediaType,
)
from chatbot_common.keys import is_valid_id
from chatbot_common.uploads import UploadRecord
from lambda_chat.attachments.extraction import ExtractedDocument, ExtractionLimits, extract_document
from lambda_chat.attachments.images import ImageLimits, PreparedImage, prepare_image

_log = logging.getLogger(__name__)
CACHE_VERSION = 1


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str


class UploadFiles(Protocol):
    def read(self, key: str, max_bytes: int) -> StoredObject:
        """The object's bytes; PayloadTooLarge past ``max_bytes``, NotFound when absent."""
        ...

    def etag(self, key: str, max_bytes: int) -> str:
        """The object's ETag without reading it; the same refusals as ``read``."""
        ...

    def get_json(self, key: str) -> dict[str, Any] | None: ...

    def put_json(self, key: str, value: dict[str, Any]) -> None: ...


class UploadRecordReader(Protocol):
    def get(self, user_id: str, upload_id: str) -> UploadRecord | None: ...


@dataclass(frozen=True)
class LibraryLimits:
    document_max_bytes: int = 20 * 1024 * 1024
    extraction: ExtractionLimits = field(default_factory=ExtractionLimits)
    image: ImageLimits = field(default_factory=ImageLimits)


@dataclass(frozen=True)
class LoadedDocument:
    record: UploadRecord
    document: ExtractedDocument

    @property
    def text(self) -> str:
        return self.document.text


def cache_key(record: UploadRecord) -> str:
    return record.key.rsplit("/", 1)[0] + "/.extracted.json"


def reference(record: UploadRecord) -> dict[str, Any]:
    """What a message stores about an attachment: where it is, never its bytes."""
    return {
        "uploadId": record.upload_id,
        "kind": record.purpose,
        "filename": record.filename,
        "key": record.key,
    }


@contextlib.contextmanager
def _arrived(record: UploadRecord) -> Iterator[None]:
    """Reading an upload's object: absent while its record is still `pending` means the file was
    never posted to its presigned POST (or is still on its way), a Conflict `upload_not_ready`
    the client can act on; absent once it was `ready` means it expired (NotFound)."""
    try:
        yield
    except NotFound:
        if record.status == "pending":
            raise Conflict(
                f"The upload {record.filename} has not arrived: post the file to its upload URL "
                "first, then send the message",
                code="upload_not_ready",
            ) from None
        raise


class DocumentLibrary:
    def __init__(self, files: UploadFiles, records: UploadRecordReader, limits: LibraryLimits) -> None:
        self._files = files
        self._records = records
        self._limits = limits

    def record(self, user_id: str, upload_id: str) -> UploadRecord:
        """The caller's upload record; another user's id is simply not found."""
        if not is_valid_id(upload_id):
            raise InvalidInput("Upload ids are 26-character lowercase ULIDs")
        record = self._records.get(user_id, upload_id)
        if record is None or record.user_id != user_id:
            raise NotFound(f"No such upload: {upload_id}")
        if record.status == "rejected":
            # The status names why (docs/uploads-and-documents.md): 413 too large, 415 not the
            # declared type, 422 otherwise (empty, or a record from before rejections had a kind).
            error = {"too_large": PayloadTooLarge, "type_mismatch": UnsupportedMediaType}.get(
                record.rejection or "", UnprocessableContent
            )
            raise error(f"The upload {record.filename} was rejected: {record.reason}")
        return record

    def document(self, record: UploadRecord) -> LoadedDocument:
        """The document's text, from the cache when the object has not changed since extraction."""
        if record.purpose != "document":
            raise UnsupportedMediaType(f"{record.filename} is an image, not a document")
        # A cache hit costs a HEAD and the small cache object, never the document's bytes.
        with _arrived(record):
            etag = self._files.etag(record.key, self._limits.document_max_bytes)
        cached = self._files.get_json(cache_key(record))
        if cached and cached.get("version") == CACHE_VERSION and cached.get("etag") == etag:
            doc = ExtractedDocument(
                kind=str(cached["kind"]),
                text=str(cached["text"]),
                pages=cached.get("pages"),
                meta=dict(cached.get("meta") or {}),
            )
            return LoadedDocument(record, doc)
        stored = self._files.read(record.key, self._limits.document_max_bytes)
        doc = extract_document(stored.data, record.kind, self._limits.extraction)
        try:
            self._files.put_json(
                cache_key(record),
                {
                    "version": CACHE_VERSION,
                    "etag": stored.etag,
                    "kind": doc.kind,
                    "pages": doc.pages,
                    "meta": doc.meta,
                    "text": doc.text,
                },
            )
        except Exception:  # a cache miss next time costs a re-parse, not the user's answer
            _log.exception("could not cache extracted text")
        return LoadedDocument(record, doc)

    def image(self, record: UploadRecord) -> PreparedImage:
        if record.purpose != "image":
            raise UnsupportedMediaType(f"{record.filename} is a document, not an image")
        with _arrived(record):
            stored = self._files.read(record.key, self._limits.image.max_bytes)
        return prepare_image(stored.data, self._limits.image)

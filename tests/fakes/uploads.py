"""In-memory stand-ins for the uploads bucket and upload records."""

from __future__ import annotations

import hashlib
from typing import Any

from chatbot_common.errors import NotFound, PayloadTooLarge
from chatbot_common.keys import new_id, upload_object_key
from chatbot_common.uploads import FILE_TYPES, UploadRecord
from lambda_chat.attachments.documents import DocumentLibrary, LibraryLimits, StoredObject


class MemoryFiles:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.json: dict[str, dict[str, Any]] = {}
        self.reads: list[str] = []

    def read(self, key: str, max_bytes: int) -> StoredObject:
        if key not in self.objects:
            raise NotFound("gone")
        data = self.objects[key]
        if len(data) > max_bytes:
            raise PayloadTooLarge("too big")
        self.reads.append(key)
        return StoredObject(data, hashlib.md5(data).hexdigest())

    def etag(self, key: str, max_bytes: int) -> str:
        if key not in self.objects:
            raise NotFound("gone")
        data = self.objects[key]
        if len(data) > max_bytes:
            raise PayloadTooLarge("too big")
        return hashlib.md5(data).hexdigest()

    def get_json(self, key: str) -> dict[str, Any] | None:
        return self.json.get(key)

    def put_json(self, key: str, value: dict[str, Any]) -> None:
        self.json[key] = value


class MemoryRecords:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], UploadRecord] = {}

    def get(self, user_id: str, upload_id: str) -> UploadRecord | None:
        return self.records.get((user_id, upload_id))


class Uploads:
    """A library plus helpers to 'upload' a file as a given user."""

    def __init__(self, limits: LibraryLimits | None = None) -> None:
        self.files = MemoryFiles()
        self.records = MemoryRecords()
        self.library = DocumentLibrary(self.files, self.records, limits or LibraryLimits())

    def add(self, user_id: str, filename: str, data: bytes, kind: str) -> UploadRecord:
        ftype = next(t for t in FILE_TYPES if t.kind == kind)
        upload_id = new_id()
        key = upload_object_key(user_id, upload_id, filename)
        record = UploadRecord(
            user_id=user_id,
            upload_id=upload_id,
            filename=filename,
            key=key,
            purpose=ftype.purpose,
            kind=kind,
            content_type=ftype.content_type,
            declared_size=max(len(data), 1),
        )
        self.records.records[(user_id, upload_id)] = record
        self.files.objects[key] = data
        return record

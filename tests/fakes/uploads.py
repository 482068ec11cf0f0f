"""In-memory stand-ins for the uploads bucket (as each Lambda sees it) and the upload-record store."""

from __future__ import annotations

import hashlib
from typing import Any

from chatbot_common.errors import NotFound, PayloadTooLarge
from chatbot_common.keys import new_id, upload_object_key
from chatbot_common.uploads import FILE_TYPES, UploadRecord
from lambda_chat.attachments.documents import DocumentLibrary, LibraryLimits, StoredObject
from lambda_upload.domain import ObjectInfo, PresignedPost


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
    """The upload-record store (`chatbot_common.upload_records.DynamoUploadRecords`) in memory;
    reads return a copy through the item shape, as DynamoDB does."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], UploadRecord] = {}

    def put(self, record: UploadRecord) -> None:
        self.records[(record.user_id, record.upload_id)] = record

    def get(self, user_id: str, upload_id: str) -> UploadRecord | None:
        found = self.records.get((user_id, upload_id))
        return None if found is None else UploadRecord.from_item(found.to_item())

    def update(self, record: UploadRecord) -> None:
        self.records[(record.user_id, record.upload_id)] = record


class MemoryObjects:
    """The uploads bucket as the upload Lambda uses it (`lambda_upload.adapters.S3UploadObjects`)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.presigned: list[tuple[str, str, int, int]] = []
        self.ranges: list[tuple[str, int, int]] = []

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        self.presigned.append((key, content_type, max_bytes, expires_in))
        return PresignedPost(url="http://s3.local/bucket", fields={"key": key, "Content-Type": content_type})

    def head(self, key: str) -> ObjectInfo | None:
        data = self.objects.get(key)
        return None if data is None else ObjectInfo(size=len(data), content_type=None)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        self.ranges.append((key, start, end))
        return self.objects[key][start : end + 1]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def presign_get(self, key: str, content_type: str, expires_in: int) -> str:
        return f"http://s3.local/bucket/{key}?type={content_type}&expires={expires_in}"


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

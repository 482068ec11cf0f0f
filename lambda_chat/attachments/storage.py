"""AWS adapter for attachments: the uploads bucket (S3); upload records are
`chatbot_common.upload_records.DynamoUploadRecords`.

Reads are bounded: a HEAD first (refuse anything over the limit before downloading), then a
ranged GET that never reads more than the limit plus one byte, whatever S3 says. botocore
``ClientError`` never leaves this module.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.aws_errors import is_missing, translate_client_error
from chatbot_common.errors import DomainError, PayloadTooLarge
from lambda_chat.attachments.documents import StoredObject

_READ_BLOCK = 1024 * 1024


def _translate(exc: ClientError | BotoCoreError, what: str) -> DomainError:
    return translate_client_error(exc, what, missing_note=" (it may have expired)")


class S3UploadFiles:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def etag(self, key: str, max_bytes: int) -> str:
        return self._head(key, max_bytes)[1]

    def _head(self, key: str, max_bytes: int) -> tuple[int, str]:
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "The uploaded file") from exc
        size = int(head["ContentLength"])
        if size > max_bytes:
            raise PayloadTooLarge(f"The file is {size:,} bytes; the limit is {max_bytes:,}")
        return size, str(head.get("ETag", ""))

    def read(self, key: str, max_bytes: int) -> StoredObject:
        size, etag = self._head(key, max_bytes)
        if size == 0:
            return StoredObject(b"", etag)
        try:
            # One byte more than allowed: if it arrives, the object grew after the HEAD.
            resp = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{max_bytes}")
            body = resp["Body"]
            parts: list[bytes] = []
            received = 0
            while received <= max_bytes:
                block = body.read(min(_READ_BLOCK, max_bytes + 1 - received))
                if not block:
                    break
                parts.append(block)
                received += len(block)
            body.close()
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "The uploaded file") from exc
        if received > max_bytes:
            raise PayloadTooLarge(f"The file is over the limit of {max_bytes:,} bytes")
        return StoredObject(b"".join(parts), str(resp.get("ETag", etag)))

    def get_json(self, key: str) -> dict[str, Any] | None:
        try:
            resp = self._s3.get_object(Bucket=self._bucket, Key=key)
            return dict(json.loads(resp["Body"].read()))
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise _translate(exc, "The document cache") from exc
        except BotoCoreError as exc:
            raise _translate(exc, "The document cache") from exc
        except ValueError:
            return None  # a damaged cache entry is simply rebuilt

    def put_json(self, key: str, value: dict[str, Any]) -> None:
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=json.dumps(value, ensure_ascii=False).encode(),
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "Saving the document cache") from exc

"""AWS adapter for the upload service: S3 (the uploads bucket); upload records are
`chatbot_common.upload_records.DynamoUploadRecords`.

botocore ``ClientError`` never leaves this module: codes are translated into domain errors.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.aws_errors import is_missing, translate_client_error
from lambda_upload.domain import ObjectInfo, PresignedPost


class S3UploadObjects:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        try:
            # Key pins the exact object key (boto3 adds the {"key": ...} condition itself).
            post = self._s3.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, max_bytes],
                ],
                ExpiresIn=expires_in,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Signing the upload") from exc
        return PresignedPost(url=post["url"], fields=dict(post["fields"]))

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise translate_client_error(exc, "Reading the upload") from exc
        except BotoCoreError as exc:
            raise translate_client_error(exc, "Reading the upload") from exc
        return ObjectInfo(size=int(resp["ContentLength"]), content_type=resp.get("ContentType"))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        try:
            resp = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end}")
            # Never trust the server to honour the range: read at most what was asked for.
            return bytes(resp["Body"].read(end - start + 1))
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Reading the upload") from exc

    def presign_get(self, key: str, content_type: str, expires_in: int) -> str:
        """SigV4 presigned GetObject URL (signed locally, no request to S3), served inline with
        `content_type` and private caching ("Sharing objects with presigned URLs", Amazon S3
        User Guide; response-content-type / response-content-disposition override headers)."""
        try:
            url: str = self._s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": "inline",
                    "ResponseCacheControl": f"private, max-age={expires_in}",
                },
                ExpiresIn=expires_in,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Signing the image link") from exc
        return url

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Deleting the upload") from exc

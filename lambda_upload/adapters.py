"""AWS adapters for the upload service: S3 (the uploads bucket) and DynamoDB (upload records).

botocore ``ClientError`` never leaves this module: codes are translated into domain errors.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.aws_errors import is_missing, translate_client_error
from chatbot_common.upload_records import get_upload_record
from chatbot_common.uploads import UploadRecord
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

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Deleting the upload") from exc


class DynamoUploadRecords:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        from boto3.dynamodb.types import TypeSerializer

        self._db = dynamodb_client
        self._table = table_name
        self._ser = TypeSerializer()

    def _to_ddb(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in item.items()}

    def put(self, record: UploadRecord) -> None:
        self._put_item(record, "attribute_not_exists(pk)", "Saving the upload record")

    def get(self, user_id: str, upload_id: str) -> UploadRecord | None:
        try:
            return get_upload_record(self._db, self._table, user_id, upload_id, consistent_read=True)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Reading the upload record") from exc

    def update(self, record: UploadRecord) -> None:
        self._put_item(record, "attribute_exists(pk)", "Updating the upload record")

    def _put_item(self, record: UploadRecord, condition: str, what: str) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._to_ddb(record.to_item()),
                ConditionExpression=condition,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, what) from exc

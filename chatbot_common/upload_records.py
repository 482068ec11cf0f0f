"""The upload record in DynamoDB, read the same way by the upload Lambda (which writes it) and the
chat Lambda (which reads it before using a file).

botocore errors pass through: each caller translates them into its own domain errors.
"""

from __future__ import annotations

from typing import Any

from chatbot_common.keys import upload_sk, user_pk
from chatbot_common.uploads import UploadRecord


def get_upload_record(
    dynamodb_client: Any, table_name: str, user_id: str, upload_id: str, *, consistent_read: bool
) -> UploadRecord | None:
    """The caller's upload record, or None when there is none (or it is another user's)."""
    from boto3.dynamodb.types import TypeDeserializer  # boto3 is imported only where it is used

    resp = dynamodb_client.get_item(
        TableName=table_name,
        Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": upload_sk(upload_id)}},
        ConsistentRead=consistent_read,
    )
    raw = resp.get("Item")
    if not raw:
        return None
    deserializer = TypeDeserializer()
    return UploadRecord.from_item({k: deserializer.deserialize(v) for k, v in raw.items()})

"""The caller's ready documents from DynamoDB, for the `search_documents` tool.

One Query on the caller's partition (pk ``USER#<user>``, sk prefix ``UPLOAD#``), newest first
(upload ids are ULIDs, which sort by time), filtered to ready documents. The filter is applied
after items are read, so pages are followed until `limit` records are found or a bounded number
of pages has been read.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.aws_errors import translate_client_error
from chatbot_common.keys import user_pk
from chatbot_common.uploads import UploadRecord

_MAX_PAGES = 5
_PAGE_ITEMS = 100


class DynamoUploadListing:
    """Implements ``lambda_chat.tools.document_search.UploadListing``."""

    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._db = dynamodb_client
        self._table = table_name

    def ready_documents(self, user_id: str, limit: int) -> list[UploadRecord]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        records: list[UploadRecord] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "#status = :ready AND purpose = :document",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":pk": {"S": user_pk(user_id)},
                ":prefix": {"S": "UPLOAD#"},
                ":ready": {"S": "ready"},
                ":document": {"S": "document"},
            },
            "ScanIndexForward": False,
            "Limit": _PAGE_ITEMS,
        }
        try:
            for _ in range(_MAX_PAGES):
                page = self._db.query(**request)
                for raw in page.get("Items", []):
                    item = {k: deserializer.deserialize(v) for k, v in raw.items()}
                    record = UploadRecord.from_item(item)
                    if record.user_id == user_id:
                        records.append(record)
                    if len(records) >= limit:
                        return records
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "Listing the uploads") from exc
        return records

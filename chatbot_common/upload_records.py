"""The upload-record store on DynamoDB, used by the upload Lambda (which writes records) and the
chat Lambda (which reads one before using a file). botocore errors never leave this module.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.aws_errors import translate_client_error
from chatbot_common.dynamo import from_item, to_item
from chatbot_common.keys import upload_sk, user_pk
from chatbot_common.resources import PARTITION_KEY, SORT_KEY
from chatbot_common.uploads import UploadRecord

# `ready_documents` reads at most this many pages of this many items (a FilterExpression is applied
# after the read, so a user with many images or rejected files needs more than one page).
_LISTING_MAX_PAGES = 5
_LISTING_PAGE_ITEMS = 100


class DynamoUploadRecords:
    """Upload records (pk USER#<user>, sk UPLOAD#<id>) in the shared table.

    `consistent_reads`: the upload Lambda reads its own fresh writes (strongly consistent
    GetItem); the chat Lambda reads records written seconds to hours before, so eventually
    consistent reads (half the read capacity) suffice. `missing_note` is added to not-found errors.
    Errors: Throttled, Conflict (a put of an existing record, an update of a missing one),
    UpstreamError; see `chatbot_common.aws_errors.translate_client_error`.
    """

    def __init__(
        self, dynamodb_client: Any, table_name: str, *, consistent_reads: bool = True, missing_note: str = ""
    ) -> None:
        self._db = dynamodb_client
        self._table = table_name
        self._consistent = consistent_reads
        self._missing_note = missing_note

    def get(self, user_id: str, upload_id: str) -> UploadRecord | None:
        """The caller's upload record, or None when there is none (or it is another user's)."""
        key = {PARTITION_KEY: user_pk(user_id), SORT_KEY: upload_sk(upload_id)}
        try:
            resp = self._db.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=self._consistent)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "Reading the upload record") from exc
        raw = resp.get("Item")
        return UploadRecord.from_item(from_item(raw)) if raw else None

    def put(self, record: UploadRecord) -> None:
        """A new record; Conflict if one with its key exists already."""
        self._put_item(record, f"attribute_not_exists({PARTITION_KEY})", "Saving the upload record")

    def update(self, record: UploadRecord) -> None:
        """Replace an existing record; Conflict if it is gone."""
        self._put_item(record, f"attribute_exists({PARTITION_KEY})", "Updating the upload record")

    def ready_documents(self, user_id: str, limit: int) -> list[UploadRecord]:
        """The caller's ready documents, newest first (upload ids are ULIDs, which sort by time), at
        most `limit`: one Query on the caller's partition (sk prefix UPLOAD#) filtered to ready
        documents, following pages until `limit` records or `_LISTING_MAX_PAGES` pages are read.
        Implements `lambda_chat.tools.document_search.UploadListing`."""
        prefix = upload_sk("")
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "FilterExpression": "#status = :ready AND #purpose = :document",
            "ExpressionAttributeNames": {
                "#pk": PARTITION_KEY,
                "#sk": SORT_KEY,
                "#status": "status",
                "#purpose": "purpose",
            },
            "ExpressionAttributeValues": to_item(
                {":pk": user_pk(user_id), ":prefix": prefix, ":ready": "ready", ":document": "document"}
            ),
            "ScanIndexForward": False,
            "Limit": _LISTING_PAGE_ITEMS,
            "ConsistentRead": self._consistent,
        }
        records: list[UploadRecord] = []
        try:
            for _ in range(_LISTING_MAX_PAGES):
                page = self._db.query(**request)
                for raw in page.get("Items", []):
                    record = UploadRecord.from_item(from_item(raw))
                    if record.user_id == user_id:
                        records.append(record)
                    if len(records) >= limit:
                        return records
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "Listing the uploads") from exc
        return records

    def _put_item(self, record: UploadRecord, condition: str, what: str) -> None:
        try:
            item = to_item(record.to_item())
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression=condition)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, what) from exc

    def _translate(self, exc: ClientError | BotoCoreError, what: str) -> Exception:
        return translate_client_error(exc, what, missing_note=self._missing_note)

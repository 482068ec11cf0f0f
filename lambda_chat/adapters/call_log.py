"""The call log in DynamoDB: one record per model call, written by the chat service and read by
the CLI (`chatbot logs`).

Layout (chatbot_common.keys): pk USER#<user> / sk CALL#<ISO time>#<call id>, and on gsi1
CALLS#<YYYY-MM-DD> / <ISO time>#<call id> to read all users by day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common import keys
from chatbot_common.dynamo import TableAdapter, from_item, to_item, translate_error
from chatbot_common.resources import GSI1_NAME, ITEM_TYPE_ATTRIBUTE, TTL_ATTRIBUTE
from chatbot_common.timestamps import iso_now, parse_iso
from lambda_chat.domain.entities import CallRecord

MAX_DAYS_SCANNED = 31


def call_record_item(record: CallRecord, expires_at: int) -> dict[str, Any]:
    return to_item(
        {
            "pk": keys.user_pk(record.user_id),
            "sk": keys.call_sk(record.created_at, record.call_id),
            "gsi1pk": keys.calls_gsi_pk(record.created_at[:10]),
            "gsi1sk": f"{record.created_at}#{record.call_id}",
            ITEM_TYPE_ATTRIBUTE: "call",
            "callId": record.call_id,
            "userId": record.user_id,
            "conversationId": record.conversation_id,
            "model": record.model,
            "inputTokens": record.input_tokens,
            "outputTokens": record.output_tokens,
            "latencyMs": record.latency_ms,
            "status": record.status,
            "requestId": record.request_id,
            "errorCode": record.error_code,
            "callKind": record.kind,
            "stopReason": record.stop_reason,
            "tokensEstimated": record.tokens_estimated,
            "costUsd": record.cost_usd,
            "cacheReadInputTokens": record.cache_read_tokens or None,
            "cacheWriteInputTokens": record.cache_write_tokens or None,
            "step": record.step,
            "createdAt": record.created_at,
            TTL_ATTRIBUTE: expires_at,
        }
    )


def call_record_from_item(item: dict[str, Any]) -> CallRecord:
    plain = from_item(item)
    return CallRecord(
        call_id=plain["callId"],
        user_id=plain["userId"],
        conversation_id=plain.get("conversationId"),
        model=plain.get("model", ""),
        input_tokens=int(plain.get("inputTokens", 0)),
        output_tokens=int(plain.get("outputTokens", 0)),
        latency_ms=int(plain.get("latencyMs", 0)),
        status=plain.get("status", "complete"),
        request_id=plain.get("requestId"),
        created_at=plain["createdAt"],
        error_code=plain.get("errorCode"),
        kind=plain.get("callKind", "chat"),
        stop_reason=plain.get("stopReason"),
        tokens_estimated=bool(plain.get("tokensEstimated", False)),
        cost_usd=_decimal(item.get("costUsd")),
        cache_read_tokens=int(plain.get("cacheReadInputTokens", 0)),
        cache_write_tokens=int(plain.get("cacheWriteInputTokens", 0)),
        step=int(plain["step"]) if plain.get("step") is not None else None,
    )


def _decimal(attribute: dict[str, Any] | None) -> Decimal | None:
    """A stored DynamoDB number ({"N": "0.000123"}) as an exact Decimal (not a float)."""
    if not attribute or "N" not in attribute:
        return None
    return Decimal(attribute["N"])


class CallLog(TableAdapter):
    """Call records in the table: written by the chat service, read by `chatbot logs`."""

    def put(self, record: CallRecord) -> None:
        item = call_record_item(record, self._expires_at())
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, what="call log") from exc

    def query(
        self,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[CallRecord]:
        """Call records newest first. `since`/`until` are ISO-8601 UTC times (or dates).

        With a user, one partition is read; without, the by-day index is read day by day
        (at most 31 days; `since` defaults to 24 hours before `until`).
        """
        until = until or iso_now(self._clock() + 1)
        since = since or iso_now(parse_iso(until).timestamp() - 86_400)
        filters, names, values = [], {}, {}
        if conversation_id:
            filters.append("conversationId = :conv")
            values[":conv"] = conversation_id
        if status:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = status
        extra: dict[str, Any] = {}
        if filters:
            extra["FilterExpression"] = " AND ".join(filters)
            extra["ExpressionAttributeValues"] = to_item(values)
        if names:
            extra["ExpressionAttributeNames"] = names

        results: list[CallRecord] = []
        if user_id:
            queries = [
                {
                    "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                    "values": {
                        ":pk": keys.user_pk(user_id),
                        ":lo": f"CALL#{since}",
                        ":hi": f"CALL#{until}~",
                    },
                }
            ]
        else:
            queries = [
                {
                    "IndexName": GSI1_NAME,
                    "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
                    "values": {":pk": keys.calls_gsi_pk(day), ":lo": since, ":hi": f"{until}~"},
                }
                for day in _days_newest_first(since, until)
            ]
        for spec in queries:
            for item in self._pages(spec, extra):
                results.append(call_record_from_item(item))
                if len(results) >= limit:
                    return results
        return results

    def _pages(self, spec: dict[str, Any], extra: dict[str, Any]) -> Iterator[dict[str, Any]]:
        values = to_item(spec["values"])
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": spec["KeyConditionExpression"],
            "ScanIndexForward": False,
            **extra,
            "ExpressionAttributeValues": {**values, **extra.get("ExpressionAttributeValues", {})},
        }
        if "IndexName" in spec:
            params["IndexName"] = spec["IndexName"]
        while True:
            try:
                page = self._client.query(**params)
            except (ClientError, BotoCoreError) as exc:
                raise translate_error(exc, what="call log") from exc
            yield from page.get("Items", [])
            if not page.get("LastEvaluatedKey"):
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _days_newest_first(since: str, until: str) -> list[str]:
    first: date = parse_iso(since).date()
    last: date = parse_iso(until).date()
    days: list[str] = []
    day = last
    while day >= first and len(days) < MAX_DAYS_SCANNED:
        days.append(day.isoformat())
        day -= timedelta(days=1)
    return days

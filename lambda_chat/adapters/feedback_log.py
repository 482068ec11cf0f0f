"""Feedback records in DynamoDB: one per rated answer, written with the rating (same transaction)
and read by the CLI (`chatbot logs --feedback`).

Layout: pk USER#<user> / sk FEEDBACK#<message id>, and on gsi1 FEEDBACK#<YYYY-MM-DD> /
<rated-at ISO time>#<message id> to read all users by day (the call log's pattern). Re-rating an
answer overwrites its record (a PUT: a retry never duplicates); withdrawing it deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common import keys
from chatbot_common.dynamo import from_item, to_item, translate_error
from chatbot_common.resources import GSI1_NAME, ITEM_TYPE_ATTRIBUTE, TTL_ATTRIBUTE
from chatbot_common.timestamps import iso_now, parse_iso
from lambda_chat.adapters.call_log import _days_newest_first
from lambda_chat.domain.entities import Message


def feedback_key(user_id: str, message_id: str) -> dict[str, Any]:
    return to_item({"pk": keys.user_pk(user_id), "sk": f"FEEDBACK#{message_id}"})


def feedback_item(
    user_id: str, message: Message, feedback: dict[str, Any], expires_at: int
) -> dict[str, Any]:
    """The record of `feedback` ({"rating", "reason"?, "at"}) on the answer `message`."""
    at = str(feedback["at"])
    return to_item(
        {
            **from_item(feedback_key(user_id, message.id)),
            "gsi1pk": f"FEEDBACK#{at[:10]}",
            "gsi1sk": f"{at}#{message.id}",
            ITEM_TYPE_ATTRIBUTE: "feedback",
            "userId": user_id,
            "conversationId": message.conversation_id,
            "messageId": message.id,
            "model": message.model,
            "rating": feedback["rating"],
            "reason": feedback.get("reason"),
            "createdAt": at,
            TTL_ATTRIBUTE: expires_at,
        }
    )


def query_feedback(
    client: Any,
    table: str,
    *,
    user_id: str | None = None,
    rating: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
    clock: Callable[[], float] | None = None,
) -> list[dict[str, Any]]:
    """Feedback records newest first, as {createdAt, userId, conversationId, messageId, model,
    rating, reason}. With a user, that user's partition (one Query); without, the by-day index,
    day by day (at most 31 days; `since` defaults to 24 hours before `until`)."""
    import time

    now = (clock or time.time)()
    until = until or iso_now(now + 1)
    since = since or iso_now(parse_iso(until).timestamp() - 86_400)
    values: dict[str, Any] = {}
    filters: list[str] = []
    if rating:
        filters.append("rating = :rating")
        values[":rating"] = rating
    if user_id:
        filters.append("createdAt BETWEEN :lo AND :hi")
        specs: list[dict[str, Any]] = [
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :fb)",
                "values": {
                    ":pk": keys.user_pk(user_id),
                    ":fb": "FEEDBACK#",
                    ":lo": since,
                    ":hi": f"{until}~",
                },
            }
        ]
    else:
        specs = [
            {
                "IndexName": GSI1_NAME,
                "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
                "values": {":pk": f"FEEDBACK#{day}", ":lo": since, ":hi": f"{until}~"},
            }
            for day in _days_newest_first(since, until)
        ]
    results: list[dict[str, Any]] = []
    for spec in specs:
        params: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": spec["KeyConditionExpression"],
            "ExpressionAttributeValues": to_item({**spec["values"], **values}),
            "ScanIndexForward": False,
        }
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        if "IndexName" in spec:
            params["IndexName"] = spec["IndexName"]
        while True:
            try:
                page = client.query(**params)
            except (ClientError, BotoCoreError) as exc:
                raise translate_error(exc, what="feedback log") from exc
            for item in page.get("Items", []):
                plain = from_item(item)
                results.append(
                    {
                        name: plain.get(name)
                        for name in (
                            "createdAt",
                            "userId",
                            "conversationId",
                            "messageId",
                            "model",
                            "rating",
                            "reason",
                        )
                    }
                )
            if not page.get("LastEvaluatedKey"):
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    results.sort(key=lambda r: str(r["createdAt"]), reverse=True)
    return results[:limit]

"""Conversations and messages in DynamoDB: one item per conversation, one item per message.

Key scheme: chatbot_common.keys. Every key starts with the owner's user id, so reading another
user's conversation is simply "not found". A turn's history is one bounded Query (newest first,
Limit N); conversation updates are UpdateItem so concurrent turns never overwrite each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common import keys
from chatbot_common.errors import NotFound, UpstreamError
from chatbot_common.resources import GSI1_NAME, TTL_ATTRIBUTE
from lambda_chat.adapters.call_log import CallLog
from lambda_chat.adapters.dynamo import decode_cursor, encode_cursor, from_item, to_item, translate_error
from lambda_chat.domain.entities import CallRecord, Conversation, Message, Page, Usage

_BATCH = 25
T = TypeVar("T")


def _conversation_from(item: dict[str, Any]) -> Conversation:
    plain = from_item(item)
    return Conversation(
        id=plain["id"],
        user_id=plain["userId"],
        title=plain.get("title", ""),
        created_at=plain["createdAt"],
        updated_at=plain["updatedAt"],
        model=plain.get("model"),
        system=plain.get("system"),
    )


def _message_from(item: dict[str, Any]) -> Message:
    plain = from_item(item)
    usage = None
    if "inputTokens" in plain or "outputTokens" in plain:
        usage = Usage(int(plain.get("inputTokens", 0)), int(plain.get("outputTokens", 0)))
    return Message(
        id=plain["id"],
        conversation_id=plain["conversationId"],
        role=plain["role"],
        content=plain.get("content", ""),
        created_at=plain["createdAt"],
        status=plain.get("status", "complete"),
        attachments=list(plain.get("attachments", [])),
        usage=usage,
        model=plain.get("model"),
    )


class ConversationStore:
    """Implements `lambda_chat.domain.ports.ConversationRepository` on one DynamoDB table."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        retention_days: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._clock = clock
        self.call_log = CallLog(client, table_name, retention_days=retention_days, clock=clock)

    # -- conversations ------------------------------------------------------------------------

    def create_conversation(self, conversation: Conversation) -> None:
        item = to_item(
            {
                "pk": keys.user_pk(conversation.user_id),
                "sk": keys.conversation_sk(conversation.id),
                "gsi1pk": keys.conversations_gsi_pk(conversation.user_id),
                "gsi1sk": f"{conversation.updated_at}#{conversation.id}",
                "kind": "conversation",
                "id": conversation.id,
                "userId": conversation.user_id,
                "title": conversation.title,
                "createdAt": conversation.created_at,
                "updatedAt": conversation.updated_at,
                "model": conversation.model,
                "system": conversation.system,
                TTL_ATTRIBUTE: self._expires_at(),
            }
        )
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        response = self._call(
            "get_item",
            Key=self._conversation_key(user_id, conversation_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            raise NotFound("Conversation not found")
        return _conversation_from(item)

    def list_conversations(self, user_id: str, limit: int, cursor: str | None) -> Page[Conversation]:
        gsi_pk = keys.conversations_gsi_pk(user_id)
        params: dict[str, Any] = {
            "IndexName": GSI1_NAME,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": gsi_pk}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        return self._query_page(
            params,
            cursor,
            expected={"gsi1pk": gsi_pk, "pk": keys.user_pk(user_id)},
            key_names=("pk", "sk", "gsi1pk", "gsi1sk"),
            convert=_conversation_from,
        )

    def update_conversation(
        self,
        user_id: str,
        conversation_id: str,
        *,
        updated_at: str,
        title: str | None = None,
        system: str | None = None,
        model: str | None = None,
        clear_system: bool = False,
    ) -> Conversation:
        sets = ["updatedAt = :updated", "gsi1sk = :gsi1sk", "#ttl = :ttl"]
        values: dict[str, Any] = {
            ":updated": updated_at,
            ":gsi1sk": f"{updated_at}#{conversation_id}",
            ":ttl": self._expires_at(),
        }
        names = {"#ttl": TTL_ATTRIBUTE}
        for attribute, value in (("title", title), ("system", system), ("model", model)):
            if value is not None:
                sets.append(f"#{attribute} = :{attribute}")
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = value
        expression = "SET " + ", ".join(sets)
        if clear_system and system is None:
            names["#system"] = "system"
            expression += " REMOVE #system"
        response = self._call(
            "update_item",
            Key=self._conversation_key(user_id, conversation_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_NEW",
            not_found="Conversation not found",
        )
        return _conversation_from(response["Attributes"])

    def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        """Delete the conversation, then its messages (batched). Leftovers, if any, expire by TTL."""
        self._call(
            "delete_item",
            Key=self._conversation_key(user_id, conversation_id),
            ConditionExpression="attribute_exists(pk)",
            not_found="Conversation not found",
        )
        pk = keys.messages_pk(user_id, conversation_id)
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ProjectionExpression": "pk, sk",
        }
        while True:
            page = self._call("query", **params)
            item_keys = page.get("Items", [])
            for start in range(0, len(item_keys), _BATCH):
                self._batch_delete(item_keys[start : start + _BATCH])
            if not page.get("LastEvaluatedKey"):
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- messages -------------------------------------------------------------------------------

    def append_message(self, user_id: str, message: Message) -> None:
        values: dict[str, Any] = {
            "pk": keys.messages_pk(user_id, message.conversation_id),
            "sk": keys.message_sk(message.id),
            "kind": "message",
            "id": message.id,
            "conversationId": message.conversation_id,
            "role": message.role,
            "content": message.content,
            "createdAt": message.created_at,
            "status": message.status,
            "model": message.model,
            TTL_ATTRIBUTE: self._expires_at(),
        }
        if message.attachments:
            values["attachments"] = message.attachments
        if message.usage is not None:
            values["inputTokens"] = message.usage.input_tokens
            values["outputTokens"] = message.usage.output_tokens
        # Ids are unique ULIDs; the condition turns an impossible collision into an error, not a loss.
        self._call("put_item", Item=to_item(values), ConditionExpression="attribute_not_exists(pk)")

    def recent_messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        response = self._call(
            "query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :msg)",
            ExpressionAttributeValues=to_item(
                {":pk": keys.messages_pk(user_id, conversation_id), ":msg": "MSG#"}
            ),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_message_from(item) for item in reversed(response.get("Items", []))]

    def list_messages(
        self, user_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        pk = keys.messages_pk(user_id, conversation_id)
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :msg)",
            "ExpressionAttributeValues": to_item({":pk": pk, ":msg": "MSG#"}),
            "ScanIndexForward": True,
            "Limit": limit,
        }
        return self._query_page(
            params, cursor, expected={"pk": pk}, key_names=("pk", "sk"), convert=_message_from
        )

    # -- call log -------------------------------------------------------------------------------

    def put_call_record(self, record: CallRecord) -> None:
        self.call_log.put(record)

    def query_calls(
        self,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[CallRecord]:
        """Call records newest first; see `CallLog.query`."""
        return self.call_log.query(
            user_id=user_id,
            conversation_id=conversation_id,
            status=status,
            since=since,
            until=until,
            limit=limit,
        )

    # -- plumbing -------------------------------------------------------------------------------

    def _expires_at(self) -> int:
        return int(self._clock()) + self._retention_seconds

    @staticmethod
    def _conversation_key(user_id: str, conversation_id: str) -> dict[str, Any]:
        return to_item({"pk": keys.user_pk(user_id), "sk": keys.conversation_sk(conversation_id)})

    def _query_page(
        self,
        params: dict[str, Any],
        cursor: str | None,
        *,
        expected: dict[str, str],
        key_names: tuple[str, ...],
        convert: Callable[[dict[str, Any]], T],
    ) -> Page[T]:
        """One page of a Query, resumed from a checked cursor (see `decode_cursor`)."""
        start = decode_cursor(cursor, expected=expected, keys=key_names)
        if start:
            params["ExclusiveStartKey"] = start
        response = self._call("query", **params)
        return Page(
            items=[convert(item) for item in response.get("Items", [])],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def _batch_delete(self, item_keys: list[dict[str, Any]]) -> None:
        requests = [{"DeleteRequest": {"Key": key}} for key in item_keys]
        for attempt in range(8):
            response = self._call("batch_write_item", RequestItems={self._table: requests})
            requests = response.get("UnprocessedItems", {}).get(self._table, [])
            if not requests:
                return
            time.sleep(min(1.0, 0.05 * 2**attempt))
        raise UpstreamError("Could not delete every message; the rest will expire")

    def _call(self, operation: str, *, not_found: str | None = None, **params: Any) -> dict[str, Any]:
        if operation != "batch_write_item":
            params["TableName"] = self._table
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if not_found is not None and code == "ConditionalCheckFailedException":
                raise NotFound(not_found) from exc
            raise translate_error(exc) from exc
        except BotoCoreError as exc:
            raise translate_error(exc) from exc
        return response

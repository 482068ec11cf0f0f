"""Conversations and messages in DynamoDB: one item per conversation, one item per message.

Key scheme: chatbot_common.keys. Every key starts with the owner's user id, so reading another
user's conversation is simply "not found". A turn's history is one bounded Query (newest first,
Limit N); conversation updates are UpdateItem so concurrent turns never overwrite each other.

A chat turn writes with at most two requests: `start_conversation` (a new conversation and its
first question, one TransactWriteItems) or `append_message` (the question alone), then
`record_answer` (the answer, the conversation's touch and the call record, one TransactWriteItems).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common import keys
from chatbot_common.aws_errors import transaction_cancellation_error
from chatbot_common.dynamo import (
    TableAdapter,
    decode_cursor,
    encode_cursor,
    from_item,
    to_item,
    translate_error,
)
from chatbot_common.errors import Conflict, NotFound, UpstreamError
from chatbot_common.resources import GSI1_NAME, ITEM_TYPE_ATTRIBUTE, TTL_ATTRIBUTE
from lambda_chat.adapters.call_log import CallLog, call_record_item
from lambda_chat.adapters.feedback_log import feedback_item, feedback_key
from lambda_chat.domain.entities import (
    CallRecord,
    Comparison,
    ComparisonLane,
    Conversation,
    ConversationChanges,
    Message,
    Page,
    Usage,
)
from lambda_chat.domain.ports import AnsweredTurn, HistoryWindow

# Conversation item attributes behind the history window (see `HistoryWindow`).
MESSAGE_COUNT_ATTRIBUTE = "messageCount"
HISTORY_WINDOW_ATTRIBUTE = "historyWindow"

_BATCH = 25
# A transaction (or a plain write) that meets another transaction on the same item is refused
# with TransactionConflict and changes nothing; concurrent turns on one conversation all touch
# its item, so such refusals are retried, briefly and with jitter.
_CONFLICT_ATTEMPTS = 6
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
        inference_config=plain.get("inferenceConfig") or None,
        comparison_id=plain.get("comparisonId"),
        lane=plain.get("lane"),
        tools=list(plain["tools"]) if isinstance(plain.get("tools"), list) else None,
    )


def _message_from(item: dict[str, Any]) -> Message:
    plain = from_item(item)
    usage = None
    if "inputTokens" in plain or "outputTokens" in plain:
        usage = Usage(
            int(plain.get("inputTokens", 0)),
            int(plain.get("outputTokens", 0)),
            estimated=bool(plain.get("usageEstimated", False)),
            cache_read_tokens=int(plain.get("cacheReadInputTokens", 0)),
            cache_write_tokens=int(plain.get("cacheWriteInputTokens", 0)),
        )
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
        stop_reason=plain.get("stopReason"),
        version_of=plain.get("versionOf"),
        superseded_by=plain.get("supersededBy"),
        feedback=_feedback_from(plain.get("feedback")),
        cost_usd=Decimal(item["costUsd"]["N"]) if "N" in item.get("costUsd", {}) else None,
        inference_config=plain.get("inferenceConfig") or None,
        # JSON text: tool inputs may hold floats, which DynamoDB's number type would not take.
        blocks=json.loads(plain["blocks"]) if plain.get("blocks") else [],
        tool_step=bool(plain.get("toolStep", False)),
    )


def encode_history_window(window: HistoryWindow) -> bytes:
    """The window as one Binary attribute: zlib-compressed JSON (one attribute however many
    messages; its size bounded by the history token budget)."""
    body = {
        "count": window.count,
        "documents": window.documents,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "createdAt": m.created_at,
                "status": m.status,
                **({"attachments": m.attachments} if m.attachments else {}),
                **({"blocks": m.blocks, "toolStep": True} if m.tool_step else {}),
                **({"versionOf": m.version_of} if m.version_of else {}),
            }
            # Superseded messages (an earlier version) are never sent to the model again.
            for m in window.messages
            if m.superseded_by is None
        ],
    }
    return zlib.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode(), 1)


def decode_history_window(data: bytes, conversation_id: str) -> HistoryWindow | None:
    """The stored window, or None when it cannot be read (the turn then queries the messages)."""
    try:
        body = json.loads(zlib.decompress(data))
        messages = [
            Message(
                id=m["id"],
                conversation_id=conversation_id,
                role=m["role"],
                content=m["content"],
                created_at=m["createdAt"],
                status=m.get("status", "complete"),
                attachments=list(m.get("attachments", [])),
                blocks=list(m.get("blocks", [])),
                tool_step=bool(m.get("toolStep", False)),
                version_of=m.get("versionOf"),
            )
            for m in body["messages"]
        ]
        return HistoryWindow(count=int(body["count"]), messages=messages, documents=list(body["documents"]))
    except (zlib.error, ValueError, KeyError, TypeError):
        return None


def _feedback_from(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {k: v for k, v in value.items() if k in ("rating", "reason", "at")}


def _comparison_from(item: dict[str, Any]) -> Comparison:
    plain = from_item(item)
    return Comparison(
        id=plain["id"],
        user_id=plain["userId"],
        title=plain.get("title", ""),
        created_at=plain["createdAt"],
        updated_at=plain["updatedAt"],
        lanes=[
            ComparisonLane(
                index=int(lane["lane"]),
                model=lane["model"],
                inference_config=lane.get("inferenceConfig") or None,
                conversation_id=lane["conversationId"],
            )
            for lane in plain.get("lanes", [])
        ],
        system=plain.get("system"),
        continued_as=plain.get("continuedAs"),
    )


def dynamo_numbers(value: Any) -> Any:
    """`value` with its floats as Decimals (DynamoDB's serializer refuses floats); exact for the
    decimal text a client sent (0.2 stays 0.2)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list | tuple):
        return [dynamo_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: dynamo_numbers(item) for key, item in value.items()}
    return value


class ConversationStore(TableAdapter):
    """Implements `lambda_chat.domain.ports.ConversationRepository` on one DynamoDB table."""

    @cached_property
    def call_log(self) -> CallLog:
        return CallLog(self._client, self._table, retention_days=self._retention_days, clock=self._clock)

    # -- conversations ------------------------------------------------------------------------

    def start_conversation(self, conversation: Conversation, first_message: Message) -> None:
        """The new conversation and its first message, together or not at all (one request)."""
        self._transact(
            [
                {"Put": {"Item": self._conversation_item(conversation), **_MUST_BE_NEW}},
                {"Put": {"Item": self._message_item(conversation.user_id, first_message), **_MUST_BE_NEW}},
            ],
            not_found_at=None,
        )

    def record_answer(self, user_id: str, turn: AnsweredTurn) -> None:
        """The end of a turn in one request: the answer, the conversation's touch (updatedAt, list
        order, `model` if given, one more message counted, the `history_window` if given) and the
        call record, all or nothing.

        The touch requires the conversation to exist, so a turn that raced a delete of its
        conversation leaves no orphan answer: NotFound is raised and nothing is written.
        `supersedes`: ids of messages this answer replaces (a regenerate), marked `supersededBy`
        in the same transaction; one already superseded raises Conflict `message_superseded`.
        """
        message, history_window, supersedes = turn.answer, turn.history_window, turn.supersedes
        names, values, expression = self._touch_expression(
            message.conversation_id, turn.updated_at, model=turn.model
        )
        if history_window is not None and not supersedes:
            names["#window"] = HISTORY_WINDOW_ATTRIBUTE
            values[":window"] = encode_history_window(history_window)
            expression += ", #window = :window"
        names["#count"] = MESSAGE_COUNT_ATTRIBUTE
        values[":one"] = 1
        expression += " ADD #count :one"
        if supersedes:  # the thread changed: the next turn reads the messages again
            names["#window"] = HISTORY_WINDOW_ATTRIBUTE
            expression += " REMOVE #window"
        update = {
            "Key": self._conversation_key(user_id, message.conversation_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }
        self._transact(
            [
                {"Put": {"Item": self._message_item(user_id, message), **_MUST_BE_NEW}},
                {"Update": update},
                {"Put": {"Item": call_record_item(turn.call_record, self._expires_at())}},
                *self._supersede_updates(user_id, message, supersedes),
            ],
            not_found_at=1,
            superseded_from=3,
        )

    def _conversation_item(self, conversation: Conversation) -> dict[str, Any]:
        # A comparison's lane conversations are not listed (no gsi1pk) until one is continued.
        listed = conversation.comparison_id is None
        return to_item(
            {
                "pk": keys.user_pk(conversation.user_id),
                "sk": keys.conversation_sk(conversation.id),
                "gsi1pk": keys.conversations_gsi_pk(conversation.user_id) if listed else None,
                "gsi1sk": f"{conversation.updated_at}#{conversation.id}",
                ITEM_TYPE_ATTRIBUTE: "conversation",
                "id": conversation.id,
                "userId": conversation.user_id,
                "title": conversation.title,
                "createdAt": conversation.created_at,
                "updatedAt": conversation.updated_at,
                "model": conversation.model,
                "system": conversation.system,
                # Created with its first message (start_conversation).
                MESSAGE_COUNT_ATTRIBUTE: 1,
                "inferenceConfig": dynamo_numbers(conversation.inference_config) or None,
                "comparisonId": conversation.comparison_id,
                "lane": conversation.lane,
                "tools": conversation.tools,
                TTL_ATTRIBUTE: self._expires_at(),
            }
        )

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        return _conversation_from(
            self._consistent_item(self._conversation_key(user_id, conversation_id), "Conversation")
        )

    def _consistent_item(self, key: dict[str, Any], what: str) -> dict[str, Any]:
        """One strongly consistent GetItem; NotFound("<what> not found") when there is no item."""
        item = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        if not item:
            raise NotFound(f"{what} not found")
        return dict(item)

    def get_conversation_with_history(
        self, user_id: str, conversation_id: str
    ) -> tuple[Conversation, int, HistoryWindow | None]:
        """One consistent GetItem: the conversation, its message count and its history window."""
        item = self._consistent_item(self._conversation_key(user_id, conversation_id), "Conversation")
        count = int(item.get(MESSAGE_COUNT_ATTRIBUTE, {}).get("N", "0"))
        raw = item.get(HISTORY_WINDOW_ATTRIBUTE, {}).get("B")
        window = decode_history_window(raw, conversation_id) if raw is not None else None
        return _conversation_from(item), count, window

    def list_conversations(self, user_id: str, limit: int, cursor: str | None) -> Page[Conversation]:
        return self._newest_first(
            keys.conversations_gsi_pk(user_id), user_id, limit, cursor, _conversation_from
        )

    def _newest_first(
        self,
        gsi_pk: str,
        user_id: str,
        limit: int,
        cursor: str | None,
        convert: Callable[[dict[str, Any]], T],
    ) -> Page[T]:
        """One page of the caller's items listed under `gsi_pk` on GSI1, newest activity first."""
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
            convert=convert,
        )

    def update_conversation(
        self, user_id: str, conversation_id: str, changes: ConversationChanges
    ) -> Conversation:
        """One UpdateItem conditioned on the conversation existing (NotFound otherwise); returns the
        item as written (ReturnValues ALL_NEW)."""
        names, values, expression = self._touch_expression(
            conversation_id,
            changes.updated_at,
            title=changes.title,
            system=changes.system or None,
            model=changes.model,
        )
        if changes.tools is not None:
            names["#tools"] = "tools"
            values[":tools"] = changes.tools
            expression += ", #tools = :tools"
        removes: list[str] = []
        if changes.system == "":
            names["#system"] = "system"
            removes.append("#system")
        if changes.inference_config is not None:
            names["#inference"] = "inferenceConfig"
            if changes.inference_config:
                expression += ", #inference = :inference"
                values[":inference"] = dynamo_numbers(changes.inference_config)
            else:
                removes.append("#inference")
        if removes:
            expression += " REMOVE " + ", ".join(removes)
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

    def append_message(
        self,
        user_id: str,
        message: Message,
        supersedes: Sequence[str] = (),
        *,
        require_conversation: bool = False,
    ) -> None:
        """One message, counted on its conversation (the history window's check); with
        `require_conversation`, both in one TransactWriteItems that requires the conversation
        (NotFound, nothing written, when it was deleted meanwhile). With `supersedes` (an edit: the
        edited question and what followed it), those messages are marked `supersededBy` in the
        same transaction and the conversation's history window is dropped (the thread changed);
        at most 98 of them (TransactWriteItems takes 100 items); one already superseded raises
        Conflict `message_superseded` and nothing is written."""
        # Ids are unique ULIDs; the condition turns an impossible collision into an error, not a loss.
        names = {"#count": MESSAGE_COUNT_ATTRIBUTE}
        if supersedes:
            names["#window"] = HISTORY_WINDOW_ATTRIBUTE
        count: dict[str, Any] = {
            "Key": self._conversation_key(user_id, message.conversation_id),
            "UpdateExpression": "ADD #count :one REMOVE #window" if supersedes else "ADD #count :one",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item({":one": 1}),
        }
        if supersedes:
            self._transact(
                [
                    {"Update": count},
                    {"Put": {"Item": self._message_item(user_id, message), **_MUST_BE_NEW}},
                    *self._supersede_updates(user_id, message, supersedes),
                ],
                not_found_at=0,
                superseded_from=2,
            )
            return
        if not require_conversation:
            self._call("put_item", Item=self._message_item(user_id, message), **_MUST_BE_NEW)
            # Counted after it is stored: a history window built meanwhile no longer matches the
            # count, so no turn reads a window that lacks this message.
            with contextlib.suppress(NotFound):  # its conversation is gone: nothing to count
                self._call("update_item", not_found="Conversation not found", **count)
            return
        self._transact(
            [
                {"Update": count},
                {"Put": {"Item": self._message_item(user_id, message), **_MUST_BE_NEW}},
            ],
            not_found_at=0,
        )

    def _supersede_updates(
        self, user_id: str, replacement: Message, superseded: Sequence[str]
    ) -> list[dict[str, Any]]:
        return [
            {
                "Update": {
                    "Key": to_item(
                        {
                            "pk": keys.messages_pk(user_id, replacement.conversation_id),
                            "sk": keys.message_sk(message_id),
                        }
                    ),
                    "UpdateExpression": "SET supersededBy = :by",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(supersededBy)",
                    "ExpressionAttributeValues": to_item({":by": replacement.id}),
                }
            }
            for message_id in superseded
        ]

    def set_feedback(
        self, user_id: str, conversation_id: str, message_id: str, feedback: dict[str, Any] | None
    ) -> Message:
        """Set (or with None, remove) the feedback on an answer and its feedback record
        (lambda_chat.adapters.feedback_log), in one transaction; returns the updated message.
        NotFound when the message is not the caller's answer in that conversation."""
        key = to_item({"pk": keys.messages_pk(user_id, conversation_id), "sk": keys.message_sk(message_id)})
        found = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        if not found or from_item(found).get("role") != "assistant":
            raise NotFound("Answer not found")
        message = _message_from(found)
        update: dict[str, Any] = {
            "Key": key,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#feedback": "feedback"},
        }
        if feedback is None:
            update["UpdateExpression"] = "REMOVE #feedback"
            record: dict[str, Any] = {"Delete": {"Key": feedback_key(user_id, message_id)}}
        else:
            update["UpdateExpression"] = "SET #feedback = :feedback"
            update["ExpressionAttributeValues"] = to_item({":feedback": feedback})
            record = {"Put": {"Item": feedback_item(user_id, message, feedback, self._expires_at())}}
        try:
            self._transact([{"Update": update}, record], not_found_at=0)
        except NotFound:
            raise NotFound("Answer not found") from None
        return replace(message, feedback=feedback)

    def _message_item(self, user_id: str, message: Message) -> dict[str, Any]:
        values: dict[str, Any] = {
            "pk": keys.messages_pk(user_id, message.conversation_id),
            "sk": keys.message_sk(message.id),
            ITEM_TYPE_ATTRIBUTE: "message",
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
            if message.usage.estimated:
                values["usageEstimated"] = True
            if message.usage.cache_read_tokens:
                values["cacheReadInputTokens"] = message.usage.cache_read_tokens
            if message.usage.cache_write_tokens:
                values["cacheWriteInputTokens"] = message.usage.cache_write_tokens
        if message.stop_reason is not None:
            values["stopReason"] = message.stop_reason
        if message.version_of is not None:
            values["versionOf"] = message.version_of
        if message.cost_usd is not None:
            values["costUsd"] = message.cost_usd
        if message.inference_config:
            values["inferenceConfig"] = dynamo_numbers(message.inference_config)
        if message.blocks:
            values["blocks"] = json.dumps(message.blocks, ensure_ascii=False, default=str)
        if message.tool_step:
            values["toolStep"] = True
        return to_item(values)

    def recent_messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        # Consistent: read after the conversation's count, it sees every message that count includes.
        response = self._call(
            "query",
            ConsistentRead=True,
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

    # -- comparisons ----------------------------------------------------------------------------

    def get_comparison(self, user_id: str, comparison_id: str) -> Comparison:
        return _comparison_from(
            self._consistent_item(self._comparison_key(user_id, comparison_id), "Comparison")
        )

    def list_comparisons(self, user_id: str, limit: int, cursor: str | None) -> Page[Comparison]:
        return self._newest_first(keys.comparisons_gsi_pk(user_id), user_id, limit, cursor, _comparison_from)

    def record_lane_turn(
        self,
        comparison: Comparison,
        conversation: Conversation,
        question: Message,
        answer: Message,
        call_record: CallRecord,
    ) -> None:
        """One lane's turn in one TransactWriteItems: the comparison and the lane conversation are
        created or touched (UpdateItem upserts: lanes of one comparison write concurrently), then
        the question, the answer and the call record. The lane conversation must still belong to
        the comparison (not continued as an ordinary conversation meanwhile)."""
        user_id = comparison.user_id
        lanes = [
            {
                "lane": lane.index,
                "model": lane.model,
                "conversationId": lane.conversation_id,
                **({"inferenceConfig": lane.inference_config} if lane.inference_config else {}),
            }
            for lane in comparison.lanes
        ]
        comparison_values: dict[str, Any] = {
            ":type": "comparison",
            ":id": comparison.id,
            ":user": user_id,
            ":title": comparison.title,
            ":created": comparison.created_at,
            ":updated": comparison.updated_at,
            ":gsi1pk": keys.comparisons_gsi_pk(user_id),
            ":gsi1sk": f"{comparison.updated_at}#{comparison.id}",
            ":lanes": dynamo_numbers(lanes),
            ":ttl": self._expires_at(),
        }
        comparison_sets = [
            "#type = :type", "id = :id", "userId = :user", "title = if_not_exists(title, :title)",
            "createdAt = if_not_exists(createdAt, :created)", "updatedAt = :updated",
            "gsi1pk = :gsi1pk", "gsi1sk = :gsi1sk", "lanes = :lanes", "#ttl = :ttl",
        ]  # fmt: skip
        if comparison.system:
            comparison_sets.append("#system = if_not_exists(#system, :system)")
            comparison_values[":system"] = comparison.system
        comparison_names = {"#type": ITEM_TYPE_ATTRIBUTE, "#ttl": TTL_ATTRIBUTE}
        if comparison.system:
            comparison_names["#system"] = "system"
        conversation_values: dict[str, Any] = {
            ":type": "conversation",
            ":id": conversation.id,
            ":user": user_id,
            ":title": conversation.title,
            ":created": conversation.created_at,
            ":updated": conversation.updated_at,
            ":gsi1sk": f"{conversation.updated_at}#{conversation.id}",
            ":model": conversation.model,
            ":comparison": comparison.id,
            ":lane": conversation.lane,
            ":ttl": self._expires_at(),
        }
        conversation_sets = [
            "#type = :type", "id = :id", "userId = :user", "title = if_not_exists(title, :title)",
            "createdAt = if_not_exists(createdAt, :created)", "updatedAt = :updated",
            "gsi1sk = :gsi1sk", "model = :model", "comparisonId = :comparison", "lane = :lane",
            "#ttl = :ttl",
        ]  # fmt: skip
        conversation_names = {"#type": ITEM_TYPE_ATTRIBUTE, "#ttl": TTL_ATTRIBUTE}
        if conversation.system:
            conversation_sets.append("#system = if_not_exists(#system, :system)")
            conversation_values[":system"] = conversation.system
            conversation_names["#system"] = "system"
        if conversation.inference_config:
            conversation_sets.append("inferenceConfig = :inference")
            conversation_values[":inference"] = dynamo_numbers(conversation.inference_config)
        self._transact(
            [
                {
                    "Update": {
                        "Key": self._comparison_key(user_id, comparison.id),
                        "UpdateExpression": "SET " + ", ".join(comparison_sets),
                        "ExpressionAttributeNames": comparison_names,
                        "ExpressionAttributeValues": to_item(comparison_values),
                    }
                },
                {
                    "Update": {
                        "Key": self._conversation_key(user_id, conversation.id),
                        "UpdateExpression": "SET " + ", ".join(conversation_sets),
                        "ConditionExpression": "attribute_not_exists(pk) OR comparisonId = :comparison",
                        "ExpressionAttributeNames": conversation_names,
                        "ExpressionAttributeValues": to_item(conversation_values),
                    }
                },
                {"Put": {"Item": self._message_item(user_id, question), **_MUST_BE_NEW}},
                {"Put": {"Item": self._message_item(user_id, answer), **_MUST_BE_NEW}},
                {"Put": {"Item": call_record_item(call_record, self._expires_at())}},
            ],
            not_found_at=1,
        )

    def continue_comparison_lane(
        self, user_id: str, comparison_id: str, conversation_id: str, *, updated_at: str
    ) -> Conversation:
        """The lane's conversation listed (gsi1pk set) and detached, and the comparison marked
        continued, in one transaction."""
        self._transact(
            [
                {
                    "Update": {
                        "Key": self._conversation_key(user_id, conversation_id),
                        "UpdateExpression": (
                            "SET gsi1pk = :listed, gsi1sk = :gsi1sk, updatedAt = :updated "
                            "REMOVE comparisonId, lane"
                        ),
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": to_item(
                            {
                                ":listed": keys.conversations_gsi_pk(user_id),
                                ":gsi1sk": f"{updated_at}#{conversation_id}",
                                ":updated": updated_at,
                            }
                        ),
                    }
                },
                {
                    "Update": {
                        "Key": self._comparison_key(user_id, comparison_id),
                        "UpdateExpression": "SET continuedAs = :conversation",
                        "ConditionExpression": (
                            "attribute_exists(pk) AND "
                            "(attribute_not_exists(continuedAs) OR continuedAs = :conversation)"
                        ),
                        "ExpressionAttributeValues": to_item({":conversation": conversation_id}),
                    }
                },
            ],
            not_found_at=0,
        )
        return self.get_conversation(user_id, conversation_id)

    def delete_comparison(self, user_id: str, comparison_id: str) -> None:
        self._call(
            "delete_item",
            Key=self._comparison_key(user_id, comparison_id),
            ConditionExpression="attribute_exists(pk)",
            not_found="Comparison not found",
        )
        self._call(
            "delete_item",
            Key=to_item({"pk": keys.user_pk(user_id), "sk": keys.comparison_stop_sk(comparison_id)}),
        )

    def request_lane_stop(self, user_id: str, comparison_id: str, lane: int) -> None:
        """ADD the lane to the comparison's stop-request item (its own item: a running
        comparison's item may not exist yet); it expires with the retention TTL."""
        self._call(
            "update_item",
            Key=to_item({"pk": keys.user_pk(user_id), "sk": keys.comparison_stop_sk(comparison_id)}),
            UpdateExpression="ADD lanes :lane SET #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":lane": {"NS": [str(lane)]},
                ":ttl": {"N": str(int(self._clock()) + 86_400)},
            },
        )

    def stopped_lanes(self, user_id: str, comparison_id: str) -> set[int]:
        response = self._call(
            "get_item",
            Key=to_item({"pk": keys.user_pk(user_id), "sk": keys.comparison_stop_sk(comparison_id)}),
            ConsistentRead=True,
        )
        lanes = (response.get("Item") or {}).get("lanes", {}).get("NS", [])
        return {int(value) for value in lanes}

    @staticmethod
    def _comparison_key(user_id: str, comparison_id: str) -> dict[str, Any]:
        return to_item({"pk": keys.user_pk(user_id), "sk": keys.comparison_sk(comparison_id)})

    # -- plumbing -------------------------------------------------------------------------------

    def _touch_expression(
        self,
        conversation_id: str,
        updated_at: str,
        *,
        title: str | None = None,
        system: str | None = None,
        model: str | None = None,
    ) -> tuple[dict[str, str], dict[str, Any], str]:
        """SET updatedAt, the list order (gsi1sk), the TTL, and whichever of title/system/model is given."""
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
        return names, values, "SET " + ", ".join(sets)

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
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                response: dict[str, Any] = getattr(self._client, operation)(**params)
                return response
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if not_found is not None and code == "ConditionalCheckFailedException":
                    raise NotFound(not_found) from exc
                if code == "TransactionConflictException" and attempt + 1 < _CONFLICT_ATTEMPTS:
                    _conflict_pause(attempt)
                    continue
                raise translate_error(exc) from exc
            except BotoCoreError as exc:
                raise translate_error(exc) from exc
        raise AssertionError("unreachable")

    def _transact(
        self, items: list[dict[str, Any]], *, not_found_at: int | None, superseded_from: int | None = None
    ) -> None:
        """One TransactWriteItems on this table. A failed condition on item `not_found_at` (the
        conversation) is NotFound; on an item from `superseded_from` on (messages being
        superseded) Conflict `message_superseded`; conflicts with other transactions are retried."""
        for item in items:
            next(iter(item.values()))["TableName"] = self._table
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise translate_error(exc) from exc
                codes = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                gone = not_found_at is not None and codes[not_found_at : not_found_at + 1] == [
                    "ConditionalCheckFailed"
                ]
                if gone:
                    raise NotFound("Conversation not found") from exc
                if superseded_from is not None and "ConditionalCheckFailed" in codes[superseded_from:]:
                    raise Conflict(
                        "That message was already regenerated or edited; reload the conversation",
                        code="message_superseded",
                    ) from exc
                if "TransactionConflict" in codes and attempt + 1 < _CONFLICT_ATTEMPTS:
                    _conflict_pause(attempt)
                    continue
                raise transaction_cancellation_error(codes, "The storage") from exc
            except BotoCoreError as exc:
                raise translate_error(exc) from exc


_MUST_BE_NEW: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}


def _conflict_pause(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))

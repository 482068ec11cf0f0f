"""Saved prompts in DynamoDB: pk USER#<user> / sk PROMPT#<prompt id> (ULIDs: newest sorts last)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common import keys
from chatbot_common.dynamo import TableAdapter, from_item, to_item, translate_error
from chatbot_common.resources import ITEM_TYPE_ATTRIBUTE
from lambda_chat.domain.prompts import SavedPrompt

_PREFIX = "PROMPT#"


def _prompt_from(item: dict[str, Any]) -> SavedPrompt:
    plain = from_item(item)
    return SavedPrompt(
        prompt_id=plain["promptId"],
        user_id=plain["userId"],
        title=plain.get("title", ""),
        text=plain.get("text", ""),
        created_at=plain.get("createdAt", ""),
        updated_at=plain.get("updatedAt", ""),
    )


class PromptStore(TableAdapter):
    """Implements `lambda_chat.domain.prompts.PromptRepository`. Saved prompts do not expire
    (no TTL): they are the user's library, not conversation data."""

    def _key(self, user_id: str, prompt_id: str) -> dict[str, Any]:
        return to_item({"pk": keys.user_pk(user_id), "sk": f"{_PREFIX}{prompt_id}"})

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._client, operation)(TableName=self._table, **params)
            return response
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, what="saved prompts") from exc

    def _query(self, user_id: str, **extra: Any) -> dict[str, Any]:
        return self._call(
            "query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": keys.user_pk(user_id), ":prefix": _PREFIX}),
            **extra,
        )

    def list_prompts(self, user_id: str, limit: int) -> list[SavedPrompt]:
        response = self._query(user_id, ScanIndexForward=False, Limit=limit)
        return [_prompt_from(item) for item in response.get("Items", [])]

    def count_prompts(self, user_id: str) -> int:
        return int(self._query(user_id, Select="COUNT").get("Count", 0))

    def get_prompt(self, user_id: str, prompt_id: str) -> SavedPrompt | None:
        item = self._call("get_item", Key=self._key(user_id, prompt_id), ConsistentRead=True).get("Item")
        return _prompt_from(item) if item else None

    def put_prompt(self, prompt: SavedPrompt) -> None:
        item = {
            **from_item(self._key(prompt.user_id, prompt.prompt_id)),
            ITEM_TYPE_ATTRIBUTE: "prompt",
            "promptId": prompt.prompt_id,
            "userId": prompt.user_id,
            "title": prompt.title,
            "text": prompt.text,
            "createdAt": prompt.created_at,
            "updatedAt": prompt.updated_at,
        }
        self._call("put_item", Item=to_item(item))

    def delete_prompt(self, user_id: str, prompt_id: str) -> bool:
        response = self._call("delete_item", Key=self._key(user_id, prompt_id), ReturnValues="ALL_OLD")
        return bool(response.get("Attributes"))

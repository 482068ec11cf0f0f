"""The local stack's moto snapshots only the items a DynamoDB transaction names (not whole tables):
a cancelled transaction must still leave every item as it was, and a successful one apply fully."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_stack.moto_service import MotoServer

TABLE = "transactions-it"


@pytest.fixture(scope="module")
def dynamodb(tmp_path_factory: pytest.TempPathFactory, dummy_aws_env: None) -> Iterator[Any]:
    server = MotoServer(Path(tmp_path_factory.mktemp("moto-transactions")), persist=False)
    server.start()
    server.ensure_resources(TABLE, "transactions-it", ["http://127.0.0.1:8000"])
    yield server.client("dynamodb")
    server.stop()


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "item"}}


def item(client: Any, pk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(TableName=TABLE, Key=key(pk), ConsistentRead=True).get(
        "Item"
    )
    return found


def set_n(pk: str, value: int, condition: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(pk),
            "UpdateExpression": "SET n = :n",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":n": {"N": str(value)}},
        }
    }


def test_a_cancelled_transaction_changes_nothing(dynamodb: Any) -> None:
    # Given an existing item, and others that do not exist
    dynamodb.put_item(TableName=TABLE, Item={**key("kept"), "n": {"N": "1"}})
    # When a transaction puts a new item and updates the existing one, then fails on a third
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {**key("new"), "n": {"N": "1"}}}},
                set_n("kept", 2, "attribute_exists(pk)"),
                set_n("missing", 3, "attribute_exists(pk)"),
            ]
        )
    # Then it is cancelled for that item's reason, and the first two writes are undone
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert item(dynamodb, "new") is None
    assert item(dynamodb, "missing") is None
    assert item(dynamodb, "kept") == {**key("kept"), "n": {"N": "1"}}


def test_a_successful_transaction_applies_every_write(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**key("touched"), "n": {"N": "1"}})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key("added"), "n": {"N": "1"}}}},
            set_n("touched", 2, "attribute_exists(pk)"),
        ]
    )
    assert item(dynamodb, "added") == {**key("added"), "n": {"N": "1"}}
    assert item(dynamodb, "touched") == {**key("touched"), "n": {"N": "2"}}

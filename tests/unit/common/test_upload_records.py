"""The one upload-record store both Lambdas use, against botocore's Stubber (no network)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from chatbot_common.dynamo import to_item
from chatbot_common.errors import Conflict, Throttled
from chatbot_common.upload_records import DynamoUploadRecords
from chatbot_common.uploads import UploadRecord

RECORD = UploadRecord(
    user_id="alice",
    upload_id="01jzzzzzzzzzzzzzzzzzzzzzzz",
    filename="notes.txt",
    key="uploads/alice/01jzzzzzzzzzzzzzzzzzzzzzzz/notes.txt",
    purpose="document",
    kind="txt",
    content_type="text/plain",
    declared_size=12,
    created_at="2026-01-01T00:00:00.000Z",
    updated_at="2026-01-01T00:00:00.000Z",
    expires_at=1_800_000_000,
)
KEY = {"pk": {"S": "USER#alice"}, "sk": {"S": "UPLOAD#01jzzzzzzzzzzzzzzzzzzzzzzz"}}


@pytest.fixture
def db() -> Iterator[Stubber]:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def store(db: Stubber, **options: bool | str) -> DynamoUploadRecords:
    return DynamoUploadRecords(db.client, "table", **options)  # type: ignore[arg-type]


def test_a_record_round_trips_through_the_item_shape(db: Stubber) -> None:
    item = to_item(RECORD.to_item())
    db.add_response(
        "put_item",
        {},
        {"TableName": "table", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"},
    )
    db.add_response("get_item", {"Item": item}, {"TableName": "table", "Key": KEY, "ConsistentRead": True})

    records = store(db)
    records.put(RECORD)

    assert records.get("alice", RECORD.upload_id) == RECORD
    assert item["type"] == {"S": "upload"}  # the item-type attribute every item shares


def test_the_chat_lambda_reads_eventually_consistent_and_a_missing_record_is_none(db: Stubber) -> None:
    db.add_response("get_item", {}, {"TableName": "table", "Key": KEY, "ConsistentRead": False})

    assert store(db, consistent_reads=False).get("alice", RECORD.upload_id) is None


def test_write_failures_are_domain_errors(db: Stubber) -> None:
    db.add_client_error("put_item", "ConditionalCheckFailedException")
    db.add_client_error("put_item", "ProvisionedThroughputExceededException")

    records = store(db)
    with pytest.raises(Conflict):
        records.put(RECORD)
    with pytest.raises(Throttled):
        records.update(RECORD)


def test_ready_documents_lists_only_the_callers_ready_documents_newest_first() -> None:
    from dataclasses import replace

    from moto import mock_aws

    from chatbot_common.resources import table_definition

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition("table"))
        records = DynamoUploadRecords(client, "table")
        # Given alice's two ready documents, a pending one and a ready image, and bob's ready document
        older = replace(RECORD, upload_id="01jaaaaaaaaaaaaaaaaaaaaaaa", status="ready")
        newer = replace(RECORD, upload_id="01jbbbbbbbbbbbbbbbbbbbbbbb", status="ready")
        pending = replace(RECORD, upload_id="01jcccccccccccccccccccccca", status="pending")
        image = replace(RECORD, upload_id="01jcccccccccccccccccccccce", status="ready", purpose="image")
        bobs = replace(RECORD, user_id="bob", upload_id="01jddddddddddddddddddddddd", status="ready")
        for record in (older, newer, pending, image, bobs):
            records.put(record)
        # When alice's ready documents are listed
        listed = records.ready_documents("alice", limit=10)
        limited = records.ready_documents("alice", limit=1)
    # Then only hers, ready, documents, newest first, and no more than asked for
    assert [r.upload_id for r in listed] == [newer.upload_id, older.upload_id]
    assert [r.upload_id for r in limited] == [newer.upload_id]

"""The shared DynamoDB data layer: error translation and pagination cursors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chatbot_common.dynamo import decode_cursor, encode_cursor, to_item, translate_error
from chatbot_common.errors import Conflict, InvalidInput, Throttled, UpstreamError


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")


def test_dynamodb_errors_become_domain_errors() -> None:
    assert isinstance(translate_error(client_error("ProvisionedThroughputExceededException")), Throttled)
    assert isinstance(translate_error(client_error("ConditionalCheckFailedException")), Conflict)
    assert isinstance(translate_error(client_error("InternalServerError")), UpstreamError)


def test_cursor_round_trips_and_rejects_tampering() -> None:
    key = to_item({"pk": "USER#a", "sk": "CONV#1", "gsi1pk": "USER#a#CONVS", "gsi1sk": "t#1"})
    cursor = encode_cursor(key)
    assert cursor is not None
    names = ("pk", "sk", "gsi1pk", "gsi1sk")
    assert decode_cursor(cursor, expected={"gsi1pk": "USER#a#CONVS"}, keys=names) == key
    with pytest.raises(InvalidInput):  # another user's partition
        decode_cursor(cursor, expected={"gsi1pk": "USER#b#CONVS"}, keys=names)
    for bad in ("!!!", "bm90LWpzb24", "W10", cursor[:-3]):
        with pytest.raises(InvalidInput):
            decode_cursor(bad, expected={}, keys=names)

"""The DynamoDB data layer both Lambdas share: (de)serialising items, error translation and
opaque pagination cursors."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chatbot_common.aws_errors import translate_client_error
from chatbot_common.errors import DomainError, InvalidInput

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class TableAdapter:
    """Base of the adapters that keep items in one table for `retention_days`: the client, the
    table name, and the TTL (`expiresAt`, Unix seconds) of what they write now.

    DynamoDB deletes an item some time after its TTL passes (usually within days): "Using time to
    live (TTL) in DynamoDB" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
    """

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
        self._retention_days = retention_days
        self._clock = clock

    def _expires_at(self) -> int:
        return int(self._clock()) + self._retention_days * 86_400


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values as a DynamoDB item (attribute-value shape); None values are left out."""
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values; numbers come back as int (or float), not Decimal."""
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def translate_error(exc: Exception, *, what: str = "storage") -> DomainError:
    """A botocore failure on the table as a domain error (see `translate_client_error`)."""
    return translate_client_error(exc, f"The {what}")


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    plain = from_item(last_key)
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, *, expected: Mapping[str, str], keys: Collection[str]
) -> dict[str, Any] | None:
    """The ExclusiveStartKey in a cursor, checked: right key names, and pinned to the caller's
    partition (`expected`), so a crafted cursor cannot move a query elsewhere."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not valid") from exc
    if (
        not isinstance(plain, dict)
        or set(plain) != set(keys)
        or not all(isinstance(value, str) and value for value in plain.values())
        or any(plain.get(name) != value for name, value in expected.items())
    ):
        raise InvalidInput("cursor is not valid")
    return to_item(plain)

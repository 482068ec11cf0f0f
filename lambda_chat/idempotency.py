"""Idempotent streamed operations (POST /chat, POST /documents/{id}/summary) under client retries.

A client sends ``Idempotency-Key: <1-255 visible ASCII characters>``. The first request with a key
runs; its events (meta, deltas, usage, done or error) are stored as the result, and a retry with
the same key and the same body gets that result again, as JSON or replayed as SSE events, without
calling the model or storing anything twice. This is the Powertools for AWS Lambda idempotency
utility (`idempotent_function`) with its DynamoDB persistence layer, not a hand-made lock:

- same key, different body: 422 ``idempotency_key_reused`` (Powertools' IdempotencyValidationError);
- same key while the first request still runs: 409 ``idempotency_in_progress``
  (IdempotencyAlreadyInProgressError); the in-progress lock expires after `in_progress_seconds`
  (default 900 s, Lambda's maximum duration) so a request killed mid-turn cannot block its key;
- an operation refused or failing before it stored anything raises: Powertools deletes the record
  and a retry runs afresh. Once something was stored (even a partial, `incomplete` or `stopped`
  answer) the outcome is kept and replayed.

Keys are scoped per user and per operation (the hashed key is ``[user, operation, key]``), so
another user's identical key never sees this user's result. Records live in the chat table
(``pk = IDEMPOTENCY#<function>``, ``sk = <hash>``, TTL attribute ``expiresAt``; see
chatbot_common.resources) and expire after `expires_after_seconds` (default 24 h).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from chatbot_common.errors import Conflict, DomainError, InvalidInput, UnprocessableContent, UpstreamError
from chatbot_common.resources import (
    IDEMPOTENCY_PARTITION_PREFIX,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Visible ASCII, as the IETF draft "The Idempotency-Key HTTP Header Field" uses (a string value).
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")

StoredEvents = list[dict[str, Any]]


class _TurnDeadline:
    """What Powertools asks a Lambda context for: the time left to the running request. Used for
    the in-progress lock's expiry (Powertools' `register_lambda_context`)."""

    def __init__(self, seconds: float) -> None:
        self._millis = int(seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self._millis


def check_key(value: str) -> str:
    """The header's value, or InvalidInput (400) naming the rule."""
    if not _KEY_PATTERN.match(value):
        raise InvalidInput(f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters")
    return value


def dynamodb_persistence(client: Any, table_name: str, *, function: str) -> BasePersistenceLayer:
    """Powertools' DynamoDB persistence layer on the chat table's key schema."""
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=PARTITION_KEY,
        sort_key_attr=SORT_KEY,
        static_pk_value=f"{IDEMPOTENCY_PARTITION_PREFIX}{function}",
        expiry_attr=TTL_ATTRIBUTE,
        boto3_client=client,
    )


class IdempotentOperations:
    """Runs an operation at most once per (user, operation, key); see the module docstring."""

    def __init__(
        self,
        persistence: BasePersistenceLayer,
        *,
        expires_after_seconds: int = 86_400,
        in_progress_seconds: float = 900.0,
    ) -> None:
        config = IdempotencyConfig(
            event_key_jmespath="[user, operation, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        config.register_lambda_context(_TurnDeadline(in_progress_seconds))  # type: ignore[arg-type]
        self._run = idempotent_function(
            data_keyword_argument="request", config=config, persistence_store=persistence
        )(_run_operation)

    def run(
        self,
        *,
        user_id: str,
        operation: str,
        key: str,
        body: dict[str, Any],
        work: Callable[[], StoredEvents],
    ) -> StoredEvents:
        """`work()` the first time; the stored events of that first time on a retry.

        Raises Conflict (409) while the first request runs, UnprocessableContent (422) for the same
        key with another body, and whatever `work` raises (the record is then removed).
        """
        request = {"user": user_id, "operation": operation, "key": check_key(key), "body": body}
        try:
            result: StoredEvents = self._run(request=request, work=work)
        except IdempotencyAlreadyInProgressError:
            raise Conflict(
                f"A request with this {IDEMPOTENCY_HEADER} is still running; retry when it has finished",
                code="idempotency_in_progress",
            ) from None
        except IdempotencyValidationError:
            raise UnprocessableContent(
                f"This {IDEMPOTENCY_HEADER} was used with a different request body; use a new key",
                code="idempotency_key_reused",
            ) from None
        except DomainError:
            raise
        except Exception as exc:  # Powertools' persistence errors (the table could not be reached)
            raise UpstreamError("The idempotency store failed") from exc
        return result


def _run_operation(*, request: dict[str, Any], work: Callable[[], StoredEvents]) -> StoredEvents:
    """The function Powertools makes idempotent: `request` is what is hashed and validated."""
    del request
    return work()

"""botocore failures from S3 and DynamoDB as domain errors, for the adapters of both Lambdas.

Only error codes are read, never message text. Codes: DynamoDB "Error handling with DynamoDB"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html),
S3 "Error responses" (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html) and,
for transactions, the CancellationReasons of TransactWriteItems
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
"""

from __future__ import annotations

from collections.abc import Collection

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.errors import Conflict, DomainError, InvalidInput, NotFound, Throttled, UpstreamError

# Error codes (S3 and DynamoDB) that mean "slow down and retry".
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
# A condition failed or another transaction touched the item: nothing was written.
CONFLICT_CODES = frozenset({"ConditionalCheckFailedException", "TransactionConflictException"})
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "ResourceNotFoundException"})

# TransactWriteItems CancellationReasons codes (one per item, "None" for items that were fine).
CANCELLATION_THROTTLING = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
CANCELLATION_CONFLICT = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
CANCELLATION_INVALID = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    """The object or item does not exist (S3 answers a HEAD with a bare 404)."""
    return error_code(exc) in MISSING_CODES


def translate_client_error(
    exc: ClientError | BotoCoreError | Exception, what: str, *, missing_note: str = ""
) -> DomainError:
    """A botocore failure as a domain error: Throttled (429), Conflict (409), InvalidInput (400),
    NotFound (404) or UpstreamError (502).

    `what` names the thing being read or written ("The upload record"); `missing_note` is
    appended to the not-found message.
    """
    if not isinstance(exc, ClientError):
        return UpstreamError(f"{what} failed: {type(exc).__name__}")
    code = error_code(exc)
    if code in THROTTLING_CODES:
        return Throttled(f"{what} was throttled; retry shortly")
    if code in CONFLICT_CODES:
        return Conflict(f"{what} changed concurrently; retry")
    if code == "ValidationException":
        return InvalidInput(f"{what} rejected the request")
    if code in MISSING_CODES:
        return NotFound(f"{what}: not found{missing_note}")
    return UpstreamError(f"{what} failed ({code or 'unknown error'})")


def transaction_cancellation_error(codes: Collection[str], what: str) -> DomainError:
    """A cancelled TransactWriteItems as a domain error, from its per-item reason codes."""
    present = set(codes)
    if present & CANCELLATION_THROTTLING:
        return Throttled(f"{what} was throttled; retry shortly")
    if present & CANCELLATION_CONFLICT:
        return Conflict(f"{what} changed concurrently; retry")
    if present & CANCELLATION_INVALID:
        return InvalidInput(f"{what} rejected the request")
    reasons = ", ".join(code for code in codes if code != "None") or "unknown error"
    return UpstreamError(f"{what} failed ({reasons})")

"""botocore failures from S3 and DynamoDB as domain errors, for the adapters of both Lambdas.

Only error codes are read, never message text.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from chatbot_common.errors import DomainError, NotFound, Throttled, UpstreamError

_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
}
_MISSING = {"404", "NoSuchKey", "NotFound", "ResourceNotFoundException"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    """The object or item does not exist (S3 answers a HEAD with a bare 404)."""
    return error_code(exc) in _MISSING


def translate_client_error(
    exc: ClientError | BotoCoreError, what: str, *, missing_note: str = ""
) -> DomainError:
    """`what` names the thing being read or written ("The upload record"); `missing_note` is
    appended to the not-found message."""
    if not isinstance(exc, ClientError):
        return UpstreamError(f"{what} failed: {type(exc).__name__}")
    code = error_code(exc)
    if code in _THROTTLING:
        return Throttled(f"{what} was throttled; retry shortly")
    if code in _MISSING:
        return NotFound(f"{what}: not found{missing_note}")
    return UpstreamError(f"{what} failed ({code or 'unknown error'})")

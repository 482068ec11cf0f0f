"""Typed domain errors. Each carries a stable machine code and the HTTP status it maps to.

The HTTP layer maps them in one place (`chatbot_common.http`); nothing matches on message text.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "internal_error"
    status = 500

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, str] | None = None
    ) -> None:
        """`details` are extra fields of the error object on the wire (e.g. the ids of a turn that
        failed after its question was stored, so a client can find what was kept)."""
        super().__init__(message)
        self.message = message
        self.details: dict[str, str] = dict(details or {})
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid_request"
    status = 400


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415


class UnprocessableContent(DomainError):
    """The input is well formed but cannot be used (encrypted PDF, no text layer, corrupt file)."""

    code = "unprocessable_content"
    status = 422


class Throttled(DomainError):
    code = "throttled"
    status = 429


class UpstreamError(DomainError):
    """A dependency (Bedrock, DynamoDB, S3) failed in a way the caller cannot fix."""

    code = "upstream_error"
    status = 502

"""HTTP glue shared by both FastAPI apps: error mapping (the one place), correlation ids, identity.

Every error leaves as ``{"error": {"code": ..., "message": ...}}`` with a 4xx/5xx status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_common.errors import DomainError
from chatbot_common.identity import REQUEST_CONTEXT_HEADER, Identity, identity_from_headers
from chatbot_common.keys import ID_PATTERN
from chatbot_common.settings import Settings

CORRELATION_HEADER = "x-correlation-id"


class ApiModel(BaseModel):
    """Base of both APIs' request and response models: snake_case in Python, camelCase on the wire
    (docs/api.md), and built straight from domain entities (`Model.model_validate(entity)`)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class ApiRequest(ApiModel):
    """Base of both APIs' request bodies: a field the API does not have, or a value of the wrong JSON
    type, is a 400 naming the field, never ignored or coerced. A misspelt ``conversationID`` would
    otherwise start a new conversation, and ``"maxTokens": true`` would ask for one token. This is how
    Bedrock treats its own requests (a ValidationException for unknown members and wrong types).

    Only the camelCase wire names are fields (docs/api.md); their snake_case Python names are not.
    Pydantic's strict mode (https://docs.pydantic.dev/latest/concepts/strict_mode/) still takes a
    JSON integer where a number is expected; a whole-number float where an integer is expected is
    accepted only where a field says so.
    """

    # validate_by_name=False: the wire names only ("maxTokens"), so "max_tokens" is an unknown
    # field like any other rather than a second spelling that wins or loses against the first.
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        from_attributes=True,
        extra="forbid",
        strict=True,
    )


def error_body(code: str, message: str, details: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {**(details or {}), "code": code, "message": message}}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message, details), headers=headers)


# Ids as JSON Schema, for the OpenAPI document (routes check ids themselves, answering 400).
ID_SCHEMA: dict[str, JsonValue] = {"pattern": ID_PATTERN, "minLength": 26, "maxLength": 26}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine code (docs/api.md lists them): invalid_request, not_found, ...")
    message: str
    conversationId: str | None = Field(
        default=None, description="Set when a turn failed after its question was stored"
    )
    messageId: str | None = Field(default=None, description="The stored (incomplete) answer of such a turn")


class ErrorResponse(BaseModel):
    error: ErrorDetail


# What each status means on this API; every route lists the ones it can really return.
ERROR_DESCRIPTIONS = {
    400: "Invalid request: malformed JSON, bad id, unknown model or preset, bad cursor, ill-formed "
    "Unicode (invalid_request); Idempotency-Key unavailable (idempotency_unavailable)",
    401: "No authenticated identity (unauthenticated)",
    404: "Not found, or not the caller's (not_found)",
    405: "Method not allowed on this path (method_not_allowed); the Allow header lists the methods",
    409: "Conflict: the conversation was deleted during the turn (conversation_deleted), a request "
    "with this Idempotency-Key is still running (idempotency_in_progress), concurrent change (conflict)",
    413: "Request body, message, system prompt or file too large (payload_too_large)",
    415: "A body not sent as JSON (Content-Type other than application/json), or an unsupported file type "
    "(unsupported_media_type)",
    422: "Unusable content: an attachment that cannot be read (unprocessable_content), an "
    "Idempotency-Key reused with another body (idempotency_key_reused)",
    429: "Throttled by the model service or storage after retries (throttled)",
    500: "Unexpected error (internal_error)",
    502: "The model service or storage failed (upstream_error)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses, all with the error shape."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]} for status in statuses
    }


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method some route of `app` serves at this request's path, for the Allow header a
    405 must carry (RFC 9110 section 15.5.6). Asks the router itself (Match.FULL per method), so
    included routers and path parameters are handled as routing does."""
    methods: set[str] = set()
    for route in app.router.routes:
        if route.matches(scope)[0] is Match.NONE:
            continue
        for method in _METHODS:
            if route.matches({**scope, "method": method})[0] is Match.FULL:
                methods.add(method)
    return sorted(methods)


# Codes of errors Starlette raises itself (routing); everything else is a DomainError's code.
HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}
OTHER_HTTP_ERROR_CODE = "http_error"
# FastAPI's detail for a JSON body it could not decode for a reason other than bad JSON syntax
# (which it reports as a validation error): bytes that are not UTF-8, nesting past the parser's
# recursion limit. The original exception is the HTTPException's __cause__.
FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"


def unreadable_body_message(cause: BaseException | None) -> str:
    """What was wrong with a JSON body FastAPI could not read: not UTF-8 (the encoding JSON is
    exchanged in, RFC 8259 section 8.1; the first bad byte and its offset named), nested too
    deeply (Python's recursion limit), or else unreadable."""
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        return (
            f"The request body is not UTF-8 (byte 0x{byte} at offset {cause.start}): "
            "send JSON encoded as UTF-8 (RFC 8259, section 8.1)."
        )
    if isinstance(cause, RecursionError):
        return "The request body's JSON is nested too deeply to read."
    return "The request body could not be read as JSON."


def _describe_validation_error(exc: RequestValidationError) -> str:
    """The 400's message: each problem (at most five) named by its field's path in the body
    ("inferenceConfig.maxTokens: Input should be a valid integer"), in pydantic's words except
    where plainer ones exist (an empty body, a body that is not an object, a field the request
    does not have)."""
    parts = []
    for err in exc.errors()[:5]:
        kind = err.get("type")
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        if kind == "json_invalid":
            return "Request body is not valid JSON"
        if not loc and kind == "missing":
            return "The request body is empty: send a JSON object (docs/api.md)"
        if not loc and kind in ("model_attributes_type", "dict_type", "model_type"):
            return "The request body must be a JSON object"
        if kind == "extra_forbidden":
            parts.append(f"{loc}: not a field of this request")
            continue
        parts.append(f"{loc or 'body'}: {err.get('msg')}")
    return "; ".join(parts) or "Invalid request"


def _non_json_body(request: Request, exc: RequestValidationError) -> str | None:
    """The request's Content-Type, quoted (or "no Content-Type"), when its body was refused as a
    whole because it was not sent as JSON: FastAPI parses a body as JSON only for application/json
    or a +json type, and hands any other body on as bytes, which then fails the model as a whole
    (error at `("body",)`). None otherwise. RFC 9110 section 15.5.16: 415 Unsupported Media Type."""
    if not any(tuple(err.get("loc", ())) == ("body",) for err in exc.errors()):
        return None
    content_type = request.headers.get("content-type")
    if not content_type:
        return "no Content-Type"
    main, _, rest = content_type.partition(";")[0].strip().lower().partition("/")
    if main == "application" and (rest == "json" or rest.endswith("+json")):
        return None
    return repr(content_type)


def install_error_handlers(app: FastAPI, logger: Logger) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        if exc.status >= 500:
            logger.error("request failed", extra={"error_code": exc.code, "detail": exc.message})
        return error_response(exc.status, exc.code, exc.message, details=exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        media_type = _non_json_body(request, exc)
        if media_type is not None:
            message = f"Send the body as JSON with Content-Type: application/json (got {media_type})"
            return error_response(415, "unsupported_media_type", message)
        return error_response(400, "invalid_request", _describe_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_PARSE_ERROR:
            return error_response(400, "invalid_request", unreadable_body_message(exc.__cause__))
        code = HTTP_ERROR_CODES.get(exc.status_code, OTHER_HTTP_ERROR_CODE)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path served by several
            # routes (GET, PATCH, DELETE /conversations/{id}) allows all of theirs.
            headers["Allow"] = ", ".join(allowed_methods(app, dict(request.scope)))
        return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "Internal server error")


def install_request_logging(app: FastAPI, logger: Logger) -> None:
    """One structured log line per request, with a correlation id echoed to the client."""

    @app.middleware("http")
    async def _log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = request.headers.get(CORRELATION_HEADER) or _api_gateway_request_id(request)
        # A context variable, not the logger's global keys: under uvicorn several requests run at
        # once and must not log each other's id (in Lambda there is one request per instance).
        logger.thread_safe_append_keys(correlation_id=correlation_id)
        started = time.perf_counter()
        response = await call_next(request)
        if correlation_id:
            response.headers[CORRELATION_HEADER] = correlation_id
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response


def _api_gateway_request_id(request: Request) -> str | None:
    raw = request.headers.get(REQUEST_CONTEXT_HEADER)
    if not raw:
        return None
    try:
        value = json.loads(raw).get("requestId")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def identity_dependency(settings: Settings) -> Callable[[Request], Identity]:
    """A FastAPI dependency resolving the caller from the authenticated context only."""

    def _identity(request: Request) -> Identity:
        return identity_from_headers(
            request.headers, local_mode=settings.local_mode, dev_user_id=settings.dev_user_id
        )

    return _identity


class RequestSizeLimit:
    """Refuse request bodies over `max_bytes` with a 413 before the app parses anything.

    Checks the declared Content-Length first, then counts what actually arrives (a chunked body
    declares nothing). Bodies here are small JSON documents, so the checked body is buffered and
    handed to the app; later `receive` calls (disconnect detection while streaming) pass through.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first: Message = message  # the client went away before sending its body
                break
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                first = {"type": "http.request", "body": bytes(body), "more_body": False}
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return first
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "payload_too_large", f"Request body is larger than {self.max_bytes} bytes"
        )
        await response(scope, receive, send)

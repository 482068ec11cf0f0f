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
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_common.errors import DomainError
from chatbot_common.identity import REQUEST_CONTEXT_HEADER, Identity, identity_from_headers
from chatbot_common.settings import Settings

CORRELATION_HEADER = "x-correlation-id"


class ApiModel(BaseModel):
    """Base of both APIs' request and response models: snake_case in Python, camelCase on the wire
    (docs/api.md), and built straight from domain entities (`Model.model_validate(entity)`)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message))


def _describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        if err.get("type") == "json_invalid":
            return "Request body is not valid JSON"
        parts.append(f"{loc or 'body'}: {err.get('msg')}")
    return "; ".join(parts) or "Invalid request"


def install_error_handlers(app: FastAPI, logger: Logger) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        if exc.status >= 500:
            logger.error("request failed", extra={"error_code": exc.code, "detail": exc.message})
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", _describe_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

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

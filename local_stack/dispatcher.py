"""One ASGI app in front of the chat and upload apps: API Gateway's path routing, nothing more.

- `/chat`, `/compare`, `/comparisons/**`, `/conversations/**`, `/documents/**`, `/models`, `/presets`,
  `/tools`, `/health` go to the chat app, `/uploads/**` to the upload app, as the REST API's resources
  do in AWS;
- the same paths under `/api` are served with the prefix stripped, as CloudFront does for the browser;
- `/config.json` is the web client's runtime config, generated;
- anything else is a static file of the web client.

It drops any client-sent `x-amzn-request-context` header: in AWS only the Lambda Web Adapter sets it
(from the authorizer's verified claims), so a copy arriving from a client is an impersonation attempt.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from chatbot_common.http import error_body
from chatbot_common.identity import REQUEST_CONTEXT_HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CHAT_PREFIXES = (
    "/chat",
    "/compare",
    "/comparisons",
    "/conversations",
    "/documents",
    "/models",
    "/presets",
    "/tools",
    "/health",
    "/openapi.json",
    "/search",
    "/prompts",
)
UPLOAD_PREFIXES = ("/uploads",)
BROWSER_API_PREFIX = "/api"
CONFIG_PATH = "/config.json"
# Headers only the Lambda Web Adapter may set (from API Gateway's verified context and the Lambda
# invocation); a client-sent copy never reaches an app.
LAMBDA_ONLY_HEADERS = (REQUEST_CONTEXT_HEADER, "x-amzn-lambda-context")
_DROPPED_HEADERS = {name.encode("latin-1") for name in LAMBDA_ONLY_HEADERS}


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def route_for(path: str) -> tuple[str, str]:
    """Which backend serves `path`, and the path it sees: ("chat"|"upload"|"config"|"static", path)."""
    api_path = path
    if path == BROWSER_API_PREFIX or path.startswith(BROWSER_API_PREFIX + "/"):
        api_path = path[len(BROWSER_API_PREFIX) :] or "/"
        if _matches(api_path, CHAT_PREFIXES):
            return "chat", api_path
        if _matches(api_path, UPLOAD_PREFIXES):
            return "upload", api_path
        return "api_not_found", api_path
    if _matches(path, CHAT_PREFIXES):
        return "chat", path
    if _matches(path, UPLOAD_PREFIXES):
        return "upload", path
    if path == CONFIG_PATH:
        return "config", path
    return "static", path


def web_config(*, local_mode: bool, auth: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiBase": BROWSER_API_PREFIX, "localMode": local_mode, "auth": auth}


class Dispatcher:
    """Routes requests by path prefix to the mounted apps; fans lifespan out to both apps."""

    def __init__(
        self,
        *,
        chat_app: ASGIApp,
        upload_app: ASGIApp,
        static_dirs: list[Path],
        config: dict[str, Any],
    ) -> None:
        self.chat_app = chat_app
        self.upload_app = upload_app
        self.static_dirs = static_dirs
        self._config_body = json.dumps(config).encode()
        self._static: dict[Path, StaticFiles] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        target, path = route_for(scope["path"])
        if target in ("chat", "upload"):
            app = self.chat_app if target == "chat" else self.upload_app
            await app(self._backend_scope(scope, path), receive, send)
        elif target == "config":
            await self._send_bytes(send, 200, self._config_body, b"application/json")
        elif target == "api_not_found":
            body = json.dumps(error_body("not_found", "No such API route")).encode()
            await self._send_bytes(send, 404, body, b"application/json")
        else:
            try:
                await self._static_app()(scope, receive, send)
            except HTTPException as exc:  # raised before any response starts (missing file, bad method)
                # Unknown routes answer in the API's error shape, as API Gateway's gateway responses do.
                code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
                message = "No such route" if exc.status_code == 404 else str(exc.detail)
                body = json.dumps(error_body(code, message)).encode()
                extra = [(b"allow", b"GET, HEAD")] if exc.status_code == 405 else []
                await self._send_bytes(send, exc.status_code, body, b"application/json", extra)

    @staticmethod
    def _backend_scope(scope: Scope, path: str) -> Scope:
        backend = dict(scope)
        backend["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() not in _DROPPED_HEADERS]
        if path != scope["path"]:
            backend["path"] = path
            backend["raw_path"] = path.encode("utf-8")
        return backend

    def _static_app(self) -> ASGIApp:
        # Decided per request: `make web` may build web_client/dist/ while the stack is running.
        directory = next((d for d in self.static_dirs if (d / "index.html").is_file()), self.static_dirs[-1])
        app = self._static.get(directory)
        if app is None:
            app = self._static[directory] = StaticFiles(directory=directory, html=True, check_dir=False)
        return app

    @staticmethod
    async def _send_bytes(
        send: Send,
        status: int,
        body: bytes,
        content_type: bytes,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        headers.extend(extra_headers or [])
        headers.append((b"cache-control", b"no-store"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Run both apps' lifespan contexts (FastAPI start-up/shutdown hooks) inside ours."""
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with AsyncExitStack() as stack:
            try:
                for app in (self.chat_app, self.upload_app):
                    router = getattr(app, "router", None)
                    context = getattr(router, "lifespan_context", None)
                    if context is not None:
                        await stack.enter_async_context(context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})

"""The runtime as an ASGI application: route table -> handler on a worker thread -> HTTP response.

Framing is the ASGI server's job (hypercorn: HTTP/1.0, HTTP/1.1 chunked or close-delimited, h2c),
so this module only reads whole request bodies (chunked ones included) and sends bodies, streamed
ones frame by frame as the model produces them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from local_stack.bedrock_runtime.backend import RuntimeBackend
from local_stack.bedrock_runtime.developer_api import DeveloperApi
from local_stack.bedrock_runtime.exceptions import BedrockError, UnknownOperationException
from local_stack.bedrock_runtime.responses import RuntimeResponses
from local_stack.bedrock_runtime.routes import ROUTES, match
from local_stack.bedrock_runtime.wire import Request, Response, StreamResponse, error_response, request_id

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
_END = object()


class RuntimeApp:
    """ASGI app over a `RuntimeBackend`. Handlers block (model generation), so they run on a pool of
    `workers` threads; a streamed body is produced on its own thread and handed to the event loop
    frame by frame."""

    def __init__(self, backend: RuntimeBackend, workers: int = 64) -> None:
        self.backend = backend
        # Each route's handler, found on the AWS responses or the developer API (never both).
        owners = (RuntimeResponses(backend), DeveloperApi(backend))
        self._handlers: dict[str, Callable[[Request], Response | StreamResponse]] = {
            route.handler: next(getattr(o, route.handler) for o in owners if hasattr(o, route.handler))
            for route in ROUTES
        }
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bedrock-runtime")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        request = Request(
            method=scope["method"],
            path=raw_path,
            query=parse_qs(scope.get("query_string", b"").decode("latin-1")),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=bytes(body),
        )
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._pool, self._handle, request)
        except RuntimeError:  # pool shut down while stopping
            return
        if isinstance(result, StreamResponse):
            await self._send_stream(result, receive, send, loop)
        else:
            await self._send(result, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _handle(self, request: Request) -> Response | StreamResponse:
        try:
            found = match(request.method, request.path)
            if found is None:
                raise UnknownOperationException(f"Unknown operation {request.method} {request.path}")
            route, params = found
            request.params = params
            return self._handlers[route.handler](request)
        except BedrockError as exc:
            return error_response(exc)
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            return error_response(BedrockError("Internal server error."))

    @staticmethod
    def _headers(headers: dict[str, str], extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
        merged = {**headers, "x-amzn-requestid": request_id(), **(extra or {})}
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]

    async def _send(self, response: Response, send: Send) -> None:
        headers = self._headers(response.headers, {"content-length": str(len(response.body))})
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _send_stream(
        self, response: StreamResponse, receive: Receive, send: Send, loop: asyncio.AbstractEventLoop
    ) -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        # The client went away (the engine's own `cancel` is also set when a stream ends normally).
        gone = threading.Event()

        def pump() -> None:
            try:
                for frame in response.frames:
                    if gone.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, frame)
            except Exception:
                logger.exception("stream producer failed")
            finally:
                try:
                    close = getattr(response.frames, "close", None)
                    if close is not None:
                        close()
                    response.on_close()
                finally:
                    loop.call_soon_threadsafe(queue.put_nowait, _END)

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    response.cancel.set()
                    return

        watcher = asyncio.ensure_future(watch_disconnect())
        threading.Thread(target=pump, name="bedrock-runtime-stream", daemon=True).start()
        try:
            await send(
                {"type": "http.response.start", "status": 200, "headers": self._headers(response.headers)}
            )
            while True:
                frame = await queue.get()
                if frame is _END:
                    break
                if not gone.is_set():
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, asyncio.CancelledError):
            gone.set()
            response.cancel.set()
            raise
        finally:
            watcher.cancel()

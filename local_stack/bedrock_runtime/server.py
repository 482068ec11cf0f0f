"""Serving the runtime: the ASGI app on hypercorn, which speaks HTTP/1.0, HTTP/1.1 and HTTP/2
cleartext (h2c by prior knowledge and by `Upgrade: h2c`), so every AWS SDK's default client works
(the JavaScript SDK v3 uses HTTP/2 for bedrock-runtime).

Routes (one port; point both `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` and `AWS_ENDPOINT_URL_BEDROCK` at
it): see `routes.ROUTES` and the README.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any, TypedDict, Unpack

from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.events import RawData
from hypercorn.protocol.h2 import H2Protocol

from local_stack.bedrock_runtime.app import RuntimeApp
from local_stack.bedrock_runtime.backend import RuntimeBackend
from local_stack.bedrock_runtime.engine import Engine
from local_stack.bedrock_runtime.faults import FaultInjector

logger = logging.getLogger(__name__)

# How many model-call bodies a long-running server keeps (they hold whole histories and base64 images).
LONG_RUNNING_RECORDED_REQUESTS = 200


_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_GOAWAY = 0x7
_FRAME_HEADER = 9


def _let_streams_finish_after_client_goaway() -> None:
    """A client's GOAWAY with NO_ERROR means "no new streams", not "drop the open ones": RFC 9113
    section 6.8 lets streams already open complete. The AWS SDK for JavaScript v3 sends one right
    after the response headers of every event stream (its isolated session's `session.close()`),
    but the h2 library moves the whole connection to CLOSED on it (dropping unsent data) and hypercorn
    0.18 then ends every open stream, so ConverseStream arrived empty or cut short.

    So such a frame is held back from h2 while streams are open: the client opens no new streams
    after sending it and closes the socket once its streams end, which hypercorn handles as usual.
    Frames are split with the 9-byte frame header of RFC 9113 section 4.1; other frames pass as they
    arrive.
    """
    if getattr(H2Protocol, "_graceful_goaway", False):
        return
    original = H2Protocol.handle

    async def handle(self: H2Protocol, event: Any) -> None:
        if not isinstance(event, RawData):
            await original(self, event)
            return
        buffer = getattr(self, "_pending_frames", b"") + event.data
        passed = bytearray()
        if not getattr(self, "_saw_preface", False):
            if len(buffer) < len(_PREFACE) and _PREFACE.startswith(buffer):
                self._pending_frames = buffer  # type: ignore[attr-defined]
                return
            if buffer.startswith(_PREFACE):
                passed += _PREFACE
                buffer = buffer[len(_PREFACE) :]
            self._saw_preface = True  # type: ignore[attr-defined]
        while len(buffer) >= _FRAME_HEADER:
            size = _FRAME_HEADER + int.from_bytes(buffer[:3], "big")
            if len(buffer) < size:
                break
            frame, buffer = buffer[:size], buffer[size:]
            graceful_goaway = (
                frame[3] == _GOAWAY and size >= _FRAME_HEADER + 8 and frame[13:17] == b"\0\0\0\0"
            )
            if graceful_goaway and self.streams:
                continue
            passed += frame
        self._pending_frames = buffer  # type: ignore[attr-defined]
        if passed:
            await original(self, RawData(data=bytes(passed)))

    H2Protocol.handle = handle  # type: ignore[method-assign]
    H2Protocol._graceful_goaway = True  # type: ignore[attr-defined]


_let_streams_finish_after_client_goaway()


class RuntimeServer:
    """A bound (already listening) socket plus the app; `serve_forever` runs hypercorn on it until
    `shutdown`. `server_address` is (host, port) as bound, so port 0 reports the port picked."""

    def __init__(self, backend: RuntimeBackend, host: str, port: int) -> None:
        self.backend = backend
        self.app = RuntimeApp(backend)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(256)
        self.server_address: tuple[str, int] = sock.getsockname()[:2]
        self._fd: int | None = sock.detach()  # hypercorn takes ownership of the descriptor
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = threading.Event()
        self._shutdown_requested = threading.Event()

    def _config(self) -> Config:
        config = Config()
        config.bind = [f"fd://{self._fd}"]
        config.accesslog = None
        config.errorlog = logger
        config.keep_alive_timeout = 75  # longer than SDK idle pools keep connections
        config.graceful_timeout = 0.5
        config.h2_max_concurrent_streams = 128
        return config

    def serve_forever(self) -> None:
        """Serve on the calling thread until `shutdown()` (or Ctrl-C)."""
        if self._fd is None:
            raise RuntimeError("the server was closed")
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._shutdown_requested.is_set():
            self._stop.set()
        try:
            await serve(self.app, self._config(), shutdown_trigger=self._stop.wait, mode="asgi")  # type: ignore[arg-type]
        finally:
            self._fd = None
            self._stopped.set()

    def shutdown(self) -> None:
        self._shutdown_requested.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
            self._stopped.wait(5)

    def server_close(self) -> None:
        """Release the listening socket if `serve_forever` never took it, and the worker threads."""
        if self._fd is not None and self._loop is None:
            socket.socket(fileno=self._fd).close()
            self._fd = None
        self.app.close()


class RunningRuntime:
    """A runtime serving in a background thread; see `serve_in_thread`."""

    def __init__(self, server: RuntimeServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address
        self.host = str(host)
        self.port = int(port)
        self.endpoint_url = f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every model-call body received (plus `modelId`, `stream`), newest last."""
        return self._server.backend.requests

    @property
    def faults(self) -> FaultInjector:
        return self._server.backend.faults

    @property
    def engines(self) -> list[Engine]:
        return self._server.backend.registry.engines

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until every engine has loaded (True) or one failed / timed out (False)."""
        deadline = time.monotonic() + timeout
        return all(e.wait_ready(max(0.0, deadline - time.monotonic())) for e in self.engines)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
        for engine in self.engines:
            engine.close()

    def __enter__(self) -> RunningRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RuntimeOptions(TypedDict, total=False):
    """Keyword options of `create_server` and `serve_in_thread` (defaults in `create_server`)."""

    max_in_flight: int
    aliases: dict[str, str] | None
    region: str
    max_recorded_requests: int | None


def create_server(
    engines: Sequence[Engine], host: str = "127.0.0.1", port: int = 0, **options: Unpack[RuntimeOptions]
) -> RuntimeServer:
    """Bind the server (listening at once) and start loading every engine in the background.

    Every model-call body is recorded (`backend.requests`); `max_recorded_requests` keeps only the
    most recent ones, for long-running servers. Beyond `max_in_flight` concurrent model calls the
    runtime answers ThrottlingException.
    """
    if not engines:
        raise ValueError("At least one engine is required.")
    backend = RuntimeBackend(
        engines,
        options.get("aliases"),
        options.get("max_in_flight", 32),
        options.get("region", "us-east-1"),
        options.get("max_recorded_requests"),
    )
    server = RuntimeServer(backend, host, port)
    for engine in engines:
        engine.start()
    return server


def serve_in_thread(
    engines: Sequence[Engine], host: str = "127.0.0.1", port: int = 0, **options: Unpack[RuntimeOptions]
) -> RunningRuntime:
    """Start the runtime on a daemon thread and return at once; port 0 picks a free port. Options
    as `create_server`."""
    server = create_server(engines, host, port, **options)
    thread = threading.Thread(target=server.serve_forever, name="bedrock-runtime", daemon=True)
    thread.start()
    return RunningRuntime(server, thread)

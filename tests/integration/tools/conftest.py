"""A real MCP server (MCPServer, the SDK's FastMCP) over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer

from local_stack.moto_service import free_port

API_KEY = "key-123"


def demo_server() -> MCPServer:
    server = MCPServer("demo")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool(name="lookup.city-population")
    def population(city: str) -> str:
        """Population of a city (a fixed table)."""
        table = {"Oslo": "709,037", "Lyon": "522,250"}
        if city not in table:
            raise ValueError(f"no data for {city}")
        return f"{city}: {table[city]}"

    return server


class RequireKey:
    """ASGI middleware: 401 unless the X-Api-Key header carries the key (the lifespan passes)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (b"x-api-key", API_KEY.encode()) not in scope["headers"]:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await self.app(scope, receive, send)


@dataclass
class RunningMcp:
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_mcp(port: int | None = None, *, require_key: bool = False) -> RunningMcp:
    app: Any = demo_server().streamable_http_app()
    if require_key:
        app = RequireKey(app)
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"mcp-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the MCP test server did not start")
        time.sleep(0.02)
    return RunningMcp(port, server, thread)


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[RunningMcp]:
    running = start_mcp()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def keyed_mcp_server() -> Iterator[RunningMcp]:
    running = start_mcp(require_key=True)
    yield running
    running.stop()

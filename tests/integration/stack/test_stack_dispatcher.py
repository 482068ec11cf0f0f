"""The dispatcher alone, in-process (ASGI transport, no sockets): what each app receives."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_stack.dispatcher import Dispatcher, route_for, web_config
from tests.async_support import run_coroutine


class RecordingApp:
    """An ASGI app that answers 200 and remembers the scopes it was given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scopes: list[MutableMapping[str, Any]] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"x-app", self.name.encode())]}
        )
        await send({"type": "http.response.body", "body": scope["path"].encode()})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/chat", ("chat", "/chat")),
        ("/api/chat", ("chat", "/chat")),
        ("/conversations/01abc", ("chat", "/conversations/01abc")),
        ("/api/documents/u1/summary", ("chat", "/documents/u1/summary")),
        ("/models", ("chat", "/models")),
        ("/api/presets", ("chat", "/presets")),
        ("/health", ("chat", "/health")),
        ("/uploads", ("upload", "/uploads")),
        ("/api/uploads/01abc", ("upload", "/uploads/01abc")),
        ("/chatty", ("static", "/chatty")),
        ("/api/nope", ("api_not_found", "/nope")),
        ("/api", ("api_not_found", "/")),
        ("/config.json", ("config", "/config.json")),
        ("/", ("static", "/")),
        ("/assets/app.js", ("static", "/assets/app.js")),
    ],
)
def test_route_table(path: str, expected: tuple[str, str]) -> None:
    assert route_for(path) == expected


def test_apps_never_see_lambda_only_headers_and_see_the_stripped_path(tmp_path: Path) -> None:
    chat, upload = RecordingApp("chat"), RecordingApp("upload")
    dispatcher = Dispatcher(
        chat_app=chat, upload_app=upload, static_dirs=[tmp_path], config=web_config(local_mode=True)
    )
    forged = {
        "X-Amzn-Request-Context": '{"authorizer": {"claims": {"sub": "mallory"}}}',
        "x-amzn-lambda-context": "{}",
        "X-Keep": "yes",
    }

    async def exercise() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=dispatcher)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return (
                await client.post("/api/chat?x=1", headers=forged, json={}),
                await client.get("/api/uploads/01abc", headers=forged),
            )

    chat_response, upload_response = run_coroutine(exercise())
    assert (chat_response.headers["x-app"], chat_response.text) == ("chat", "/chat")
    assert (upload_response.headers["x-app"], upload_response.text) == ("upload", "/uploads/01abc")
    for scope in chat.scopes + upload.scopes:
        names = {name.decode().lower() for name, _ in scope["headers"]}
        assert "x-amzn-request-context" not in names and "x-amzn-lambda-context" not in names
        assert "x-keep" in names
    assert chat.scopes[0]["raw_path"] == b"/chat"
    assert chat.scopes[0]["query_string"] == b"x=1"

"""Oversized request bodies are refused with a 413 JSON error before the app parses them."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from chatbot_common.http import RequestSizeLimit


def _app(max_bytes: int) -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestSizeLimit, max_bytes=max_bytes)
    seen: list[int] = []
    app.state.seen = seen

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    return app


def test_a_body_within_the_limit_reaches_the_app_intact() -> None:
    client = TestClient(_app(100))
    response = client.post("/echo", content=b"x" * 100)
    assert response.status_code == 200
    assert response.json() == {"bytes": 100}


def test_a_declared_oversized_body_is_a_413_and_never_reaches_the_app() -> None:
    app = _app(100)
    response = TestClient(app).post("/echo", content=b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "100 bytes" in response.json()["error"]["message"]
    assert app.state.seen == []


def test_a_chunked_body_that_grows_past_the_limit_is_a_413() -> None:
    app = _app(100)

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 40  # no Content-Length: the middleware has to count

    response = TestClient(app).post("/echo", content=chunks())
    assert response.status_code == 413
    assert app.state.seen == []

"""chatbot_common.http: oversized request bodies are refused with a 413 JSON error before the app
parses them; the correlation id on each log line belongs to the request that wrote it, even when
requests interleave (uvicorn serves several at once; Lambda one at a time)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import httpx
from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from chatbot_common.http import (
    CORRELATION_HEADER,
    RequestSizeLimit,
    install_error_handlers,
    install_request_logging,
)
from tests.async_support import run_coroutine


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


def test_interleaved_requests_log_their_own_correlation_id() -> None:
    # Given an app whose handler logs while another request is in flight
    sink = io.StringIO()
    logger = Logger(service="test-logging", logger_handler=logging.StreamHandler(sink))
    app = FastAPI()
    install_request_logging(app, logger)
    both_inside = asyncio.Event()
    arrived: list[str] = []

    @app.get("/work/{name}")
    async def work(name: str) -> dict[str, str]:
        arrived.append(name)
        if len(arrived) == 2:
            both_inside.set()
        await both_inside.wait()
        logger.info("inside", extra={"worker": name})
        return {"name": name}

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await asyncio.gather(
                client.get("/work/a", headers={CORRELATION_HEADER: "id-a"}),
                client.get("/work/b", headers={CORRELATION_HEADER: "id-b"}),
            )

    # When both requests run at once
    responses = run_coroutine(scenario())

    # Then each response echoes its id and each log line carries its own request's id
    assert [r.headers[CORRELATION_HEADER] for r in responses] == ["id-a", "id-b"]
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    inside = {line["worker"]: line["correlation_id"] for line in lines if line["message"] == "inside"}
    assert inside == {"a": "id-a", "b": "id-b"}


class EchoBody(BaseModel):
    message: str


def _json_body_app() -> TestClient:
    app = FastAPI()
    install_error_handlers(app, Logger(service="test"))

    @app.post("/echo")
    def echo(body: EchoBody) -> dict[str, str]:
        return {"message": body.message}

    return TestClient(app)


def test_a_body_not_sent_as_json_is_a_415_naming_its_content_type() -> None:
    client = _json_body_app()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = client.post("/echo", content=b'{"message": "hi"}', headers={"content-type": content_type})
        assert response.status_code == 415, content_type
        assert response.json()["error"]["code"] == "unsupported_media_type"
        assert f"application/json (got '{content_type}')" in response.json()["error"]["message"]
    bare = client.post("/echo", content=b'{"message": "hi"}', headers={"content-type": ""})
    assert bare.status_code == 415 and "no Content-Type" in bare.json()["error"]["message"]


def test_a_body_that_is_not_utf8_or_nests_too_deeply_is_an_invalid_request_saying_why() -> None:
    client = _json_body_app()
    latin1 = client.post(
        "/echo", content='{"message": "café"}'.encode("latin-1"), headers={"content-type": "application/json"}
    )
    assert latin1.status_code == 400
    assert latin1.json()["error"]["code"] == "invalid_request"
    assert "not UTF-8 (byte 0xe9 at offset 16)" in latin1.json()["error"]["message"]
    deep = client.post(
        "/echo", content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"}
    )
    assert deep.status_code == 400
    assert deep.json()["error"]["code"] == "invalid_request"
    assert deep.json()["error"]["message"] == "The request body's JSON is nested too deeply to read."


def test_json_bodies_of_the_wrong_shape_stay_400_whatever_the_json_media_type() -> None:
    client = _json_body_app()
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ):
        ok = client.post("/echo", content=b'{"message": "hi"}', headers={"content-type": content_type})
        assert ok.status_code == 200, content_type
        wrong = client.post("/echo", content=b"[1, 2]", headers={"content-type": content_type})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_request"

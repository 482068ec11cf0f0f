"""The correlation id on each log line belongs to the request that wrote it, even when
requests interleave (uvicorn serves several at once; Lambda one at a time)."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import httpx
from aws_lambda_powertools import Logger
from fastapi import FastAPI

from chatbot_common.http import CORRELATION_HEADER, install_request_logging
from tests.async_support import run_coroutine


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

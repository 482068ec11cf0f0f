"""The chat app on the local stack: moto (DynamoDB) in server mode, the local Bedrock runtime with
scripted models, and the real app served by uvicorn, all on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from moto.server import ThreadedMotoServer

from chatbot_common.keys import new_id
from chatbot_common.resources import table_definition
from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from lambda_chat.domain.retry import RetryPolicy
from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine, serve_in_thread

SCRIPTED = "local.scripted"
SLOW = "local.slow"
SLOW_REPLY_WORDS = 150
# Slow per token like the embedded model on a busy laptop: what a stop waits for before it is stored.
PLODDING = "local.plodding"
TABLE = "chat-integration"


class CountingEngine(ScriptedEngine):
    """A slow scripted model that counts the tokens it actually generated (to see it stop)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generated = 0

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for event in super().generate(*args, **kwargs):
            self.generated += 1
            yield event


@dataclass
class ChatStack:
    base_url: str
    runtime: RunningRuntime
    slow_engine: CountingEngine
    dynamodb: Any
    table: str
    settings: Settings

    def requests_for(self, text: str) -> list[dict[str, Any]]:
        """Model requests whose last user message contains `text` (the runtime is shared)."""
        found = []
        for request in self.runtime.requests:
            last = request["messages"][-1]["content"]
            if any(text in block.get("text", "") for block in last):
                found.append(request)
        return found

    def item_count(self) -> int:
        return int(self.dynamodb.scan(TableName=self.table, Select="COUNT")["Count"])


def serve(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="chat-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="session")
def moto_endpoint(dummy_aws_env: None) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def chat_runtime(dummy_aws_env: None) -> Iterator[tuple[RunningRuntime, CountingEngine]]:
    slow = CountingEngine(
        model_id=SLOW,
        reply=" ".join(f"w{i}" for i in range(SLOW_REPLY_WORDS)),
        token_delay=0.02,
    )
    plodding = ScriptedEngine(model_id=PLODDING, reply=" ".join(f"p{i}" for i in range(30)), token_delay=0.4)
    runtime = serve_in_thread([ScriptedEngine(model_id=SCRIPTED), slow, plodding], host="127.0.0.1", port=0)
    yield runtime, slow
    runtime.stop()


def chat_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "table_name": TABLE,
        "uploads_bucket": "chat-integration-uploads",
        "region": "us-east-1",
        "local_mode": False,
        "default_model_id": SCRIPTED,
        "history_token_budget": 400,
        "max_message_chars": 2_000,
        "max_system_chars": 500,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def stack_env(moto_endpoint: str, chat_runtime: tuple[RunningRuntime, CountingEngine]) -> Iterator[None]:
    runtime, _ = chat_runtime
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint)
        mp.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
        mp.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", runtime.endpoint_url)
        mp.setenv("AWS_ENDPOINT_URL_BEDROCK", runtime.endpoint_url)
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(TABLE))
        yield


@pytest.fixture(scope="session")
def chat_stack(stack_env: None, chat_runtime: tuple[RunningRuntime, CountingEngine]) -> Iterator[ChatStack]:
    runtime, slow = chat_runtime
    settings = chat_settings()
    app = create_app(settings, retry_policy=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
    base_url, server, thread = serve(app)
    yield ChatStack(
        base_url=base_url,
        runtime=runtime,
        slow_engine=slow,
        dynamodb=boto3.client("dynamodb", region_name="us-east-1"),
        table=TABLE,
        settings=settings,
    )
    server.should_exit = True
    thread.join(timeout=10)


def identity_headers(sub: str) -> dict[str, str]:
    context = {
        "requestId": f"req-{new_id()}",
        "authorizer": {"claims": {"sub": sub, "cognito:username": sub}},
    }
    return {"x-amzn-request-context": json.dumps(context)}


@pytest.fixture
def user() -> str:
    return f"user-{new_id()}"


@pytest.fixture
def api(chat_stack: ChatStack, user: str) -> Iterator[httpx.Client]:
    """An HTTP client for the running app, authenticated as a fresh user for this test."""
    with httpx.Client(base_url=chat_stack.base_url, headers=identity_headers(user), timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def _clear_faults(chat_runtime: tuple[RunningRuntime, CountingEngine]) -> Iterator[None]:
    yield
    chat_runtime[0].faults.clear()


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """Parse an SSE response incrementally into (event, data) pairs."""
    name, data = "", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and name:
            yield name, json.loads(data)
            name, data = "", ""

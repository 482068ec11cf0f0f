"""Helpers for the local Bedrock runtime contract tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local_stack.bedrock_runtime import Engine, RunningRuntime, serve_in_thread

ClientFactory = Callable[..., Any]


@pytest.fixture(autouse=True)
def _no_leftover_faults(scripted_runtime: RunningRuntime) -> Iterator[None]:
    scripted_runtime.faults.clear()
    yield
    scripted_runtime.faults.clear()


def make_client(runtime: RunningRuntime, service: str = "bedrock-runtime", **config: Any) -> Any:
    """A real boto3 client pointed at the runtime. `retries=0` disables botocore's own retries."""
    retries = config.pop("retries", None)
    if retries is not None:
        config["retries"] = {"total_max_attempts": retries + 1, "mode": "standard"}
    return boto3.client(
        service,
        endpoint_url=runtime.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config),
    )


@pytest.fixture
def client(scripted_runtime: RunningRuntime) -> Any:
    return make_client(scripted_runtime)


@pytest.fixture
def private_runtime(dummy_aws_env: None) -> Iterator[Callable[..., RunningRuntime]]:
    """Start a runtime of one's own (custom engine, limits); stopped after the test."""
    started: list[RunningRuntime] = []

    def start(*engines: Engine, **kwargs: Any) -> RunningRuntime:
        runtime = serve_in_thread(list(engines), host="127.0.0.1", port=0, **kwargs)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.stop()


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"text": text}]}


def stream_events(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(event type, body) pairs from a converse_stream response, in arrival order."""
    out = []
    for event in response["stream"]:
        ((name, body),) = event.items()
        out.append((name, body))
    return out


def streamed_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(body["delta"].get("text", "") for name, body in events if name == "contentBlockDelta")

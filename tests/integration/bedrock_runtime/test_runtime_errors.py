"""Errors travel as Bedrock sends them, so botocore raises the same exception classes."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import EventStreamError

from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine

from .conftest import make_client, stream_events, streamed_text, user

MODEL = "local.scripted"


@pytest.fixture
def unchecked_client(scripted_runtime: RunningRuntime) -> Any:
    """No client-side parameter validation and no retries: the server's answer surfaces as is."""
    return make_client(scripted_runtime, parameter_validation=False, retries=0)


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "at least one message"),
        ([{"role": "assistant", "content": [{"text": "hi"}]}], "must start with a user message"),
        ([user("a"), user("b")], "must alternate between user and assistant"),
        ([{"role": "user", "content": []}], "must not be empty"),
    ],
)
def test_malformed_conversation_is_a_validation_exception(
    unchecked_client: Any, messages: list[Any], fragment: str
) -> None:
    with pytest.raises(unchecked_client.exceptions.ValidationException) as caught:
        unchecked_client.converse(modelId=MODEL, messages=messages)
    assert fragment in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_model_is_a_validation_exception(unchecked_client: Any) -> None:
    with pytest.raises(unchecked_client.exceptions.ValidationException, match="model identifier is invalid"):
        unchecked_client.converse(modelId="anthropic.claude-v9", messages=[user("x")])
    with pytest.raises(unchecked_client.exceptions.ValidationException):
        unchecked_client.converse_stream(modelId="anthropic.claude-v9", messages=[user("x")])


def test_tool_blocks_without_tool_config_are_rejected(unchecked_client: Any) -> None:
    messages = [
        user("weather?"),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "w", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}}]},
    ]
    with pytest.raises(unchecked_client.exceptions.ValidationException, match="toolConfig"):
        unchecked_client.converse(modelId=MODEL, messages=messages)


def test_prompt_longer_than_context_is_a_validation_exception(private_runtime: Any) -> None:
    runtime = private_runtime(ScriptedEngine(context_tokens=5))
    client = make_client(runtime, retries=0)
    long_text = "word " * 50
    with pytest.raises(client.exceptions.ValidationException, match="Input is too long"):
        client.converse(modelId=MODEL, messages=[user(long_text)])
    # A stream is refused before it opens, with the same HTTP error.
    with pytest.raises(client.exceptions.ValidationException, match="Input is too long"):
        client.converse_stream(modelId=MODEL, messages=[user(long_text)])


def test_error_wire_format_matches_bedrock(scripted_runtime: RunningRuntime) -> None:
    request = urllib.request.Request(
        scripted_runtime.endpoint_url + "/model/local.scripted/converse",
        data=json.dumps({"messages": []}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-errortype"].split(":")[0] == "ValidationException"
    assert set(json.loads(caught.value.read())) == {"message"}


def test_injected_throttle_raises_then_botocore_retry_recovers(scripted_runtime: RunningRuntime) -> None:
    # Given one injected throttle; When a client without retries calls, Then ThrottlingException
    no_retry = make_client(scripted_runtime, retries=0)
    scripted_runtime.faults.throttle(1)
    with pytest.raises(no_retry.exceptions.ThrottlingException) as caught:
        no_retry.converse(modelId=MODEL, messages=[user("x")])
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    # Given two more; When botocore retries (3 attempts), Then the third attempt succeeds
    scripted_runtime.faults.throttle(2)
    retrying = make_client(scripted_runtime, retries=2)
    before = len(scripted_runtime.requests)
    response = retrying.converse(modelId=MODEL, messages=[user("x")])
    assert response["output"]["message"]["content"][0]["text"] == "echo: x"
    assert len(scripted_runtime.requests) - before == 3


def test_faults_endpoint_injects_throttling(scripted_runtime: RunningRuntime) -> None:
    request = urllib.request.Request(
        scripted_runtime.endpoint_url + "/_local/faults", data=b'{"throttle": 2}', method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read())["throttle"] == 2
    client = make_client(scripted_runtime, retries=0)
    for _ in range(2):
        with pytest.raises(client.exceptions.ThrottlingException):
            client.converse_stream(modelId=MODEL, messages=[user("x")])
    assert stream_events(client.converse_stream(modelId=MODEL, messages=[user("x")]))[-1][0] == "metadata"


def test_mid_stream_model_error_after_n_tokens(scripted_runtime: RunningRuntime) -> None:
    # Given a fault: the next stream fails after 3 tokens
    client = make_client(scripted_runtime, retries=0)
    scripted_runtime.faults.stream_error_after(3, times=1)

    # When the stream is read, Then 3 deltas arrive and then ModelStreamErrorException is raised
    received: list[str] = []
    with pytest.raises(EventStreamError) as caught:
        for event in client.converse_stream(modelId=MODEL, messages=[user("a b c d e f")])["stream"]:
            received.append(next(iter(event)))
    assert received == ["messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta"]
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"

    # And the fault was used up: the next stream is whole
    events = stream_events(client.converse_stream(modelId=MODEL, messages=[user("a b")]))
    assert streamed_text(events) == "echo: a b"


def test_faults_endpoint_injects_stream_error(scripted_runtime: RunningRuntime) -> None:
    body = json.dumps({"streamErrorAfterTokens": 1, "times": 2}).encode()
    urllib.request.urlopen(
        urllib.request.Request(scripted_runtime.endpoint_url + "/_local/faults", data=body, method="POST"),
        timeout=5,
    ).close()
    client = make_client(scripted_runtime, retries=0)
    for _ in range(2):
        with pytest.raises(EventStreamError, match="modelStreamErrorException"):
            stream_events(client.converse_stream(modelId=MODEL, messages=[user("a b c")]))


def test_throttling_event_as_first_stream_event(scripted_runtime: RunningRuntime) -> None:
    # Given a stream that opens with HTTP 200 and then sends a throttlingException event
    client = make_client(scripted_runtime, retries=0)
    scripted_runtime.faults.throttle_in_stream(1)
    response = client.converse_stream(modelId=MODEL, messages=[user("x")])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200

    # Then iterating raises before any event; a retried call streams normally
    with pytest.raises(EventStreamError) as caught:
        next(iter(response["stream"]))
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert (
        streamed_text(stream_events(client.converse_stream(modelId=MODEL, messages=[user("x")]))) == "echo: x"
    )


def test_requests_beyond_max_in_flight_are_throttled(private_runtime: Any) -> None:
    # Given a runtime accepting one request at a time and a slow model
    runtime = private_runtime(ScriptedEngine(token_delay=0.05), max_in_flight=1)
    client = make_client(runtime, retries=0)
    first_started = threading.Event()
    results: list[str] = []

    def slow_call() -> None:
        response = client.converse_stream(modelId=MODEL, messages=[user("a b c d e f g h")])
        events = response["stream"]
        first_started.set()
        results.append(streamed_text([(k, v) for e in events for k, v in e.items()]))

    worker = threading.Thread(target=slow_call)
    worker.start()
    assert first_started.wait(5)

    # When a second request arrives meanwhile, Then it is throttled; the first completes whole
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse(modelId=MODEL, messages=[user("x")])
    worker.join(10)
    assert results == ["echo: a b c d e f g h"]


def test_client_disconnect_stops_generation(private_runtime: Any) -> None:
    # Given a slow 200-token reply and room for only one request in flight
    def reply(request: dict[str, Any]) -> str:
        return "tok " * 200 if request["prompt"].last_user_text == "long" else "short"

    runtime = private_runtime(ScriptedEngine(reply=reply, token_delay=0.02), max_in_flight=1)
    client = make_client(runtime, retries=0)
    response = client.converse_stream(modelId=MODEL, messages=[user("long")])
    stream = iter(response["stream"])
    next(stream), next(stream)

    # When the client drops the connection after two events
    response["stream"]._raw_stream.close()
    started = time.monotonic()

    # Then the server notices and frees the slot long before the 4 s reply would have ended
    while True:
        try:
            client.converse(modelId=MODEL, messages=[user("x")])
            assert time.monotonic() - started < 2.0
            break
        except client.exceptions.ThrottlingException:
            assert time.monotonic() - started < 2.0, "generation went on after the client left"
            time.sleep(0.05)

"""langchain-aws ChatBedrockConverse, the control plane, endpoint variables, health, concurrency."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import boto3
import pytest
from langchain_aws import ChatBedrockConverse
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool

from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine, ScriptedToolCall

from .conftest import make_client, stream_events, streamed_text, user

MODEL = "local.scripted"


def _chat(runtime: RunningRuntime, **kwargs: Any) -> ChatBedrockConverse:
    return ChatBedrockConverse(  # type: ignore[call-arg]  # endpoint_url is a pydantic alias
        model=MODEL,
        endpoint_url=runtime.endpoint_url,
        region_name="us-east-1",
        provider="local",
        disable_streaming=False,
        **kwargs,
    )


def test_chat_bedrock_converse_invoke(scripted_runtime: RunningRuntime) -> None:
    answer = _chat(scripted_runtime).invoke([SystemMessage("Be brief."), HumanMessage("hi there")])
    assert answer.content == "echo: hi there"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == 4  # "Be brief." + "hi there"
    assert answer.usage_metadata["output_tokens"] == 3
    assert scripted_runtime.requests[-1]["system"] == [{"text": "Be brief."}]


def test_chat_bedrock_converse_stream_really_streams(private_runtime: Any) -> None:
    # Given a model emitting one word every 100 ms
    runtime = private_runtime(ScriptedEngine(reply="one two three four five six", token_delay=0.1))
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []

    # When the reply is streamed through langchain-aws
    for chunk in _chat(runtime).stream([HumanMessage("count")]):
        if isinstance(chunk.content, str) and chunk.content:
            arrivals.append((time.monotonic() - started, chunk.content))
        elif isinstance(chunk.content, list):
            text = "".join(part.get("text", "") for part in chunk.content if isinstance(part, dict))
            if text:
                arrivals.append((time.monotonic() - started, text))
    total = time.monotonic() - started

    # Then the words arrive as separate chunks, the first well before generation ends
    assert "".join(text for _, text in arrivals) == "one two three four five six"
    assert len(arrivals) == 6
    assert arrivals[0][0] < total - 0.3
    assert runtime.requests[-1]["stream"] is True


def test_chat_bedrock_converse_tool_calls(private_runtime: Any) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return "sunny"

    runtime = private_runtime(
        ScriptedEngine(reply=lambda _: ScriptedToolCall("get_weather", {"city": "Rome"}))
    )
    model = _chat(runtime).bind_tools([get_weather])

    answer = model.invoke([HumanMessage("Weather in Rome?")])
    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [("get_weather", {"city": "Rome"})]
    streamed: Any = None
    for chunk in model.stream([HumanMessage("Weather in Rome?")]):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [("get_weather", {"city": "Rome"})]
    tool_config = runtime.requests[-1]["toolConfig"]
    assert tool_config["tools"][0]["toolSpec"]["name"] == "get_weather"


def test_endpoint_environment_variables_are_honoured(bedrock_endpoint_env: RunningRuntime) -> None:
    # Given only AWS_ENDPOINT_URL_BEDROCK_RUNTIME / _BEDROCK in the environment
    runtime_client = boto3.client("bedrock-runtime", region_name="us-east-1")
    control_client = boto3.client("bedrock", region_name="us-east-1")

    # Then unmodified clients reach the local runtime
    response = runtime_client.converse(modelId=MODEL, messages=[user("via env")])
    assert response["output"]["message"]["content"][0]["text"] == "echo: via env"
    model_ids = [m["modelId"] for m in control_client.list_foundation_models()["modelSummaries"]]
    assert model_ids == [MODEL]
    chat = ChatBedrockConverse(
        model=MODEL, region_name="us-east-1", provider="local", disable_streaming=False
    )
    assert chat.invoke("env chat").content == "echo: env chat"


def test_list_and_get_foundation_models(scripted_runtime: RunningRuntime) -> None:
    bedrock = make_client(scripted_runtime, service="bedrock")
    (summary,) = bedrock.list_foundation_models()["modelSummaries"]
    assert summary["modelId"] == MODEL
    assert summary["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"
    assert summary["providerName"] == "Local"
    assert summary["inputModalities"] == ["TEXT", "IMAGE"]
    assert summary["outputModalities"] == ["TEXT"]
    assert summary["responseStreamingSupported"] is True
    assert summary["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert bedrock.list_foundation_models(byOutputModality="TEXT")["modelSummaries"] == [summary]
    assert bedrock.list_foundation_models(byProvider="Anthropic")["modelSummaries"] == []
    assert bedrock.get_foundation_model(modelIdentifier=MODEL)["modelDetails"] == summary
    with pytest.raises(bedrock.exceptions.ResourceNotFoundException):
        bedrock.get_foundation_model(modelIdentifier="anthropic.claude-v9")
    assert bedrock.list_inference_profiles()["inferenceProfileSummaries"] == []


def test_health_reports_ready_models(scripted_runtime: RunningRuntime) -> None:
    with urllib.request.urlopen(scripted_runtime.endpoint_url + "/health", timeout=5) as answer:
        health = json.loads(answer.read())
    assert health == {"status": "ready", "models": [{"modelId": MODEL, "status": "ready"}]}


def test_concurrent_streams_are_all_served(private_runtime: Any) -> None:
    # Given a slow model and eight clients at once
    runtime = private_runtime(ScriptedEngine(token_delay=0.1), max_in_flight=8)
    client = make_client(runtime, retries=0, max_pool_connections=8)
    results: dict[int, str] = {}

    def call(i: int) -> None:
        results[i] = streamed_text(
            stream_events(client.converse_stream(modelId=MODEL, messages=[user(f"request {i} a b c")]))
        )

    started = time.monotonic()
    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    # Then every one completes with its own answer, concurrently rather than one after another
    assert results == {i: f"echo: request {i} a b c" for i in range(8)}
    assert time.monotonic() - started < 8 * 6 * 0.1 / 2

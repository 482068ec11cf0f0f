"""The real embedded model (SmolLM2-135M-Instruct via xllamacpp) behind the same wire protocol."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from langchain_aws import ChatBedrockConverse
from langchain_core.messages import HumanMessage, SystemMessage

from local_stack.bedrock_runtime import DEFAULT_MODEL_ID, RunningRuntime

from .conftest import make_client, stream_events, streamed_text, user

pytestmark = pytest.mark.model

SYSTEM = "You are a helpful assistant."


def test_streamed_answer_names_paris(embedded_runtime: RunningRuntime) -> None:
    # Given the embedded model; When asked the capital of France through langchain-aws streaming
    chat = ChatBedrockConverse(  # type: ignore[call-arg]  # endpoint_url is a pydantic alias
        model=DEFAULT_MODEL_ID,
        endpoint_url=embedded_runtime.endpoint_url,
        region_name="us-east-1",
        provider="local",
        disable_streaming=False,
        temperature=0,
        max_tokens=40,
    )
    chunks = [c for c in chat.stream([SystemMessage(SYSTEM), HumanMessage("What is the capital of France?")])]

    # Then the streamed answer, in several chunks, contains "Paris"
    texts = [_text(c.content) for c in chunks]
    assert "Paris" in "".join(texts)
    assert sum(1 for t in texts if t) > 2


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def test_usage_is_counted_by_the_model_tokenizer(embedded_runtime: RunningRuntime) -> None:
    client = make_client(embedded_runtime)
    events = stream_events(
        client.converse_stream(
            modelId=DEFAULT_MODEL_ID,
            system=[{"text": SYSTEM}],
            messages=[user("What is the capital of France?")],
            inferenceConfig={"temperature": 0, "maxTokens": 5},
        )
    )
    deltas = [body for name, body in events if name == "contentBlockDelta"]
    usage = events[-1][1]["usage"]
    assert ("messageStop", {"stopReason": "max_tokens"}) in events
    assert usage["outputTokens"] == 5 == len(deltas)
    # The chat template adds role markers: more tokens than words, and not a word count.
    assert usage["inputTokens"] > len((SYSTEM + " What is the capital of France?").split())
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert streamed_text(events)


def test_forced_tool_choice_yields_a_valid_tool_call(embedded_runtime: RunningRuntime) -> None:
    tool_config: dict[str, Any] = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        }
                    },
                }
            }
        ],
        "toolChoice": {"tool": {"name": "get_weather"}},
    }
    response = make_client(embedded_runtime).converse(
        modelId=DEFAULT_MODEL_ID,
        messages=[user("What is the weather in Paris?")],
        toolConfig=tool_config,
        inferenceConfig={"temperature": 0},
    )
    (block,) = response["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "get_weather"
    assert isinstance(block["toolUse"]["input"].get("city"), str)
    assert response["stopReason"] == "tool_use"


def test_prompt_longer_than_context_is_refused(embedded_runtime: RunningRuntime) -> None:
    client = make_client(embedded_runtime, retries=0)
    with pytest.raises(client.exceptions.ValidationException, match="Input is too long"):
        client.converse(modelId=DEFAULT_MODEL_ID, messages=[user("word " * 6000)])


def test_more_requests_than_slots_are_all_served(embedded_runtime: RunningRuntime) -> None:
    # Given two llama.cpp slots and four simultaneous streams
    client = make_client(embedded_runtime, max_pool_connections=4)
    results: dict[int, list[tuple[str, dict[str, Any]]]] = {}

    def call(i: int) -> None:
        results[i] = stream_events(
            client.converse_stream(
                modelId=DEFAULT_MODEL_ID,
                messages=[user(f"Say a word about the number {i}.")],
                inferenceConfig={"temperature": 0, "maxTokens": 12},
            )
        )

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Then none is dropped: each ends with messageStop and usage
    assert sorted(results) == [0, 1, 2, 3]
    for events in results.values():
        assert [name for name, _ in events][-2:] == ["messageStop", "metadata"]
        assert events[-1][1]["usage"]["outputTokens"] > 0

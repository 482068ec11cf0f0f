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


def test_structured_output_follows_the_schema(embedded_runtime: RunningRuntime) -> None:
    # Given a JSON schema in outputConfig; When the small model answers
    import json

    import jsonschema

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    output_config = {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "city"}},
        }
    }
    response = make_client(embedded_runtime).converse(
        modelId=DEFAULT_MODEL_ID,
        messages=[user("Name a large city and its population.")],
        inferenceConfig={"maxTokens": 80, "temperature": 0},
        outputConfig=output_config,
    )
    # Then llama.cpp's grammar made its output parse against the schema
    jsonschema.validate(json.loads(response["output"]["message"]["content"][0]["text"]), schema)


def test_prompt_reuse_is_reported_as_cache_read(embedded_runtime: RunningRuntime) -> None:
    # Given a long system prompt behind a cachePoint, sent twice with different questions
    client = make_client(embedded_runtime)
    system = [
        {"text": "You answer questions about the garden centre's plants. " * 25},
        {"cachePoint": {"type": "default"}},
    ]

    def usage(question: str) -> dict[str, int]:
        response = client.converse(
            modelId=DEFAULT_MODEL_ID,
            system=system,
            messages=[user(question)],
            inferenceConfig={"maxTokens": 4},
        )
        return dict(response["usage"])

    first, second = usage("Which roses flower twice?"), usage("Do you sell compost?")

    # Then the second reads most of the prompt from llama.cpp's cache, and the counts add up
    assert second["cacheReadInputTokens"] > 0.8 * (second["totalTokens"] - second["outputTokens"])
    assert second["cacheReadInputTokens"] > first["cacheReadInputTokens"]
    for u in (first, second):
        cached = u["cacheReadInputTokens"] + u["cacheWriteInputTokens"]
        assert u["inputTokens"] + cached + u["outputTokens"] == u["totalTokens"]


def test_a_checkpoint_ending_the_last_message_leaves_the_generation_prompt_as_input(
    embedded_runtime: RunningRuntime,
) -> None:
    # Given a question that has never been sent, with a cachePoint after its text (as the chat app
    # places one after the newest user message)
    client = make_client(embedded_runtime)
    content = [{"text": "Name a tree that keeps its leaves."}, {"cachePoint": {"type": "default"}}]
    message = {"role": "user", "content": content}
    # When it is answered
    usage = client.converse(modelId=DEFAULT_MODEL_ID, messages=[message], inferenceConfig={"maxTokens": 4})[
        "usage"
    ]
    # Then the prefix is written to the cache and what follows the checkpoint, the chat template's
    # generation prompt, is billed as input (Bedrock's inputTokens: the tokens after the last
    # checkpoint), never 0
    generation_prompt = embedded_runtime.engines[0].generation_prompt_tokens
    assert generation_prompt > 0
    assert usage["cacheWriteInputTokens"] > 0
    assert usage["inputTokens"] == generation_prompt
    # (the chat template's own opening may be read back from an earlier request's prompt)
    cached = usage["cacheReadInputTokens"] + usage["cacheWriteInputTokens"]
    assert usage["inputTokens"] + cached + usage["outputTokens"] == usage["totalTokens"]


def test_count_tokens_matches_billed_input(embedded_runtime: RunningRuntime) -> None:
    client = make_client(embedded_runtime)
    messages = [user("How many tokens is this sentence?")]
    counted = client.count_tokens(modelId=DEFAULT_MODEL_ID, input={"converse": {"messages": messages}})[
        "inputTokens"
    ]
    billed = client.converse(modelId=DEFAULT_MODEL_ID, messages=messages, inferenceConfig={"maxTokens": 2})
    assert counted == billed["usage"]["inputTokens"] > 5


def test_embedded_model_lists_text_input_only(embedded_runtime: RunningRuntime) -> None:
    summary = make_client(embedded_runtime, "bedrock").get_foundation_model(modelIdentifier=DEFAULT_MODEL_ID)
    assert summary["modelDetails"]["inputModalities"] == ["TEXT"]

"""The scripted model's documented behaviour: `#call` cues, toolChoice, `result:` answers, structured
output, prompt caching usage, every in-stream fault, and honest model capabilities."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import EventStreamError
from langchain_aws import ChatBedrockConverse
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool

from local_stack.bedrock_runtime import EmbeddedEngine, RunningRuntime, ScriptedEngine

from .conftest import make_client, stream_events, streamed_text, user

MODEL = "local.scripted"
CLOCK = {
    "toolSpec": {
        "name": "clock",
        "description": "Tells the time.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"timezone": {"type": "string"}},
                "required": ["timezone"],
            }
        },
    }
}
ADD = {
    "toolSpec": {
        "name": "add",
        "description": "Adds.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            }
        },
    }
}


def test_call_cue_makes_tool_use(client: Any) -> None:
    response = client.converse(
        modelId=MODEL,
        toolConfig={"tools": [CLOCK, ADD]},
        messages=[
            user('What time is it, and 2+3?\n#call clock {"timezone": "UTC"}\n#call add {"a": 2, "b": 3}')
        ],
    )
    assert response["stopReason"] == "tool_use"
    uses = [b["toolUse"] for b in response["output"]["message"]["content"]]
    assert [(u["name"], u["input"]) for u in uses] == [
        ("clock", {"timezone": "UTC"}),
        ("add", {"a": 2, "b": 3}),
    ]


def test_call_cue_streamed(client: Any) -> None:
    events = stream_events(
        client.converse_stream(
            modelId=MODEL, toolConfig={"tools": [CLOCK]}, messages=[user('#call clock {"timezone": "CET"}')]
        )
    )
    starts = [body["start"]["toolUse"]["name"] for name, body in events if name == "contentBlockStart"]
    deltas = [
        json.loads(body["delta"]["toolUse"]["input"])
        for name, body in events
        if name == "contentBlockDelta" and "toolUse" in body["delta"]
    ]
    assert starts == ["clock"] and deltas == [{"timezone": "CET"}]
    assert ("messageStop", {"stopReason": "tool_use"}) in events


def test_call_cue_for_a_tool_not_offered_is_plain_text(client: Any) -> None:
    response = client.converse(modelId=MODEL, toolConfig={"tools": [ADD]}, messages=[user("#call clock {}")])
    assert response["stopReason"] == "end_turn"


def test_tool_result_answer(client: Any) -> None:
    messages = [
        user("What time is it?"),
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "t1", "name": "clock", "input": {"timezone": "UTC"}}},
                {"toolUse": {"toolUseId": "t2", "name": "add", "input": {"a": 1, "b": 2}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "12:00"}]}},
                {"toolResult": {"toolUseId": "t2", "content": [{"json": {"sum": 3}}]}},
            ],
        },
    ]
    response = client.converse(modelId=MODEL, toolConfig={"tools": [CLOCK, ADD]}, messages=messages)
    assert response["output"]["message"]["content"][0]["text"] == 'result: 12:00\nresult: {"sum": 3}'


@pytest.mark.parametrize(("choice", "name"), [({"any": {}}, "clock"), ({"tool": {"name": "add"}}, "add")])
def test_tool_choice_forces_a_schema_valid_call(client: Any, choice: dict[str, Any], name: str) -> None:
    response = client.converse(
        modelId=MODEL, toolConfig={"tools": [CLOCK, ADD], "toolChoice": choice}, messages=[user("hello")]
    )
    assert response["stopReason"] == "tool_use"
    use = response["output"]["message"]["content"][0]["toolUse"]
    assert use["name"] == name
    spec = {"clock": CLOCK, "add": ADD}[name]
    jsonschema.validate(use["input"], spec["toolSpec"]["inputSchema"]["json"])


def test_langchain_tool_round_trip(scripted_runtime: RunningRuntime) -> None:
    @tool
    def clock(timezone: str) -> str:
        """Tells the time in a timezone."""
        return f"12:00 {timezone}"

    chat = ChatBedrockConverse(  # type: ignore[call-arg]
        model=MODEL,
        endpoint_url=scripted_runtime.endpoint_url,
        region_name="us-east-1",
        provider="local",
        disable_streaming=False,
    ).bind_tools([clock])
    question = HumanMessage('What time is it?\n#call clock {"timezone": "UTC"}')
    first = chat.invoke([question])
    assert first.tool_calls and first.tool_calls[0]["name"] == "clock"
    assert first.tool_calls[0]["args"] == {"timezone": "UTC"}
    result = clock.invoke(first.tool_calls[0]["args"])
    final = chat.invoke([question, first, ToolMessage(result, tool_call_id=first.tool_calls[0]["id"])])
    assert final.content == "result: 12:00 UTC"


def test_structured_output_is_schema_valid(client: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 3},
            "population": {"type": "integer", "minimum": 1},
            "tags": {"type": "array", "items": {"enum": ["big", "small"]}, "minItems": 2},
            "mayor": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/person"}]},
        },
        "required": ["city", "population", "tags", "mayor"],
        "$defs": {"person": {"type": "object"}},
    }
    output_config = {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "city"}},
        }
    }
    response = client.converse(modelId=MODEL, messages=[user("Paris")], outputConfig=output_config)
    jsonschema.validate(json.loads(response["output"]["message"]["content"][0]["text"]), schema)
    events = stream_events(
        client.converse_stream(modelId=MODEL, messages=[user("Paris")], outputConfig=output_config)
    )
    jsonschema.validate(json.loads(streamed_text(events)), schema)


def test_structured_output_schema_must_be_json(client: Any) -> None:
    output_config = {
        "textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{not json"}}}
    }
    with pytest.raises(client.exceptions.ValidationException, match="JSON schema"):
        client.converse(modelId=MODEL, messages=[user("x")], outputConfig=output_config)


def test_cache_point_usage(private_runtime: Any) -> None:
    # Given a fresh runtime, and a request with a cachePoint after a long system prompt
    client = make_client(private_runtime(ScriptedEngine()))
    system = [
        {"text": "You answer questions about the product catalogue. " * 20},
        {"cachePoint": {"type": "default"}},
    ]

    # When it is sent twice with different questions
    first = client.converse(modelId=MODEL, system=system, messages=[user("first question")])["usage"]
    second = client.converse(modelId=MODEL, system=system, messages=[user("second question here")])["usage"]

    # Then the first writes the prefix (140 words) and the second reads it
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"], first["inputTokens"]) == (
        140,
        0,
        2,
    )
    assert (second["cacheWriteInputTokens"], second["cacheReadInputTokens"], second["inputTokens"]) == (
        0,
        140,
        3,
    )
    assert second["totalTokens"] == 140 + 3 + second["outputTokens"]

    # And a request without a cachePoint reports no cache fields (as Bedrock)
    plain = client.converse(modelId=MODEL, system=system[:1], messages=[user("q")])["usage"]
    assert "cacheReadInputTokens" not in plain and "cacheWriteInputTokens" not in plain


def test_cache_point_on_history_grows_the_cached_prefix(private_runtime: Any) -> None:
    client = make_client(private_runtime(ScriptedEngine()))
    point = {"cachePoint": {"type": "default"}}
    turn1 = [{"role": "user", "content": [{"text": "a b c d"}, point]}]
    first = client.converse(modelId=MODEL, messages=turn1)["usage"]
    turn2 = [
        turn1[0] | {"content": [{"text": "a b c d"}]},
        {"role": "assistant", "content": [{"text": "e f"}]},
        {"role": "user", "content": [{"text": "g h"}, point]},
    ]
    second = client.converse(modelId=MODEL, messages=turn2)["usage"]
    # Then the second turn reads the first turn's cached prefix (found by looking back from its
    # cache point) and writes only what is new up to its own cache point
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (4, 0)
    assert (second["cacheReadInputTokens"], second["cacheWriteInputTokens"]) == (4, 4)
    assert second["inputTokens"] == 0


def test_cache_points_in_tools_are_accepted(client: Any) -> None:
    response = client.converse(
        modelId=MODEL,
        messages=[user("hi")],
        toolConfig={"tools": [CLOCK, {"cachePoint": {"type": "default"}}]},
    )
    assert "cacheWriteInputTokens" in response["usage"]


@pytest.mark.parametrize(
    "exception",
    [
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "serviceUnavailableException",
    ],
)
def test_every_converse_stream_exception_can_be_injected(
    scripted_runtime: RunningRuntime, exception: str
) -> None:
    client = make_client(scripted_runtime, retries=0)
    scripted_runtime.faults.stream_exception(exception, after_tokens=2)
    received: list[str] = []
    with pytest.raises(EventStreamError) as caught:
        for event in client.converse_stream(modelId=MODEL, messages=[user("a b c d")])["stream"]:
            received.append(next(iter(event)))
    assert caught.value.response["Error"]["Code"] == exception
    assert received == ["messageStart", "contentBlockDelta", "contentBlockDelta"]


def test_faults_endpoint_takes_any_stream_exception(scripted_runtime: RunningRuntime) -> None:
    import urllib.request

    body = json.dumps(
        {"streamException": "serviceUnavailableException", "afterTokens": 0, "times": 1}
    ).encode()
    request = urllib.request.Request(
        scripted_runtime.endpoint_url + "/_local/faults", data=body, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read())["streamException"] == "serviceUnavailableException"
    client = make_client(scripted_runtime, retries=0)
    with pytest.raises(EventStreamError, match="serviceUnavailableException"):
        stream_events(client.converse_stream(modelId=MODEL, messages=[user("x")]))


def test_unknown_stream_exception_is_refused(scripted_runtime: RunningRuntime) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        scripted_runtime.endpoint_url + "/_local/faults",
        data=b'{"streamException": "bogusException"}',
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400


def test_embedded_model_is_listed_text_only(private_runtime: Any) -> None:
    # Listing needs no loaded model: the engine's capabilities are what it can really read
    runtime = private_runtime(
        EmbeddedEngine(model_path="/nonexistent/model.gguf", model_id="local.test-embedded")
    )
    summaries = make_client(runtime, "bedrock").list_foundation_models()["modelSummaries"]
    assert summaries[0]["modelId"] == "local.test-embedded" and summaries[0]["inputModalities"] == ["TEXT"]


def test_projector_makes_a_vision_model(private_runtime: Any) -> None:
    engine = EmbeddedEngine(model_path="/nonexistent/vision.gguf", projector_path="/nonexistent/mmproj.gguf")
    assert engine.description.input_modalities == ("TEXT", "IMAGE")

"""Converse and ConverseStream through real boto3 against the scripted engine."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine, ScriptedToolCall

from .conftest import assistant, make_client, stream_events, streamed_text, user

MODEL = "local.scripted"

WEATHER_TOOL = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
            }
        }
    ]
}


def test_converse_echoes_last_user_text_with_word_usage(client: Any) -> None:
    # Given a conversation; When it is sent with Converse
    response = client.converse(modelId=MODEL, messages=[user("hello there world")])

    # Then the scripted model echoes the text and counts whitespace words as tokens
    assert response["output"]["message"] == {
        "role": "assistant",
        "content": [{"text": "echo: hello there world"}],
    }
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}
    assert isinstance(response["metrics"]["latencyMs"], int)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_converse_stream_events_arrive_in_documented_order(client: Any) -> None:
    response = client.converse_stream(modelId=MODEL, messages=[user("one two three")])
    events = stream_events(response)

    names = [name for name, _ in events]
    assert names[0] == "messageStart"
    assert names[1:-3] == ["contentBlockDelta"] * (len(names) - 4)
    assert names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert events[0][1] == {"role": "assistant"}
    assert streamed_text(events) == "echo: one two three"
    assert all(body["contentBlockIndex"] == 0 for name, body in events if name.startswith("contentBlock"))
    assert events[-2][1] == {"stopReason": "end_turn"}
    metadata = events[-1][1]
    assert metadata["usage"] == {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}
    assert "latencyMs" in metadata["metrics"]


def test_multi_turn_and_system_prompt_reach_the_model(private_runtime: Any) -> None:
    # Given a model that replies with what it was given
    def reply(request: dict[str, Any]) -> str:
        prompt = request["prompt"]
        return f"system={prompt.system} turns={len(prompt.turns)}"

    runtime = private_runtime(ScriptedEngine(reply=reply))
    client = make_client(runtime)

    # When a multi-turn conversation with a system prompt is sent
    response = client.converse(
        modelId=MODEL,
        system=[{"text": "Be terse."}],
        messages=[user("hi"), assistant("hello"), user("again")],
        inferenceConfig={"temperature": 0.2, "topP": 0.9},
    )

    # Then the model saw the system prompt and all three turns; the request was recorded
    assert response["output"]["message"]["content"][0]["text"] == "system=Be terse. turns=3"
    recorded = runtime.requests[-1]
    assert recorded["modelId"] == MODEL and recorded["stream"] is False
    assert recorded["system"] == [{"text": "Be terse."}]
    assert recorded["inferenceConfig"] == {"temperature": 0.2, "topP": 0.9}


def test_max_tokens_truncates_and_reports_max_tokens(client: Any) -> None:
    response = client.converse(
        modelId=MODEL, messages=[user("a b c d e f")], inferenceConfig={"maxTokens": 3}
    )
    assert response["output"]["message"]["content"][0]["text"] == "echo: a b"
    assert response["stopReason"] == "max_tokens"
    assert response["usage"]["outputTokens"] == 3


def test_stop_sequence_cuts_the_reply_in_stream_and_converse(client: Any) -> None:
    config = {"stopSequences": ["STOP"]}
    response = client.converse(
        modelId=MODEL, messages=[user("keep this STOP not this")], inferenceConfig=config
    )
    assert response["output"]["message"]["content"][0]["text"] == "echo: keep this "
    assert response["stopReason"] == "stop_sequence"

    events = stream_events(
        client.converse_stream(
            modelId=MODEL, messages=[user("keep this STOP not this")], inferenceConfig=config
        )
    )
    assert streamed_text(events) == "echo: keep this "
    assert ("messageStop", {"stopReason": "stop_sequence"}) in events


def test_tool_use_round_trip_streamed(private_runtime: Any) -> None:
    # Given a model that calls a tool, then answers from the tool result
    def reply(request: dict[str, Any]) -> Any:
        last = request["messages"][-1]["content"][0]
        if "toolResult" in last:
            return f"answer from tool: {request['prompt'].last_user_text}"
        return ["Let me check.", ScriptedToolCall("get_weather", {"city": "Paris"}, tool_use_id="tooluse_1")]

    runtime = private_runtime(ScriptedEngine(reply=reply))
    client = make_client(runtime)
    messages: list[dict[str, Any]] = [user("Weather in Paris?")]

    # When the first turn is streamed
    events = stream_events(client.converse_stream(modelId=MODEL, messages=messages, toolConfig=WEATHER_TOOL))

    # Then a text block is followed by a toolUse block (start, input delta, stop) and tool_use
    names = [name for name, _ in events]
    assert names == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert streamed_text(events[:4]) == "Let me check."
    start = events[5][1]
    assert start == {
        "contentBlockIndex": 1,
        "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}},
    }
    assert json.loads(events[6][1]["delta"]["toolUse"]["input"]) == {"city": "Paris"}
    assert events[8][1] == {"stopReason": "tool_use"}

    # When the tool result is sent back
    messages += [
        {
            "role": "assistant",
            "content": [
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
            ],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"tempC": 21}}]}}],
        },
    ]
    response = client.converse(modelId=MODEL, messages=messages, toolConfig=WEATHER_TOOL)

    # Then the model saw the tool result and answered with text
    text = response["output"]["message"]["content"][0]["text"]
    assert text.startswith("answer from tool: <tool_response>")
    assert '"tempC": 21' in text and "get_weather" in text
    assert response["stopReason"] == "end_turn"


def test_converse_returns_tool_use_block(private_runtime: Any) -> None:
    runtime = private_runtime(
        ScriptedEngine(reply=lambda _: ScriptedToolCall("get_weather", {"city": "Oslo"}))
    )
    response = make_client(runtime).converse(modelId=MODEL, messages=[user("Oslo?")], toolConfig=WEATHER_TOOL)
    (block,) = response["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "get_weather"
    assert block["toolUse"]["input"] == {"city": "Oslo"}
    assert block["toolUse"]["toolUseId"].startswith("tooluse_")
    assert response["stopReason"] == "tool_use"


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_block_is_described_to_the_model(client: Any, scripted_runtime: RunningRuntime) -> None:
    content = [{"text": "What is this?"}, {"image": {"format": "png", "source": {"bytes": _png(7, 5)}}}]
    response = client.converse(modelId=MODEL, messages=[{"role": "user", "content": content}])

    assert (
        response["output"]["message"]["content"][0]["text"]
        == "echo: What is this?\n\n[Image: PNG, 7x5 pixels]"
    )
    # The raw request keeps the image as base64, as it travelled on the wire.
    sent = scripted_runtime.requests[-1]["messages"][0]["content"][1]["image"]["source"]["bytes"]
    assert base64.b64decode(sent) == _png(7, 5)


def test_invalid_image_bytes_are_a_validation_error(client: Any) -> None:
    content = [{"image": {"format": "png", "source": {"bytes": b"not an image"}}}]
    with pytest.raises(client.exceptions.ValidationException):
        client.converse(modelId=MODEL, messages=[{"role": "user", "content": content}])


@pytest.mark.parametrize("fmt", ["txt", "pdf", "docx"])
def test_document_text_is_extracted(client: Any, fmt: str) -> None:
    content = [
        {"text": "Summarise"},
        {"document": {"format": fmt, "name": "notes", "source": {"bytes": _doc(fmt)}}},
    ]
    response = client.converse(modelId=MODEL, messages=[{"role": "user", "content": content}])
    text = response["output"]["message"]["content"][0]["text"]
    assert f"[Document 'notes' ({fmt})]" in text
    assert "The launch is on Tuesday" in text


def _doc(fmt: str) -> bytes:
    sentence = "The launch is on Tuesday."
    if fmt == "txt":
        return sentence.encode()
    if fmt == "pdf":
        from fpdf import FPDF

        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.cell(text=sentence)
        return bytes(pdf.output())
    import docx

    document = docx.Document()
    document.add_paragraph(sentence)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "model_id",
    ["local.scripted", "us.local.scripted", "arn:aws:bedrock:us-east-1::foundation-model/local.scripted"],
)
def test_model_id_forms_resolve(client: Any, model_id: str) -> None:
    response = client.converse(modelId=model_id, messages=[user("x")])
    assert response["output"]["message"]["content"][0]["text"] == "echo: x"


def test_alias_maps_a_bedrock_model_id_to_a_local_model(private_runtime: Any) -> None:
    runtime = private_runtime(ScriptedEngine(), aliases={"amazon.nova-lite-v1:0": "local.scripted"})
    response = make_client(runtime).converse(modelId="us.amazon.nova-lite-v1:0", messages=[user("x")])
    assert response["output"]["message"]["content"][0]["text"] == "echo: x"
    assert runtime.requests[-1]["modelId"] == "us.amazon.nova-lite-v1:0"

"""InvokeModel and InvokeModelWithResponseStream with each provider's native body, and CountTokens."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
TITAN = "amazon.titan-text-express-v1"
LOCAL = "local.scripted"


@pytest.fixture(scope="module")
def runtime(dummy_aws_env: None) -> Any:
    from local_stack.bedrock_runtime import serve_in_thread

    aliases = {CLAUDE: LOCAL, "amazon.nova-lite-v1:0": LOCAL, LLAMA: LOCAL, TITAN: LOCAL}
    rt = serve_in_thread([ScriptedEngine()], aliases=aliases)
    yield rt
    rt.stop()


@pytest.fixture
def rt_client(runtime: RunningRuntime) -> Any:
    from .conftest import make_client

    return make_client(runtime, retries=0)


def _anthropic(text: str = "What is Amazon VPC?", **extra: Any) -> str:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
            **extra,
        }
    )


def _invoke(client: Any, model: str, body: str) -> dict[str, Any]:
    response = client.invoke_model(
        modelId=model, body=body, contentType="application/json", accept="application/json"
    )
    assert response["contentType"] == "application/json"
    return json.loads(response["body"].read())


def _chunks(client: Any, model: str, body: str) -> list[dict[str, Any]]:
    response = client.invoke_model_with_response_stream(
        modelId=model, body=body, contentType="application/json"
    )
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def test_anthropic_messages_body(rt_client: Any) -> None:
    answer = _invoke(rt_client, CLAUDE, _anthropic(system="Be brief."))
    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert answer["content"] == [{"type": "text", "text": "echo: What is Amazon VPC?"}]
    assert answer["stop_reason"] == "end_turn"
    assert answer["usage"]["input_tokens"] == 6 and answer["usage"]["output_tokens"] == 5


def test_anthropic_messages_stream(rt_client: Any) -> None:
    chunks = _chunks(rt_client, CLAUDE, _anthropic())
    types = [c["type"] for c in chunks]
    assert types[:2] == ["message_start", "content_block_start"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    assert text == "echo: What is Amazon VPC?"
    assert chunks[-2]["delta"]["stop_reason"] == "end_turn" and chunks[-2]["usage"]["output_tokens"] == 5
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == 4 and metrics["outputTokenCount"] == 5
    assert metrics["invocationLatency"] >= metrics["firstByteLatency"] >= 0


def test_anthropic_tool_use_round_trip(rt_client: Any) -> None:
    tools = [{"name": "clock", "description": "Tells the time.", "input_schema": {"type": "object"}}]
    first = _invoke(rt_client, CLAUDE, _anthropic('Time?\n#call clock {"tz": "UTC"}', tools=tools))
    assert first["stop_reason"] == "tool_use"
    call = first["content"][0]
    assert call["type"] == "tool_use" and call["name"] == "clock" and call["input"] == {"tz": "UTC"}
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "tools": tools,
            "messages": [
                {"role": "user", "content": "Time?"},
                {"role": "assistant", "content": first["content"]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "12:00"}],
                },
            ],
        }
    )
    assert _invoke(rt_client, CLAUDE, body)["content"][0]["text"] == "result: 12:00"


def test_anthropic_body_missing_max_tokens(rt_client: Any) -> None:
    body = json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}]}
    )
    with pytest.raises(rt_client.exceptions.ValidationException) as caught:
        rt_client.invoke_model(modelId=CLAUDE, body=body)
    assert caught.value.response["Error"]["Message"].startswith(
        "Malformed input request: #: 'max_tokens' is a required property"
    )


def test_nova_body_and_stream(rt_client: Any) -> None:
    body = json.dumps(
        {
            "schemaVersion": "messages-v1",
            "messages": [{"role": "user", "content": [{"text": "Hi Nova"}]}],
            "inferenceConfig": {"max_new_tokens": 20},
        }
    )
    answer = _invoke(rt_client, NOVA, body)
    assert answer["output"]["message"]["content"] == [{"text": "echo: Hi Nova"}]
    assert answer["stopReason"] == "end_turn" and answer["usage"]["outputTokens"] == 3
    chunks = _chunks(rt_client, NOVA, body)
    assert next(iter(chunks[0])) == "messageStart" and "metadata" in chunks[-1]
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 3


def test_llama_body_and_stream(rt_client: Any) -> None:
    prompt = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi Llama<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    body = json.dumps({"prompt": prompt, "max_gen_len": 32, "temperature": 0.5})
    answer = _invoke(rt_client, LLAMA, body)
    assert answer == {
        "generation": "echo: Hi Llama",
        "prompt_token_count": 2,
        "generation_token_count": 3,
        "stop_reason": "stop",
    }
    chunks = _chunks(rt_client, LLAMA, body)
    assert "".join(c["generation"] for c in chunks) == "echo: Hi Llama"
    assert chunks[-1]["stop_reason"] == "stop" and "amazon-bedrock-invocationMetrics" in chunks[-1]


def test_titan_text_body_and_stream(rt_client: Any) -> None:
    body = json.dumps({"inputText": "Hi Titan", "textGenerationConfig": {"maxTokenCount": 2}})
    answer = _invoke(rt_client, TITAN, body)
    assert answer["results"][0]["outputText"] == "echo: Hi"
    assert answer["results"][0]["completionReason"] == "LENGTH" and answer["inputTextTokenCount"] == 2
    chunks = _chunks(rt_client, TITAN, body)
    assert "".join(c["outputText"] for c in chunks) == "echo: Hi"
    assert chunks[-1]["completionReason"] == "LENGTH" and "amazon-bedrock-invocationMetrics" in chunks[-1]


@pytest.mark.parametrize("exception", ["modelTimeoutException", "serviceUnavailableException"])
def test_invoke_stream_fault(runtime: RunningRuntime, rt_client: Any, exception: str) -> None:
    from botocore.exceptions import EventStreamError

    runtime.faults.stream_exception(exception, after_tokens=1)
    try:
        with pytest.raises(EventStreamError) as caught:
            _chunks(rt_client, CLAUDE, _anthropic())
        assert caught.value.response["Error"]["Code"] == exception
    finally:
        runtime.faults.clear()


def test_count_tokens_converse_and_invoke_forms(rt_client: Any) -> None:
    converse = {
        "converse": {"messages": [{"role": "user", "content": [{"text": "Count these tokens please."}]}]}
    }
    assert rt_client.count_tokens(modelId=CLAUDE, input=converse)["inputTokens"] == 4
    native = {"invokeModel": {"body": _anthropic("Count these tokens please.").encode()}}
    assert rt_client.count_tokens(modelId=CLAUDE, input=native)["inputTokens"] == 4


def test_count_tokens_equals_billed_input(rt_client: Any) -> None:
    messages = [{"role": "user", "content": [{"text": "one two three"}]}]
    counted = rt_client.count_tokens(
        modelId=LOCAL, input={"converse": {"messages": messages, "system": [{"text": "Be nice."}]}}
    )
    billed = rt_client.converse(modelId=LOCAL, messages=messages, system=[{"text": "Be nice."}])["usage"][
        "inputTokens"
    ]
    assert counted["inputTokens"] == billed == 5


def test_count_tokens_validates_like_converse(rt_client: Any) -> None:
    with pytest.raises(rt_client.exceptions.ValidationException, match="is blank"):
        rt_client.count_tokens(
            modelId=LOCAL, input={"converse": {"messages": [{"role": "user", "content": [{"text": " "}]}]}}
        )


def test_unknown_native_body(rt_client: Any) -> None:
    with pytest.raises(rt_client.exceptions.ValidationException, match="none of the native formats"):
        rt_client.invoke_model(modelId=LOCAL, body=json.dumps({"foo": 1}))

"""Every request is validated as Bedrock does: botocore's service model (checked on the server, so a
client that skips client-side validation gets the same answer) and Bedrock's documented rules."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.bedrock_runtime import RunningRuntime

from .conftest import make_client, user

MODEL = "local.scripted"


@pytest.fixture
def raw_client(scripted_runtime: RunningRuntime) -> Any:
    """A boto3 client with client-side validation off: what reaches the server is what we sent."""
    return make_client(scripted_runtime, parameter_validation=False, retries=0)


def _tools(name: str = "clock", description: str = "Tells the time.") -> dict[str, Any]:
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": name,
                    "description": description,
                    "inputSchema": {"json": {"type": "object"}},
                }
            }
        ]
    }


def _asked_tool(tool_use_id: str) -> dict[str, Any]:
    """An assistant message asking for the `clock` tool."""
    tool_use = {"toolUseId": tool_use_id, "name": "clock", "input": {}}
    return {"role": "assistant", "content": [{"toolUse": tool_use}]}


def _rejected(client: Any, **request: Any) -> str:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(modelId=MODEL, **request)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(caught.value.response["Error"]["Message"])


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_block(raw_client: Any, text: str) -> None:
    message = _rejected(
        raw_client,
        messages=[
            user("hi"),
            {"role": "assistant", "content": [{"text": "ok"}]},
            {"role": "user", "content": [{"text": "x"}, {"text": text}]},
        ],
    )
    if text:
        assert message == (
            "The text field in the ContentBlock object at messages.2.content.1 is blank. "
            "Add text to the text field, and try again."
        )
    else:
        assert "failed to satisfy constraint" in message or "is blank" in message


@pytest.mark.parametrize("name", ["get weather", "get.weather!", "x" * 65])
def test_tool_name_outside_the_model_pattern(raw_client: Any, name: str) -> None:
    message = _rejected(raw_client, messages=[user("hi")], toolConfig=_tools(name))
    assert message.startswith("1 validation error detected: Value ")
    assert "at 'toolConfig.tools.1.member.toolSpec.name' failed to satisfy constraint" in message


def test_empty_tool_description(raw_client: Any) -> None:
    message = _rejected(raw_client, messages=[user("hi")], toolConfig=_tools(description=""))
    assert "'toolConfig.tools.1.member.toolSpec.description'" in message
    assert "Member must have length greater than or equal to 1" in message


def test_tool_use_id_with_spaces(raw_client: Any) -> None:
    message = _rejected(
        raw_client,
        messages=[
            user("hi"),
            _asked_tool("my id"),
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "my id", "content": [{"text": "noon"}]}}],
            },
        ],
        toolConfig=_tools(),
    )
    assert "Value 'my id' at 'messages.2.member.content.1.member.toolUse.toolUseId'" in message
    assert "regular expression pattern: [a-zA-Z0-9_.:-]+" in message


def test_too_many_request_metadata_entries(raw_client: Any) -> None:
    message = _rejected(raw_client, messages=[user("hi")], requestMetadata={f"k{i}": "v" for i in range(17)})
    assert (
        "at 'requestMetadata' failed to satisfy constraint: Member must have length less than or equal to 16"
        in message
    )


@pytest.mark.parametrize("name", ["report.pdf", "two  spaces", "naïve"])
def test_document_name_outside_bedrocks_characters(raw_client: Any, name: str) -> None:
    document = {"document": {"format": "txt", "name": name, "source": {"bytes": b"hello"}}}
    message = _rejected(
        raw_client, messages=[{"role": "user", "content": [document, {"text": "Summarise."}]}]
    )
    assert message.startswith("The document file name can only contain alphanumeric characters")


def test_unanswered_tool_use(raw_client: Any) -> None:
    message = _rejected(
        raw_client,
        messages=[user("hi"), _asked_tool("t1"), user("and?")],
        toolConfig=_tools(),
    )
    assert message == "Expected toolResult blocks at messages.2.content for the following Ids: t1"


def test_more_tool_results_than_tool_uses(raw_client: Any) -> None:
    results = [{"toolResult": {"toolUseId": tid, "content": [{"text": "x"}]}} for tid in ("t1", "t2")]
    message = _rejected(
        raw_client,
        messages=[
            user("hi"),
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": "clock", "input": {}}}],
            },
            {"role": "user", "content": results},
        ],
        toolConfig=_tools(),
    )
    assert message.startswith("The number of toolResult blocks at messages.2.content exceeds")


def test_out_of_range_inference_settings(raw_client: Any) -> None:
    message = _rejected(
        raw_client, messages=[user("hi")], inferenceConfig={"temperature": 1.5, "maxTokens": 0}
    )
    assert message.startswith("2 validation errors detected:")
    constraint = "failed to satisfy constraint: Member must have value"
    assert f"'inferenceConfig.temperature' {constraint} less than or equal to 1" in message
    assert f"'inferenceConfig.maxTokens' {constraint} greater than or equal to 1" in message


def test_unknown_cache_point_type(raw_client: Any) -> None:
    message = _rejected(
        raw_client,
        messages=[{"role": "user", "content": [{"text": "hi"}, {"cachePoint": {"type": "forever"}}]}],
    )
    assert "Member must satisfy enum value set: [default]" in message


def test_two_members_in_one_content_block(raw_client: Any) -> None:
    message = _rejected(
        raw_client,
        messages=[{"role": "user", "content": [{"text": "hi", "cachePoint": {"type": "default"}}]}],
    )
    assert (
        "'messages.1.member.content.1.member' failed to satisfy constraint: Member must set exactly one of"
        in message
    )


def test_more_than_four_cache_points(raw_client: Any) -> None:
    blocks: list[dict[str, Any]] = []
    for i in range(5):
        blocks += [{"text": f"part {i}"}, {"cachePoint": {"type": "default"}}]
    message = _rejected(raw_client, messages=[{"role": "user", "content": blocks}])
    assert "A maximum of 4 cachePoint blocks" in message


def test_unknown_guardrail(client: Any) -> None:
    message = _rejected(
        client,
        messages=[user("hi")],
        guardrailConfig={"guardrailIdentifier": "abc123", "guardrailVersion": "1"},
    )
    assert message == "The guardrail identifier or version provided in the request does not exist."


def test_boto3_client_side_validation_agrees(client: Any) -> None:
    # The shapes the server checks are botocore's own: boto3 rejects a model violation before sending
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        client.converse(modelId=MODEL, messages=[user("hi")], toolConfig=_tools(description=""))


def test_valid_request_with_every_checked_member_passes(client: Any) -> None:
    document = {"format": "txt", "name": "Q3 report (final) [v2]", "source": {"bytes": b"Revenue grew."}}
    response = client.converse(
        modelId=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"document": document},
                    {"text": "Summarise."},
                    {"cachePoint": {"type": "default"}},
                ],
            }
        ],
        system=[{"text": "Be brief."}, {"cachePoint": {"type": "default", "ttl": "1h"}}],
        toolConfig=_tools("get_weather-2"),
        requestMetadata={f"k{i}": "v" for i in range(16)},
        inferenceConfig={"temperature": 1, "topP": 0.5, "maxTokens": 50},
    )
    assert response["stopReason"] == "end_turn"

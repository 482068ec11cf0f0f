"""Inference settings: refused with a 400 that names the field and the allowed range, layered turn
over conversation, and sent as a Converse inferenceConfig that botocore accepts."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from chatbot_common.errors import InvalidInput
from chatbot_common.model_table import DEFAULT_MODEL_TABLE
from lambda_chat.domain.history import history_budget
from lambda_chat.domain.inference import (
    InferenceSettings,
    InvalidInferenceConfig,
    converse_inference_config,
    validate_inference,
)

NOVA = "us.amazon.nova-lite-v1:0"
SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS_47 = "us.anthropic.claude-opus-4-7"
LOCAL = "local.smollm2-135m-instruct"


def check(model_id: str, raw: dict[str, object], field: str = "inferenceConfig") -> InferenceSettings:
    settings = InferenceSettings.from_json(raw, field=field)
    return validate_inference(
        settings, DEFAULT_MODEL_TABLE.profile_for(model_id), model_id=model_id, field=field
    )


@pytest.mark.parametrize(
    ("model_id", "raw", "field", "allowed"),
    [
        (LOCAL, {"temperature": 5}, "inferenceConfig.temperature", "0 to 1"),
        # the local window is 4,096 tokens for input and output together: half of it at most
        (LOCAL, {"maxTokens": 4096}, "inferenceConfig.maxTokens", "1 to 2048"),
        (NOVA, {"temperature": -0.1}, "inferenceConfig.temperature", "0 to 1"),
        (NOVA, {"topP": 1.5}, "inferenceConfig.topP", "0 to 1"),
        (NOVA, {"maxTokens": 10_001}, "inferenceConfig.maxTokens", "1 to 10000"),
        (NOVA, {"maxTokens": 0}, "inferenceConfig.maxTokens", "1 to 10000"),
        ("no.such-model-v9", {"maxTokens": 0}, "inferenceConfig.maxTokens", "at least 1"),
        (
            SONNET_45,
            {"temperature": 0.5, "topP": 0.9},
            "inferenceConfig.topP",
            "set only one of temperature and topP",
        ),
        (OPUS_47, {"temperature": 0.5}, "inferenceConfig.temperature", "leave it unset"),
        (NOVA, {"stopSequences": ["END", ""]}, "inferenceConfig.stopSequences[1]", None),
        (NOVA, {"stopSequences": ["x"] * 2501}, "inferenceConfig.stopSequences", "at most 2500"),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_field_and_range(
    model_id: str, raw: dict[str, object], field: str, allowed: str | None
) -> None:
    with pytest.raises(InvalidInferenceConfig) as raised:
        check(model_id, raw)
    error = raised.value
    assert isinstance(error, InvalidInput) and error.status == 400
    assert error.field == field and error.message.startswith(field)
    if allowed is not None:
        assert error.allowed == allowed and allowed in error.message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"temperature": "hot"}, "inferenceConfig.temperature"),
        ({"temperature": True}, "inferenceConfig.temperature"),
        ({"topP": float("nan")}, "inferenceConfig.topP"),
        ({"maxTokens": 12.5}, "inferenceConfig.maxTokens"),
        ({"maxTokens": "100"}, "inferenceConfig.maxTokens"),
        ({"stopSequences": "END"}, "inferenceConfig.stopSequences"),
        ({"stopSequences": ["END", 3]}, "inferenceConfig.stopSequences[1]"),
        ({"seed": 3}, "inferenceConfig.seed"),
    ],
)
def test_wrongly_typed_or_unknown_settings_are_refused(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInferenceConfig) as raised:
        InferenceSettings.from_json(raw)
    assert raised.value.field == field


def test_a_comparison_lane_is_named_in_the_error() -> None:
    with pytest.raises(InvalidInferenceConfig) as raised:
        check(NOVA, {"temperature": 1.2}, field="lanes[1].inferenceConfig")
    assert raised.value.field == "lanes[1].inferenceConfig.temperature"


def test_settings_within_the_models_limits_pass_unchanged() -> None:
    settings = check(NOVA, {"temperature": 0.2, "topP": 0.9, "maxTokens": 40, "stopSequences": ["END"]})
    assert settings == InferenceSettings(temperature=0.2, top_p=0.9, max_tokens=40, stop_sequences=("END",))
    assert check(SONNET_45, {"topP": 0.8}).top_p == 0.8
    assert check(NOVA, {"maxTokens": 40.0}).max_tokens == 40  # JSON numbers like 40.0 are whole numbers
    assert settings.to_json() == {"temperature": 0.2, "topP": 0.9, "maxTokens": 40, "stopSequences": ["END"]}
    assert InferenceSettings.from_json(None).is_empty()


def test_a_turns_settings_lie_over_its_conversations() -> None:
    conversation = InferenceSettings(temperature=0.7, top_p=0.9, max_tokens=300)
    turn = InferenceSettings(temperature=0.2, stop_sequences=("END",))
    assert turn.over(conversation) == InferenceSettings(
        temperature=0.2, top_p=0.9, max_tokens=300, stop_sequences=("END",)
    )
    assert InferenceSettings().over(conversation) == conversation


def test_the_converse_inference_config_carries_what_was_set_and_a_bounded_max_tokens() -> None:
    llama = DEFAULT_MODEL_TABLE.profile_for("meta.llama3-3-70b-instruct-v1:0")
    nova = DEFAULT_MODEL_TABLE.profile_for(NOVA)
    # The deployment's default max tokens is capped at the model's own limit
    assert converse_inference_config(InferenceSettings(), llama, default_max_tokens=4096) == {
        "maxTokens": 2048
    }
    assert converse_inference_config(InferenceSettings(), nova, default_max_tokens=1024) == {
        "maxTokens": 1024
    }
    config = converse_inference_config(
        InferenceSettings(temperature=0.2, max_tokens=40, stop_sequences=("END",)),
        nova,
        default_max_tokens=1024,
    )
    assert config == {"maxTokens": 40, "temperature": 0.2, "stopSequences": ["END"]}

    # And botocore accepts it as the inferenceConfig of a Converse request
    shapes = botocore.session.get_session().get_service_model("bedrock-runtime")
    request = {
        "modelId": NOVA,
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": config,
    }
    report = ParamValidator().validate(request, shapes.operation_model("ConverseStream").input_shape)
    assert not report.has_errors(), report.generate_report()


class _RecordingRuntime:
    """A bedrock-runtime client double that records ConverseStream requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []

    def converse_stream(self, **request: object) -> dict[str, object]:
        self.requests.append(request)
        events = [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"delta": {"text": "hi"}, "contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "end_turn"}},
            {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}},
        ]
        return {"stream": iter(events)}


def test_langchain_aws_sends_the_inference_config_to_converse_as_given() -> None:
    # Given ChatBedrockConverse built once per model (as the Bedrock adapter does, with a default
    # max_tokens) and a per-call inferenceConfig from these settings
    from langchain_aws import ChatBedrockConverse
    from langchain_core.messages import HumanMessage

    runtime = _RecordingRuntime()
    llm = ChatBedrockConverse(
        model=SONNET_45,
        region_name="us-east-1",
        provider="anthropic",
        disable_streaming=False,
        max_tokens=1024,
        client=runtime,
        bedrock_client=object(),
    )
    profile = DEFAULT_MODEL_TABLE.profile_for(SONNET_45)
    config = converse_inference_config(
        InferenceSettings(temperature=0.2, max_tokens=40, stop_sequences=("END",)),
        profile,
        default_max_tokens=1024,
    )

    # When a turn streams with it
    text = "".join(chunk.text for chunk in llm.stream([HumanMessage(content="x")], inferenceConfig=config))

    # Then Bedrock receives exactly that inferenceConfig (the per-call value replaces the default)
    assert text == "hi"
    assert runtime.requests[0]["inferenceConfig"] == {
        "maxTokens": 40,
        "temperature": 0.2,
        "stopSequences": ["END"],
    }


def test_the_largest_max_tokens_a_local_model_takes_leaves_room_for_the_conversation() -> None:
    # A maxTokens of the whole window left a history budget of 0: the model forgot the conversation
    profile = DEFAULT_MODEL_TABLE.profile_for(LOCAL)
    assert profile.context_window is not None and profile.max_output_tokens is not None
    largest = history_budget(
        6_000, context_window=profile.context_window, max_output_tokens=profile.max_output_tokens
    )
    assert largest >= 1_000

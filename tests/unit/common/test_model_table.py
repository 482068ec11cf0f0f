"""The per-model table: lookup by model id, inference-profile id or ARN; Bedrock's documented
defaults for unknown models; deployment overrides; and the built-in rows checked against botocore's
Converse model and the models.dev profiles shipped in langchain-aws."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import botocore.session
import pytest

from chatbot_common.model_table import (
    CONVERSE_MAX_STOP_SEQUENCES,
    CONVERSE_MIN_MAX_TOKENS,
    CONVERSE_TEMPERATURE_RANGE,
    CONVERSE_TOP_P_RANGE,
    DEFAULT_MODEL_TABLE,
    MAX_CACHE_CHECKPOINTS,
    MAX_SETTING_CHARS,
    UNKNOWN_MODEL,
    ModelProfile,
    ModelTable,
    encode_model_table_setting,
    is_local_model,
    load_model_table,
)

ROOT = Path(__file__).resolve().parents[3]


def test_converse_limits_match_botocores_service_model() -> None:
    # Given botocore's own description of the Converse API
    shapes = botocore.session.get_session().get_service_model("bedrock-runtime")
    inference = shapes.shape_for("InferenceConfiguration").members
    # Then the table's Bedrock-wide defaults are the documented ones
    assert (
        inference["temperature"].metadata["min"],
        inference["temperature"].metadata["max"],
    ) == CONVERSE_TEMPERATURE_RANGE
    assert (inference["topP"].metadata["min"], inference["topP"].metadata["max"]) == CONVERSE_TOP_P_RANGE
    assert inference["maxTokens"].metadata["min"] == CONVERSE_MIN_MAX_TOKENS
    assert inference["stopSequences"].metadata["max"] == CONVERSE_MAX_STOP_SEQUENCES
    assert set(shapes.shape_for("TokenUsage").members) >= {"cacheReadInputTokens", "cacheWriteInputTokens"}


@pytest.mark.parametrize(
    ("model_id", "key"),
    [
        ("us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1"),
        ("eu.amazon.nova-micro-v1:0", "amazon.nova-micro-v1"),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "anthropic.claude-opus-4-1"),
        ("apac.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5"),
        ("us.meta.llama3-3-70b-instruct-v1:0", "meta.llama3-3-70b-instruct"),
        ("mistral.mistral-large-2407-v1:0", "mistral.mistral-large-2407"),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", "amazon.nova-pro-v1"),
        ("local.smollm2-135m-instruct", "local.smollm2"),
        ("local.scripted", "local."),
    ],
)
def test_model_ids_and_inference_profiles_find_their_family(model_id: str, key: str) -> None:
    assert DEFAULT_MODEL_TABLE.key_for(model_id) == key


def test_an_unknown_model_gets_bedrocks_documented_defaults_and_no_price() -> None:
    profile = DEFAULT_MODEL_TABLE.profile_for("no.such-model-v9")
    assert profile is UNKNOWN_MODEL
    assert (profile.temperature.min, profile.temperature.max) == CONVERSE_TEMPERATURE_RANGE
    assert (profile.top_p.min, profile.top_p.max) == CONVERSE_TOP_P_RANGE
    assert profile.max_output_tokens is None and profile.context_window is None
    assert profile.price is None and not profile.prompt_caching.supported


def test_local_models_cost_nothing() -> None:
    price = DEFAULT_MODEL_TABLE.price_for("local.scripted")
    assert price is not None and is_local_model("local.scripted")
    assert {price.input_per_1k, price.output_per_1k, price.cache_read_per_1k, price.cache_write_per_1k} == {
        Decimal(0)
    }


def test_every_model_the_stack_allows_has_limits_and_a_dated_price() -> None:
    # Given the models cdk.json lets a deployment use
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    for model_id in context["allowedModels"]:
        # Then each is a known family with a price, its date and its source
        assert DEFAULT_MODEL_TABLE.key_for(model_id) is not None, model_id
        profile = DEFAULT_MODEL_TABLE.profile_for(model_id)
        assert profile.max_output_tokens and profile.context_window
        assert profile.price is not None and profile.price.source.startswith("https://")
        assert profile.price.as_of <= date.today()


def test_newer_claude_models_take_temperature_or_top_p_but_not_both() -> None:
    for model_id in (
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-1-20250805-v1:0",
    ):
        assert DEFAULT_MODEL_TABLE.profile_for(model_id).sampling == "temperatureOrTopP", model_id
    assert (
        DEFAULT_MODEL_TABLE.profile_for("us.anthropic.claude-3-5-haiku-20241022-v1:0").sampling
        == "temperatureAndTopP"
    )
    assert DEFAULT_MODEL_TABLE.profile_for("us.amazon.nova-lite-v1:0").sampling == "temperatureAndTopP"


def test_prompt_caching_rows_follow_bedrocks_rules() -> None:
    for key, row in DEFAULT_MODEL_TABLE.to_json().items():
        profile = ModelProfile.model_validate(row)
        caching = profile.prompt_caching
        if caching.supported:
            assert caching.min_tokens_per_checkpoint, key
            assert caching.max_checkpoints == MAX_CACHE_CHECKPOINTS
            assert "system" in caching.fields and "messages" in caching.fields
        if key.startswith("anthropic.") and profile.price is not None:
            # Claude: cache writes 1.25x the input price, reads 0.1x.
            assert profile.price.cache_write_per_1k == profile.price.input_per_1k * Decimal("1.25"), key
            assert profile.price.cache_read_per_1k == profile.price.input_per_1k / 10, key
        if key.startswith("amazon.nova"):
            assert (
                profile.price is not None
                and profile.price.cache_read_per_1k == profile.price.input_per_1k / 4
            )
    assert DEFAULT_MODEL_TABLE.profile_for("amazon.nova-lite-v1:0").prompt_caching.fields == (
        "system",
        "messages",
    )
    assert (
        DEFAULT_MODEL_TABLE.profile_for(
            "anthropic.claude-haiku-4-5-20251001-v1:0"
        ).prompt_caching.min_tokens_per_checkpoint
        == 4096
    )
    assert not DEFAULT_MODEL_TABLE.profile_for("meta.llama3-3-70b-instruct-v1:0").prompt_caching.supported


def test_the_rows_agree_with_the_models_dev_profiles_in_langchain_aws() -> None:
    # Given langchain-aws's model profiles (models.dev data, maintained upstream)
    from langchain_aws.data._profiles import _PROFILES

    checked = 0
    for model_id, theirs in _PROFILES.items():
        key = DEFAULT_MODEL_TABLE.key_for(model_id)
        if key is None or key == "local.":
            continue
        ours = DEFAULT_MODEL_TABLE.profile_for(model_id)
        checked += 1
        # Then we never allow more output or context than they say the model has
        if theirs.get("max_output_tokens"):
            assert (
                ours.max_output_tokens is not None and ours.max_output_tokens <= theirs["max_output_tokens"]
            ), model_id
        if theirs.get("max_input_tokens"):
            assert ours.context_window is not None and ours.context_window <= theirs["max_input_tokens"], (
                model_id
            )
        # And a model that takes no temperature is marked so
        if theirs.get("temperature") is False:
            assert ours.sampling == "none", model_id
    assert checked >= 15


def test_a_deployment_overrides_a_price_for_one_route_and_keeps_the_limits() -> None:
    # Given an override pricing the us. route of Sonnet 4.5 (regional routes cost more than global.)
    table = load_model_table(
        json.dumps(
            {
                "us.anthropic.claude-sonnet-4-5": {
                    "price": {
                        "inputPer1k": "0.0033",
                        "outputPer1k": "0.0165",
                        "asOf": "2026-11-01",
                        "source": "https://example.com/p",
                    }
                }
            }
        )
    )
    # Then that route has the new price with its own date, the limits stay, other routes are untouched
    us = table.profile_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert (
        us.price is not None
        and us.price.input_per_1k == Decimal("0.0033")
        and us.price.as_of == date(2026, 11, 1)
    )
    assert us.price.cache_read_per_1k is None
    assert us.max_output_tokens == 64_000 and us.sampling == "temperatureOrTopP"
    glob = table.profile_for("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert glob.price is not None and glob.price.input_per_1k == Decimal("0.003")


def test_a_deployment_adds_a_model_and_marks_a_price_unknown() -> None:
    table = DEFAULT_MODEL_TABLE.with_overrides(
        {
            "acme.model-x": {
                "name": "Acme X",
                "maxOutputTokens": 2048,
                "temperature": {"min": 0, "max": 0.9},
            },
            "amazon.nova-premier-v1": {"price": None},
        }
    )
    acme = table.profile_for("us.acme.model-x-v1:0")
    assert acme.name == "Acme X" and acme.max_output_tokens == 2048 and acme.temperature.max == 0.9
    assert table.price_for("us.amazon.nova-premier-v1:0") is None
    assert (
        DEFAULT_MODEL_TABLE.price_for("us.amazon.nova-premier-v1:0") is not None
    )  # the default is untouched


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            '{"amazon.nova-lite-v1": {"temperature": {"min": 2, "max": 1}}}',
            "modelTable['amazon.nova-lite-v1']: temperature",
        ),
        ({"amazon.nova-lite-v1": {"price": {"inputPer1k": "0.1"}}}, "price.outputPer1k"),
        ({"amazon.nova-lite-v1": {"maxOutputTokens": 0}}, "maxOutputTokens"),
        ({"amazon.nova-lite-v1": {"sampling": "sometimes"}}, "sampling"),
        ({"amazon.nova-lite-v1": {"colour": "blue"}}, "colour"),
        ({"amazon.nova-lite-v1": 3}, "must be an object"),
        ("{not json", "not valid JSON"),
        ("[1]", "must be an object"),
    ],
)
def test_a_malformed_override_fails_at_start_up_naming_the_key_and_field(
    overrides: object, named: str
) -> None:
    with pytest.raises(ValueError) as raised:
        load_model_table(overrides)  # type: ignore[arg-type]
    assert named in str(raised.value)


def test_the_table_round_trips_through_its_json_shape() -> None:
    # Given the table as the CDK would write it into cdk.json context
    text = json.dumps(DEFAULT_MODEL_TABLE.to_json())
    # When it is read back as a full table
    rebuilt = ModelTable({key: ModelProfile.model_validate(row) for key, row in json.loads(text).items()})
    # Then every row is the same
    for key in DEFAULT_MODEL_TABLE.entry_keys():
        assert rebuilt.profile_for(key) == DEFAULT_MODEL_TABLE.profile_for(key)
    assert load_model_table(None) is DEFAULT_MODEL_TABLE and load_model_table("") is DEFAULT_MODEL_TABLE


def test_the_cdk_hands_the_overrides_to_the_lambda_as_compact_validated_json() -> None:
    # Given a deployment's overrides from cdk.json context
    overrides = {
        "amazon.nova-lite-v1": {
            "price": {
                "inputPer1k": "0.00007",
                "outputPer1k": "0.00028",
                "asOf": "2026-11-01",
                "source": "https://example.com/p",
            }
        }
    }
    # When the stack turns them into the function's setting, and the function loads it
    setting = encode_model_table_setting(overrides)
    table = load_model_table(setting)
    # Then the function sees the deployment's price
    assert table.price_for("us.amazon.nova-lite-v1:0").input_per_1k == Decimal("0.00007")  # type: ignore[union-attr]
    assert encode_model_table_setting(None) == "" and encode_model_table_setting({}) == ""
    # And a bad or oversized table fails the synth instead of the first request
    with pytest.raises(ValueError, match="maxOutputTokens"):
        encode_model_table_setting({"amazon.nova-lite-v1": {"maxOutputTokens": -1}})
    many = {f"acme.model-{i}": {"name": "x" * 40} for i in range(60)}
    with pytest.raises(ValueError, match=str(MAX_SETTING_CHARS)):
        encode_model_table_setting(many)

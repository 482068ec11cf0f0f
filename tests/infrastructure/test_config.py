"""ChatbotConfig: validated from cdk.json context; allowed models are current."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from aws_cdk import App

from cdk.app_factory import CDK_JSON
from cdk.config import MODEL_END_OF_LIFE, ChatbotConfig, end_of_life
from tests.infrastructure.conftest import synthesize

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _config(**context: object) -> ChatbotConfig:
    return ChatbotConfig.from_node(App(context={"stage": "dev", **context}).node)


def test_cdk_json_allows_no_model_past_its_end_of_life() -> None:
    context = json.loads(CDK_JSON.read_text())["context"]
    today = date.today()
    for model_id in context["allowedModels"]:
        retired = end_of_life(model_id)
        assert retired is None or retired > today, f"{model_id} reached end of life on {retired}"


def test_end_of_life_table_covers_inference_profiles_of_its_models() -> None:
    (base, retired), *_ = MODEL_END_OF_LIFE.items()
    assert end_of_life(f"us.{base}") == retired == end_of_life(f"eu.{base}")
    assert end_of_life("us.amazon.nova-lite-v1:0") is None


def test_a_model_past_its_end_of_life_fails_synth() -> None:
    retired = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    assert end_of_life(retired) is not None and end_of_life(retired) <= date.today()
    with pytest.raises(ValueError, match="end of life"):
        _config(allowedModels=[retired, "us.amazon.nova-lite-v1:0"], defaultModel="us.amazon.nova-lite-v1:0")


def test_cli_strings_are_parsed_as_json_or_lists() -> None:
    config = _config(
        allowedModels="us.amazon.nova-lite-v1:0, us.amazon.nova-pro-v1:0",
        limits='{"chatMemoryMb": 2048}',
        selfSignUp="true",
        retentionDays="30",
    )
    assert config.allowed_models == ("us.amazon.nova-lite-v1:0", "us.amazon.nova-pro-v1:0")
    assert config.limits.chat_memory_mb == 2048
    assert config.limits.upload_memory_mb == 512
    assert config.self_sign_up is True and config.retention_days == 30


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"limits": {"chatTimeoutSeconds": 901}}, "chatTimeoutSeconds"),
        ({"limits": {"chatMemoryMb": 64}}, "chatMemoryMb"),
        ({"mfa": "sometimes"}, "mfa"),
        ({"webDomainName": "chat.example.com"}, "webCertificateArn"),
        (
            {
                "webDomainName": "chat.example.com",
                "webCertificateArn": CERT.replace("us-east-1", "eu-west-1"),
            },
            "us-east-1",
        ),
        ({"limits": {"chatMemroyMb": 2048}}, "chatMemroyMb"),
    ],
)
def test_bad_values_fail_naming_the_key(context: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(**context)


def test_stage_decides_whether_data_is_retained() -> None:
    assert _config().retain_data is False
    assert _config(stage="prod").retain_data is True
    assert _config(stage="prod", retainData=False).retain_data is False


def test_custom_domain_gets_alias_certificate_and_both_callbacks(tmp_path: Path) -> None:
    synthesized = synthesize(tmp_path, webDomainName="chat.example.com", webCertificateArn=CERT)
    (distribution,) = synthesized.of_type("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["Aliases"] == ["chat.example.com"]
    assert config["ViewerCertificate"]["AcmCertificateArn"] == CERT
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    (client,) = synthesized.of_type("AWS::Cognito::UserPoolClient").values()
    callbacks = client["Properties"]["CallbackURLs"]
    assert callbacks[0] == "https://chat.example.com/"
    # the CloudFront URL keeps working for sign-in
    assert len(callbacks) == 2 and "DomainName" in json.dumps(callbacks[1])
    (bucket_cors,) = [
        b["Properties"]["CorsConfiguration"]["CorsRules"][0]
        for b in synthesized.of_type("AWS::S3::Bucket").values()
        if "CorsConfiguration" in b["Properties"]
    ]
    assert "https://chat.example.com" in bucket_cors["AllowedOrigins"]
    assert len(bucket_cors["AllowedOrigins"]) == 2


def test_model_table_overrides_reach_the_chat_function_and_a_bad_one_fails_synth(tmp_path: Path) -> None:
    price = {"inputPer1k": "0.001", "outputPer1k": "0.002", "asOf": "2026-12-01", "source": "our contract"}
    table = {"us.amazon.nova-lite-v1:0": {"price": price}}
    synthesized = synthesize(tmp_path, modelTable=table)
    environments = [
        fn["Properties"].get("Environment", {}).get("Variables", {})
        for fn in synthesized.of_type("AWS::Lambda::Function").values()
    ]
    encoded = [env["CHATBOT_MODEL_TABLE"] for env in environments if "CHATBOT_MODEL_TABLE" in env]
    assert encoded and json.loads(encoded[0]) == table
    # The Lambda reads the same text back into its table
    from chatbot_common.model_table import load_model_table

    assert str(load_model_table(encoded[0]).price_for("us.amazon.nova-lite-v1:0").input_per_1k) == "0.001"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="maxOutputTokens"):
        _config(modelTable={"us.amazon.nova-lite-v1:0": {"maxOutputTokens": -5}})
    # A JSON string from `-c modelTable=...` works too
    assert _config(modelTable=json.dumps(table)).model_table == table

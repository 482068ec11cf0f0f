"""Both Lambdas: arm64, Python, the Web Adapter layer and settings, explicit logs, SnapStart wiring."""

from __future__ import annotations

from typing import Any

from cdk.constants import (
    HEALTH_PATH,
    WEB_ADAPTER_ACCOUNT,
    WEB_ADAPTER_LAYER_NAME,
    WEB_ADAPTER_LAYER_VERSION,
    WEB_ADAPTER_PORT,
)
from chatbot_common.settings import Settings
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.helpers import flat


def _app_functions(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        logical_id: fn
        for logical_id, fn in synthesized.of_type("AWS::Lambda::Function").items()
        if fn["Properties"].get("Handler") == "run.sh"
    }


def test_both_functions_run_on_arm64_behind_the_web_adapter(synthesized: Synthesized) -> None:
    functions = _app_functions(synthesized)
    assert len(functions) == 2
    for fn in functions.values():
        props = fn["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.13"
        (layer,) = props["Layers"]
        layer_arn = flat(layer)
        # Region-correct: the layer ARN is built from the deploying region, not a fixed one.
        assert layer_arn == (
            "arn:${AWS::Partition}:lambda:${AWS::Region}:"
            f"{WEB_ADAPTER_ACCOUNT}:layer:{WEB_ADAPTER_LAYER_NAME}:{WEB_ADAPTER_LAYER_VERSION}"
        )
        env = props["Environment"]["Variables"]
        assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
        assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
        assert env["AWS_LWA_READINESS_CHECK_PATH"] == HEALTH_PATH
        assert env["AWS_LWA_PORT"] == env["PORT"] == str(WEB_ADAPTER_PORT)


def test_function_settings_are_ones_the_services_read(synthesized: Synthesized) -> None:
    for fn in _app_functions(synthesized).values():
        env = fn["Properties"]["Environment"]["Variables"]
        chatbot_keys = {key for key in env if key.startswith("CHATBOT_")}
        # Then: every CHATBOT_* variable is a Settings field (a typo would be silently ignored)
        fields = {f"CHATBOT_{name.upper()}" for name in Settings.model_fields}
        assert chatbot_keys <= fields, chatbot_keys - fields
        assert {"CHATBOT_TABLE_NAME", "CHATBOT_UPLOADS_BUCKET", "CHATBOT_WEB_ORIGIN"} <= chatbot_keys
        assert "CHATBOT_LOCAL_MODE" not in env, "local mode (fixed dev identity) must never be on in AWS"
        allowed = env["CHATBOT_ALLOWED_MODEL_IDS"].split(",")
        assert allowed == list(synthesized.config.allowed_models)
        assert env["CHATBOT_DEFAULT_MODEL_ID"] in allowed


def test_functions_log_to_their_own_log_group_with_retention(synthesized: Synthesized) -> None:
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")
    for fn in _app_functions(synthesized).values():
        ref = fn["Properties"]["LoggingConfig"]["LogGroup"]
        assert ref["Ref"] in log_groups


def test_every_log_group_has_a_retention(synthesized: Synthesized) -> None:
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")
    assert len(log_groups) >= 4  # chat, upload, API access logs, web deployment
    for logical_id, group in log_groups.items():
        assert group["Properties"].get("RetentionInDays") == synthesized.config.log_retention_days, logical_id


# CDK's bucket auto-delete handler (dev stages only) takes no log group setting; it runs once,
# while the stack is being destroyed.
AUTO_DELETE_HANDLER = "CustomS3AutoDeleteObjectsCustomResourceProviderHandler"


def test_every_lambda_has_an_explicit_log_group(synthesized: Synthesized) -> None:
    for logical_id, fn in synthesized.of_type("AWS::Lambda::Function").items():
        if logical_id.startswith(AUTO_DELETE_HANDLER):
            continue
        assert "LogGroup" in fn["Properties"].get("LoggingConfig", {}), logical_id


def test_api_invokes_a_published_alias(synthesized: Synthesized) -> None:
    aliases = synthesized.of_type("AWS::Lambda::Alias")
    versions = synthesized.of_type("AWS::Lambda::Version")
    assert len(aliases) == 2
    for alias in aliases.values():
        version_ref = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert version_ref in versions


def test_snap_start_is_off_by_default_for_zero_idle_cost(synthesized: Synthesized) -> None:
    assert synthesized.config.snap_start is False
    for fn in _app_functions(synthesized).values():
        assert "SnapStart" not in fn["Properties"]
        variables = fn["Properties"]["Environment"]["Variables"]
        assert "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH" not in variables
        assert "CHATBOT_SNAPSTART_HOOKS" not in variables

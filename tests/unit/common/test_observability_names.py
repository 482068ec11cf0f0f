"""The metric and service names the Lambdas emit are the ones the stack's dashboard and alarms use."""

from __future__ import annotations

import json

import pytest

from cdk import constants
from chatbot_common import observability_names as names
from lambda_chat.adapters.metrics import emit_call_metrics, emit_model_throttle
from lambda_chat.domain.entities import CallRecord


def test_the_stack_uses_the_names_the_lambdas_import() -> None:
    for name in (
        "METRICS_NAMESPACE",
        "CHAT_SERVICE_NAME",
        "UPLOAD_SERVICE_NAME",
        "METRIC_INPUT_TOKENS",
        "METRIC_OUTPUT_TOKENS",
        "METRIC_MODEL_LATENCY",
        "METRIC_MODEL_THROTTLES",
    ):
        assert getattr(constants, name) == getattr(names, name), name


def test_emitted_metrics_carry_the_stack_s_namespace_service_and_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    emit_call_metrics(CallRecord("c", "u", None, "m", 1, 2, 3, "complete", None, "2026-01-01T00:00:00.000Z"))
    emit_model_throttle("m")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]

    emitted = {metric["Name"] for line in lines for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {line["_aws"]["CloudWatchMetrics"][0]["Namespace"] for line in lines} == {
        constants.METRICS_NAMESPACE
    }
    assert {line["service"] for line in lines} == {constants.CHAT_SERVICE_NAME}
    assert emitted == {
        constants.METRIC_INPUT_TOKENS,
        constants.METRIC_OUTPUT_TOKENS,
        constants.METRIC_MODEL_LATENCY,
        constants.METRIC_MODEL_THROTTLES,
    }

from __future__ import annotations

import json

import pytest

from lambda_chat.adapters.metrics import emit_call_metrics, emit_model_throttle
from lambda_chat.domain.entities import CallRecord


def emf_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and "_aws" in line]


def test_call_metrics_are_emf_lines_matching_the_dashboard(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    record = CallRecord(
        "c", "u", "conv", "us.amazon.nova-lite-v1:0", 12, 34, 567, "complete", "r", "2026-01-01T00:00:00.000Z"
    )
    emit_call_metrics(record)
    emit_model_throttle("us.amazon.nova-lite-v1:0")
    calls, throttles = emf_lines(capsys.readouterr().out)

    directive = calls["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Chatbot"
    assert sorted(directive["Dimensions"][0]) == ["model", "service"]
    assert {m["Name"] for m in directive["Metrics"]} == {"InputTokens", "OutputTokens", "ModelLatency"}
    assert (calls["service"], calls["model"]) == ("chat", "us.amazon.nova-lite-v1:0")
    assert (calls["InputTokens"], calls["OutputTokens"], calls["ModelLatency"]) == ([12.0], [34.0], [567.0])
    assert throttles["ModelThrottles"] == [1.0]

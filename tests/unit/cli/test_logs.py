"""cli.logs: where the call log and log group are found, and tailing CloudWatch Logs."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cli.logs import LogsError, resolve_log_group, resolve_table, tail_log_group


class TestResolveTable:
    def test_explicit_table_and_endpoint_win(self, tmp_path: Path) -> None:
        target = resolve_table(
            table="t",
            endpoint_url="http://127.0.0.1:1",
            region=None,
            stack_name=None,
            state_dir=tmp_path,
            environ={},
        )
        assert (target.table, target.endpoint_url) == ("t", "http://127.0.0.1:1")

    def test_running_local_stack_is_found_through_its_endpoints_file(self, tmp_path: Path) -> None:
        (tmp_path / "endpoints.json").write_text(
            json.dumps({"moto": "http://127.0.0.1:5555", "table": "chatbot-local", "region": "us-east-1"})
        )
        target = resolve_table(
            table=None, endpoint_url=None, region=None, stack_name=None, state_dir=tmp_path, environ={}
        )
        assert (target.table, target.endpoint_url, target.region) == (
            "chatbot-local",
            "http://127.0.0.1:5555",
            "us-east-1",
        )

    def test_environment_table_beats_the_local_stack(self, tmp_path: Path) -> None:
        (tmp_path / "endpoints.json").write_text(
            json.dumps({"moto": "http://127.0.0.1:5555", "table": "local"})
        )
        target = resolve_table(
            table=None,
            endpoint_url=None,
            region=None,
            stack_name=None,
            state_dir=tmp_path,
            environ={"CHATBOT_TABLE_NAME": "prod-table"},
        )
        assert (target.table, target.endpoint_url) == ("prod-table", None)

    def test_stack_output_names_the_table(self, tmp_path: Path) -> None:
        target = resolve_table(
            table=None,
            endpoint_url=None,
            region="eu-west-1",
            stack_name="Chatbot-dev",
            state_dir=tmp_path,
            environ={},
            cloudformation=FakeCloudFormation({"TableName": "deployed"}),
        )
        assert target.table == "deployed"

    def test_nothing_configured_explains_the_options(self, tmp_path: Path) -> None:
        with pytest.raises(LogsError, match="make run") as raised:
            resolve_table(
                table=None, endpoint_url=None, region=None, stack_name=None, state_dir=tmp_path, environ={}
            )
        # A stack started with another STATE_DIR is found with --state-dir: the error says where
        # it looked and how
        assert str(tmp_path) in str(raised.value) and "--state-dir" in str(raised.value)


class FakeCloudFormation:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {
            "Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]
        }


def test_log_group_comes_from_the_stack_outputs() -> None:
    cfn = FakeCloudFormation({"ChatLogGroup": "/aws/lambda/chat", "UploadLogGroup": "/aws/lambda/upload"})
    assert resolve_log_group("upload", "Chatbot-dev", cloudformation=cfn) == "/aws/lambda/upload"
    with pytest.raises(LogsError, match="--log-group"):
        resolve_log_group("chat", "Chatbot-dev", cloudformation=FakeCloudFormation({}))


class FakeLogs:
    """Two polls: the second repeats one event (overlap window) and adds a new one over two pages."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        first = {"eventId": "1", "timestamp": 1_700_000_000_000, "message": '{"message": "request"}\n'}
        if len(self.calls) == 1:
            return {"events": [first]}
        if "nextToken" not in params:
            return {"events": [first], "nextToken": "p2"}
        return {"events": [{"eventId": "2", "timestamp": 1_700_000_001_000, "message": "second"}]}


def test_tail_prints_each_event_once_and_follows_pages() -> None:
    logs, out = FakeLogs(), io.StringIO()
    sleeps: list[float] = []
    since = datetime(2023, 11, 14, tzinfo=UTC)
    printed = tail_log_group(
        logs,
        "/aws/lambda/chat",
        since=since,
        out=out,
        filter_pattern="ERROR",
        sleep=sleeps.append,
        max_polls=2,
    )
    assert printed == 2
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ['{"message": "request"}', "second"]
    assert logs.calls[0] == {
        "logGroupName": "/aws/lambda/chat",
        "startTime": int(since.timestamp() * 1000),
        "filterPattern": "ERROR",
    }
    assert sleeps == [2.0]

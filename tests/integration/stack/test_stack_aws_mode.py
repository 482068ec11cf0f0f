"""`--aws`: the same apps on real AWS. Only the configuration is checked here; nothing calls AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.runner import LocalStack, StackError

AWS_ENV = {"AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy", "AWS_REGION": "eu-west-1"}


@pytest.fixture
def aws_like_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK", raising=False)


def test_aws_mode_needs_the_deployed_table_and_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHATBOT_TABLE_NAME", raising=False)
    monkeypatch.delenv("CHATBOT_UPLOADS_BUCKET", raising=False)
    with pytest.raises(StackError, match="--table and --bucket"):
        LocalStack(state_dir=tmp_path, use_aws=True)


def test_aws_mode_sets_no_endpoint_override(tmp_path: Path, aws_like_env: None) -> None:
    stack = LocalStack(
        state_dir=tmp_path, use_aws=True, table_name="Chatbot-dev-Table", uploads_bucket="up-bkt"
    )
    stack._configure_aws()
    env = stack.env
    assert env["CHATBOT_TABLE_NAME"] == "Chatbot-dev-Table"
    assert env["CHATBOT_UPLOADS_BUCKET"] == "up-bkt"
    assert env["CHATBOT_REGION"] == "eu-west-1"
    assert not [name for name in env if name.startswith("AWS_")]
    assert stack.clients is not None
    assert stack.clients.dynamodb.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"


def test_aws_mode_refuses_an_endpoint_override(
    tmp_path: Path, aws_like_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    stack = LocalStack(state_dir=tmp_path, use_aws=True, table_name="t-1", uploads_bucket="b-1")
    with pytest.raises(StackError, match="unset AWS_ENDPOINT_URL_DYNAMODB"):
        stack._configure_aws()


def test_runner_arguments_and_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from local_stack.__main__ import build_parser

    monkeypatch.setenv("PORT", "9123")
    monkeypatch.delenv("CHATBOT_STATE_DIR", raising=False)
    args = build_parser().parse_args([])
    assert (args.port, args.host, str(args.state_dir), args.model, args.aws) == (
        9123,
        "127.0.0.1",
        ".state",
        "embedded",
        False,
    )
    args = build_parser().parse_args(["--model", "scripted", "--no-persist", "--port", "0"])
    assert (args.model, args.no_persist, args.port) == ("scripted", True, 0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--model", "gpt"])

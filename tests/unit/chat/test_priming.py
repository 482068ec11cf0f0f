"""Start-up priming sends nothing, writes nothing, and never stops start-up."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from chatbot_common.errors import UpstreamError
from lambda_chat.adapters.bedrock_models import BedrockChatModel
from lambda_chat.adapters.offline_calls import PRIMING_ONLY, offline_calls, offline_responses
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.entities import ModelInfo
from lambda_chat.priming import (
    TURN_MODEL_BODIES,
    TURN_TABLE_BODIES,
    prime_dynamodb,
    prime_model_list,
    run_priming,
)
from tests.fakes.chat import MODEL_ID, FakeDirectory

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens; a request that went out would fail


def client(service: str) -> tuple[Any, list[str]]:
    """A client on an unreachable endpoint, and the operations it tried to send."""
    made = boto3.client(
        service,
        endpoint_url=UNREACHABLE,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    sent: list[str] = []
    made.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    return made, sent


def test_priming_the_model_request_streams_a_whole_turn_without_sending_it() -> None:
    runtime, sent = client("bedrock-runtime")
    control, control_sent = client("bedrock")
    model = BedrockChatModel(runtime, control, region="us-east-1", max_tokens=64)
    # When the model's request path is primed (twice: the canned events are not used up)
    chunks = model.prime("anthropic.claude-3-haiku-20240307-v1:0")
    assert model.prime("anthropic.claude-3-haiku-20240307-v1:0") == chunks
    # Then the turn streamed its text, tool-use parts, stop reason and usage, and nothing was sent
    assert chunks >= 5
    assert sent == [] and control_sent == []


def test_priming_dynamodb_serializes_every_chat_operation_without_sending_one() -> None:
    dynamodb, sent = client("dynamodb")
    prime_dynamodb(dynamodb, "chat-table")
    assert sent == []


def test_an_operation_without_an_offline_answer_fails_instead_of_reaching_aws() -> None:
    dynamodb, sent = client("dynamodb")
    with offline_calls(dynamodb, {"GetItem": {}}), pytest.raises(ClientError) as raised:
        dynamodb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
    assert raised.value.response["Error"]["Code"] == PRIMING_ONLY
    assert sent == []


def test_calls_after_the_block_go_out_as_usual() -> None:
    dynamodb, sent = client("dynamodb")
    with offline_calls(dynamodb, {"GetItem": {}}):
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    dynamodb.meta.config.retries = {"max_attempts": 0}
    with pytest.raises(Exception):  # noqa: B017 - any connection error: the point is it was sent
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert sent and sent[0].startswith(UNREACHABLE)


def test_offline_responses_are_signed_and_parsed_as_the_service_answers_and_never_sent() -> None:
    # Given clients on an endpoint where nothing listens, answered at botocore's before-send
    dynamodb, _ = client("dynamodb")
    runtime, _ = client("bedrock-runtime")
    signed: list[bytes] = []
    dynamodb.meta.events.register(
        "before-send.dynamodb", lambda request, **_: signed.append(request.headers["Authorization"])
    )
    with (
        offline_responses(dynamodb, TURN_TABLE_BODIES),
        offline_responses(runtime, TURN_MODEL_BODIES),
    ):
        # When a table read and a model stream are made
        item = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})
        response = runtime.converse_stream(
            modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}]
        )
        events = [next(iter(event)) for event in response["stream"]]
        # Then each was signed, and each canned body was parsed as the service's own would be
        assert signed and signed[0].startswith(b"AWS4-HMAC-SHA256 ")
        assert "Item" not in item and item["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert events == ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]
        # and an operation without a body is refused, offline
        with pytest.raises(ClientError) as raised:
            dynamodb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
        assert raised.value.response["Error"]["Code"] == PRIMING_ONLY


def test_a_failing_priming_step_is_logged_and_start_up_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("no such shape")

    timings = run_priming(
        Logger(service="priming-test"), {"broken": broken, "fine": lambda: ran.append("fine")}
    )
    assert ran == ["fine"]
    assert set(timings) == {"fine"}
    logged = capsys.readouterr().out
    assert "priming step failed" in logged and "no such shape" in logged


def test_the_serving_factory_freezes_the_start_up_heap() -> None:
    # Given a fresh interpreter with a deployment's environment and an AWS endpoint nobody serves
    import json
    import os
    import subprocess
    import sys

    code = (
        "import gc, json; from lambda_chat.app import serve_app; app = serve_app(); "
        "print(json.dumps([app.state.frozen_objects, gc.get_freeze_count(), sorted(app.state.priming_ms)]))"
    )
    # (no per-service endpoint another test's local stack left in the environment)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL_")},
        "CHATBOT_TABLE_NAME": "chat-table",
        "CHATBOT_UPLOADS_BUCKET": "chat-uploads",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": UNREACHABLE,
    }
    # When the serving factory builds the app
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    frozen, freeze_count, steps = json.loads(out.stdout.strip().splitlines()[-1])
    # Then the app was primed and everything alive at start-up sits in the permanent generation
    # (the model list, read from an endpoint where nothing listens, failed and was skipped)
    assert steps == ["dynamodb requests", "event loop", "model request", "routes"]
    assert frozen == freeze_count > 50_000


def test_the_model_list_is_loaded_at_start_up_and_the_first_request_reuses_it() -> None:
    directory = FakeDirectory()
    catalog = ModelCatalog(directory, default_model_id=MODEL_ID)
    assert prime_model_list(catalog.models) is True
    assert directory.calls == 1
    assert [m.id for m in catalog.models()] == list(directory.ids)
    assert directory.calls == 1  # the first request's read is served from the list loaded at start-up


def test_a_slow_model_list_does_not_hold_start_up_and_is_fetched_once() -> None:
    release = threading.Event()

    class SlowDirectory(FakeDirectory):
        def list_models(self) -> list[ModelInfo]:
            release.wait(30)
            return super().list_models()

    directory = SlowDirectory()
    catalog = ModelCatalog(directory, default_model_id=MODEL_ID)
    assert prime_model_list(catalog.models, budget_seconds=0.01) is False  # start-up goes on
    release.set()
    assert [m.id for m in catalog.models()] == list(directory.ids)  # waits for the same fetch
    assert directory.calls == 1


def test_a_failing_model_list_is_reported_to_priming_and_fetched_again_by_the_first_request() -> None:
    class DownDirectory(FakeDirectory):
        def list_models(self) -> list[ModelInfo]:
            if self.calls == 0:
                self.calls += 1
                raise UpstreamError("control plane down")
            return super().list_models()

    directory = DownDirectory()
    catalog = ModelCatalog(directory, default_model_id=MODEL_ID)
    timings = run_priming(Logger(service="test"), {"model list": partial(prime_model_list, catalog.models)})
    assert "model list" not in timings  # logged and skipped
    assert [m.id for m in catalog.models()] == list(directory.ids)

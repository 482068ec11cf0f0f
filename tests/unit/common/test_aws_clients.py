"""The shared boto3 client factory: retry settings and explicit endpoints (no environment)."""

from __future__ import annotations

import pytest

from chatbot_common.aws_clients import BEDROCK_CONFIG, create_clients


def test_botocore_retries_are_off_for_bedrock_so_only_ours_apply() -> None:
    assert BEDROCK_CONFIG.retries == {"total_max_attempts": 1, "mode": "standard"}


def test_endpoints_and_credentials_are_passed_not_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an environment that points elsewhere
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    endpoints = {"dynamodb": "http://127.0.0.1:4566", "bedrock-runtime": "http://127.0.0.1:4567"}

    # When the factory is given endpoints and credentials
    clients = create_clients(
        "eu-west-1",
        endpoint_urls=endpoints,
        credentials={"aws_access_key_id": "k", "aws_secret_access_key": "s"},
    )

    # Then each client uses them, and a service without an override keeps AWS's own endpoint
    assert clients.dynamodb.meta.endpoint_url == "http://127.0.0.1:4566"
    assert clients.bedrock_runtime.meta.endpoint_url == "http://127.0.0.1:4567"
    assert clients.s3.meta.region_name == "eu-west-1"
    assert clients.dynamodb._request_signer._credentials.access_key == "k"


def test_an_endpoint_for_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="sqs"):
        create_clients("us-east-1", endpoint_urls={"sqs": "http://127.0.0.1:1"})


def test_only_the_bedrock_runtime_client_leaves_request_validation_to_the_service() -> None:
    # Bedrock (and the local runtime) validate each Converse request; DynamoDB requests keep
    # botocore's client-side validation. A request botocore would refuse (text given as a number) reaches the
    # `before-call` stage (answered there, offline) only when the client does not validate.
    from botocore.exceptions import ParamValidationError

    from lambda_chat.adapters.offline_calls import offline_calls

    credentials = {"aws_access_key_id": "k", "aws_secret_access_key": "s"}
    clients = create_clients("us-east-1", credentials=credentials)
    runtime, dynamodb = clients.bedrock_runtime, clients.dynamodb
    with offline_calls(runtime, {"Converse": {"stopReason": "end_turn"}}):
        answer = runtime.converse(modelId="m", messages=[{"role": "user", "content": [{"text": 42}]}])
    assert answer["stopReason"] == "end_turn"
    with offline_calls(dynamodb, {"GetItem": {}}), pytest.raises(ParamValidationError):
        dynamodb.get_item(TableName="t", Key="not a map")

"""Faults a real deploy would hit, each pinned by the template (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from pydantic import ValidationError

from cdk.request_models import api_gateway_schema, body_models
from lambda_chat.schemas import ChatRequest
from lambda_upload.app import CreateUploadRequest
from tests.infrastructure.conftest import Synthesized, synthesize
from tests.infrastructure.helpers import methods

# Request bodies exactly as the web client builds them (web_client/src/main.js send(),
# web_client/src/uploads.js uploadFile()); JSON.stringify drops keys whose value is undefined.
WEB_CLIENT_CHAT_BODIES: list[dict[str, Any]] = [
    {"message": "Hello", "model": "us.amazon.nova-lite-v1:0"},
    {"message": "Hello", "model": "us.amazon.nova-lite-v1:0", "system": "Answer briefly."},
    {
        "message": "And then?",
        "model": "us.amazon.nova-lite-v1:0",
        "conversationId": "01hzy6k2v3c4d5e6f7g8h9j0ka",
    },
    # an image with a preset and no text: message is ""
    {
        "message": "",
        "model": "us.amazon.nova-lite-v1:0",
        "attachments": ["01hzy6k2v3c4d5e6f7g8h9j0ka"],
        "preset": "caption",
    },
    {"message": "Describe this image.", "attachments": ["01hzy6k2v3c4d5e6f7g8h9j0ka"]},
]
WEB_CLIENT_UPLOAD_BODIES: list[dict[str, Any]] = [
    {"filename": "report.pdf", "contentType": "application/pdf", "size": 48213, "purpose": "document"},
    {"filename": "photo.png", "contentType": "image/png", "size": 1024, "purpose": "image"},
]


def _model_schema(synthesized: Synthesized, method: str, path: str) -> dict[str, Any]:
    for m, p, props in methods(synthesized.resources):
        if (m, p) == (method, path):
            ref = props["RequestModels"]["application/json"]["Ref"]
            schema: dict[str, Any] = synthesized.resources[ref]["Properties"]["Schema"]
            return schema
    raise AssertionError(f"no {method} {path}")


def test_request_models_are_generated_from_the_apps_pydantic_schemas(synthesized: Synthesized) -> None:
    for (method, path), (_name, schema) in body_models().items():
        deployed = _model_schema(synthesized, method, path)
        assert deployed == schema
        assert deployed["$schema"] == "http://json-schema.org/draft-04/schema#"
        Draft4Validator.check_schema(deployed)
    assert _model_schema(synthesized, "POST", "/chat") == api_gateway_schema(ChatRequest)


@pytest.mark.parametrize("body", WEB_CLIENT_CHAT_BODIES)
def test_web_client_chat_bodies_pass_the_api_model_and_the_app(synthesized: Synthesized, body: dict) -> None:
    Draft4Validator(_model_schema(synthesized, "POST", "/chat")).validate(body)
    ChatRequest.model_validate(body)


@pytest.mark.parametrize("body", WEB_CLIENT_UPLOAD_BODIES)
def test_web_client_upload_bodies_pass_the_api_model_and_the_app(
    synthesized: Synthesized, body: dict
) -> None:
    Draft4Validator(_model_schema(synthesized, "POST", "/uploads")).validate(body)
    CreateUploadRequest.model_validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"filename": "a.pdf", "contentType": "application/pdf", "size": 1, "purpose": "video"},
        {"filename": "a.pdf", "contentType": "application/pdf", "size": "1", "purpose": "document"},
    ],
)
def test_what_the_app_refuses_the_api_model_refuses_too(synthesized: Synthesized, body: dict) -> None:
    assert list(Draft4Validator(_model_schema(synthesized, "POST", "/uploads")).iter_errors(body))
    with pytest.raises(ValidationError):
        CreateUploadRequest.model_validate(body, strict=True)


def test_an_unknown_field_passes_the_api_model_for_the_app_to_name(synthesized: Synthesized) -> None:
    # API Gateway's refusal cannot name the field; the app's 400 does ("x: not a field of this request")
    for method, path, body in [
        ("POST", "/uploads", {**WEB_CLIENT_UPLOAD_BODIES[0], "x": 1}),
        ("POST", "/chat", {"message": "hi", "conversationID": "01hzy6k2v3c4d5e6f7g8h9j0ka"}),
    ]:
        Draft4Validator(_model_schema(synthesized, method, path)).validate(body)
    with pytest.raises(ValidationError, match="x"):
        CreateUploadRequest.model_validate({**WEB_CLIENT_UPLOAD_BODIES[0], "x": 1})


def test_log_groups_go_with_a_dev_stage_and_keep_stable_names(synthesized: Synthesized) -> None:
    # Given the dev stage: `cdk destroy` then `cdk deploy` must not meet "log group already exists"
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")
    assert len(log_groups) >= 4
    for logical_id, group in log_groups.items():
        assert group.get("DeletionPolicy") == "Delete", logical_id
        assert group.get("UpdateReplacePolicy") == "Delete", logical_id
    names = {g["Properties"].get("LogGroupName") for g in log_groups.values()} - {None}
    assert {"/aws/lambda/chatbot-dev-chat", "/aws/lambda/chatbot-dev-upload"} <= names
    assert "/aws/apigateway/chatbot-dev-access" in names


def test_nothing_named_outlives_a_dev_stack(synthesized: Synthesized) -> None:
    # Every resource with a fixed name is deleted with the stack, or a redeploy collides with it.
    named = {"TableName", "BucketName", "LogGroupName", "UserPoolName", "FunctionName"}
    for logical_id, resource in synthesized.resources.items():
        if named & set(resource.get("Properties", {})):
            assert resource.get("DeletionPolicy", "Delete") == "Delete", logical_id


def test_prod_keeps_its_log_groups(tmp_path: Path) -> None:
    prod = synthesize(tmp_path, stage="prod")
    for logical_id, group in prod.of_type("AWS::Logs::LogGroup").items():
        assert group["DeletionPolicy"] == "Retain", logical_id


def test_gateway_responses_answer_with_the_documented_status(synthesized: Synthesized) -> None:
    by_type = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synthesized.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    documented = {
        "unauthenticated": "401",
        "not_found": "404",
        "throttled": "429",
        "payload_too_large": "413",
    }
    checked = 0
    for response_type, props in by_type.items():
        body = json.loads(
            props["ResponseTemplates"]["application/json"].replace("$context.error.messageString", '"x"')
        )
        code = body["error"]["code"]
        if code in documented:
            assert props.get("StatusCode") == documented[code], response_type
            checked += 1
    assert by_type["ACCESS_DENIED"]["StatusCode"] == "401"
    assert by_type["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert checked >= 5


def test_web_deployment_does_not_wait_for_the_invalidation(synthesized: Synthesized) -> None:
    (deployment,) = synthesized.of_type("Custom::CDKBucketDeployment").values()
    assert deployment["Properties"]["DistributionId"]
    assert deployment["Properties"]["WaitForDistributionInvalidation"] is False


# What web_client/src/compare.js sends: a new comparison, and a follow-up.
WEB_CLIENT_COMPARE_BODIES = [
    {
        "message": "Rain?",
        "lanes": [{"inferenceConfig": {"temperature": 0.2}}, {"inferenceConfig": {"temperature": 1}}],
    },
    {
        "message": "Rain?",
        "lanes": [{"model": "us.amazon.nova-lite-v1:0"}, {"model": "us.amazon.nova-pro-v1:0"}],
    },
    {"message": "And snow?", "comparisonId": "01m8yn54x7ptzwq6db9n66z16s"},
]


@pytest.mark.parametrize("body", WEB_CLIENT_COMPARE_BODIES)
def test_web_client_compare_bodies_pass_the_api_model_and_the_app(
    synthesized: Synthesized, body: dict
) -> None:
    from lambda_chat.schemas import CompareRequest

    Draft4Validator(_model_schema(synthesized, "POST", "/compare")).validate(body)
    CompareRequest.model_validate(body)

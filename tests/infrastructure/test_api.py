"""The REST API: routes, authorizer on every non-public method, STREAM integrations, logs, throttling."""

from __future__ import annotations

from cdk.constants import API_STAGE_NAME, CHAT, PUBLIC_ROUTES, ROUTES, UPLOAD
from chatbot_common.snapstart import BEFORE_CHECKPOINT_PATH
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.helpers import flat, methods


def _route_targets() -> dict[tuple[str, str], str]:
    return {(method, path): target for method, path, target in ROUTES}


def test_given_the_stack_then_it_exposes_exactly_the_contract_routes(synthesized: Synthesized) -> None:
    # When
    exposed = {(method, path) for method, path, _ in methods(synthesized.resources)}
    # Then: every route of docs/api.md, nothing else (no stray ANY or OPTIONS methods), and never
    # the app's SnapStart hook, which only the Web Adapter inside the function calls
    assert exposed == set(_route_targets())
    assert not [path for _, path in exposed if path.startswith(BEFORE_CHECKPOINT_PATH.rsplit("/", 1)[0])]


def test_every_method_except_health_requires_the_cognito_authorizer(synthesized: Synthesized) -> None:
    assert {("GET", "/health")} == PUBLIC_ROUTES  # the OpenAPI document too needs a token
    authorizers = synthesized.of_type("AWS::ApiGateway::Authorizer")
    assert len(authorizers) == 1
    (authorizer_id, authorizer), *_ = authorizers.items()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"

    checked = 0
    for method, path, props in methods(synthesized.resources):
        if (method, path) in PUBLIC_ROUTES or method == "OPTIONS":
            assert props["AuthorizationType"] == "NONE", (method, path)
            continue
        assert props["AuthorizationType"] == "COGNITO_USER_POOLS", (method, path)
        assert props["AuthorizerId"] == {"Ref": authorizer_id}, (method, path)
        checked += 1
    assert checked == len(ROUTES) - len(PUBLIC_ROUTES)


def test_chat_routes_stream_through_the_live_alias(synthesized: Synthesized) -> None:
    targets = _route_targets()
    for method, path, props in methods(synthesized.resources):
        integration = props["Integration"]
        uri = flat(integration["Uri"])
        # Then: Lambda proxy, streamed (SSE past 29 s), via InvokeWithResponseStream on the alias
        assert integration["Type"] == "AWS_PROXY"
        assert integration["ResponseTransferMode"] == "STREAM", (method, path)
        assert uri.endswith("/response-streaming-invocations"), uri
        is_chat = targets[(method, path)] == CHAT
        expected_alias = "ChatFunctionLiveAlias" if is_chat else "UploadFunctionLiveAlias"
        assert expected_alias in uri, (method, path, uri)
        if is_chat:
            assert integration["TimeoutInMillis"] == synthesized.config.limits.chat_timeout_seconds * 1000
    assert UPLOAD in targets.values()


def test_requests_are_validated_and_bodies_have_models(synthesized: Synthesized) -> None:
    validators = synthesized.of_type("AWS::ApiGateway::RequestValidator")
    assert len(validators) == 1
    (validator_id, validator), *_ = validators.items()
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    for method, path, props in methods(synthesized.resources):
        assert props["RequestValidatorId"] == {"Ref": validator_id}, (method, path)
        if "{" in path:
            assert any(key.startswith("method.request.path.") for key in props["RequestParameters"])
        if (method, path) in {("POST", "/chat"), ("POST", "/uploads")}:
            assert "application/json" in props["RequestModels"]


def test_stage_has_json_access_logs_and_throttling(synthesized: Synthesized) -> None:
    (stage,) = synthesized.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == API_STAGE_NAME
    access_log = props["AccessLogSetting"]
    assert access_log["Format"].startswith("{")
    assert '"requestId":"$context.requestId"' in access_log["Format"]
    (method_settings,) = props["MethodSettings"]
    limits = synthesized.config.limits
    assert method_settings["ThrottlingRateLimit"] == limits.api_rate_limit
    assert method_settings["ThrottlingBurstLimit"] == limits.api_burst_limit
    assert method_settings["LoggingLevel"] == "ERROR"
    assert method_settings.get("DataTraceEnabled") is False
    # detailed per-method metrics would bill as custom metrics; the dashboard uses the free ones
    assert method_settings.get("MetricsEnabled") is False


def test_gateway_errors_use_the_contract_error_shape(synthesized: Synthesized) -> None:
    responses = synthesized.of_type("AWS::ApiGateway::GatewayResponse").values()
    by_type = {r["Properties"]["ResponseType"]: r["Properties"] for r in responses}
    assert {"UNAUTHORIZED", "THROTTLED", "BAD_REQUEST_BODY", "DEFAULT_5XX"} <= set(by_type)
    unauthorized = by_type["UNAUTHORIZED"]["ResponseTemplates"]["application/json"]
    assert unauthorized.startswith('{"error": {"code": "unauthenticated", "message": "')

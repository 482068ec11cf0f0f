"""CloudFront (OAC, /api routing, headers), Cognito (PKCE client, managed login), monitoring."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from cdk.constants import API_STAGE_NAME, WEB_API_PREFIX
from cdk.web_hosting import STRIP_API_PREFIX_JS
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.helpers import flat

# Managed policy ids (AWS-wide constants).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _distribution(synthesized: Synthesized) -> dict[str, Any]:
    (dist,) = synthesized.of_type("AWS::CloudFront::Distribution").values()
    return dist["Properties"]["DistributionConfig"]


def test_static_site_comes_from_a_private_bucket_through_origin_access_control(
    synthesized: Synthesized,
) -> None:
    config = _distribution(synthesized)
    assert config["DefaultRootObject"] == "index.html"
    s3_origins = [o for o in config["Origins"] if "S3OriginConfig" in o]
    (origin,) = s3_origins
    assert "OriginAccessControlId" in origin
    assert origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_api_prefix_routes_to_the_api_stage_uncached_with_auth_headers(synthesized: Synthesized) -> None:
    config = _distribution(synthesized)
    (behavior,) = config["CacheBehaviors"]
    assert behavior["PathPattern"] == f"{WEB_API_PREFIX}/*"
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    # Forwards Authorization and Accept (everything but Host) when caching is disabled.
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(behavior["AllowedMethods"]) >= {"GET", "POST", "PATCH", "DELETE", "OPTIONS"}
    assert behavior["Compress"] is False
    origin = next(o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"])
    assert origin["OriginPath"] == f"/{API_STAGE_NAME}"
    assert ".execute-api." in flat(origin["DomainName"])
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (association,) = behavior["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"


def test_strip_function_maps_api_paths_onto_the_stage_root(synthesized: Synthesized) -> None:
    (fn,) = synthesized.of_type("AWS::CloudFront::Function").values()
    assert fn["Properties"]["FunctionCode"] == STRIP_API_PREFIX_JS
    assert fn["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_security_headers_are_set(synthesized: Synthesized) -> None:
    (policy,) = synthesized.of_type("AWS::CloudFront::ResponseHeadersPolicy").values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = flat(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert ".amazoncognito.com" in csp  # managed login token endpoint
    assert "-uploads-" in csp and ".s3." in csp  # presigned POST straight to the uploads bucket
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"


def test_runtime_config_is_written_at_deploy_time(synthesized: Synthesized) -> None:
    (deployment,) = synthesized.of_type("Custom::CDKBucketDeployment").values()
    props = deployment["Properties"]
    markers = flat(props.get("SourceMarkers", ""))
    # config.json's deploy-time values: user pool, client, login domain, redirect URI.
    for reference in ("AuthUserPool", "AuthUserPoolWebClient", "WebHostingDistribution"):
        assert reference in markers, reference
    assert props["DistributionPaths"] == ["/*"]


def test_user_pool_is_admin_only_by_default_with_a_pkce_public_client(synthesized: Synthesized) -> None:
    (pool,) = synthesized.of_type("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    (client,) = synthesized.of_type("AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["GenerateSecret"] is False
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert "ALLOW_USER_PASSWORD_AUTH" not in props["ExplicitAuthFlows"]
    (callback,) = props["CallbackURLs"]
    assert flat(callback).startswith("https://${WebHostingDistribution")
    (domain,) = synthesized.of_type("AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["ManagedLoginVersion"] == 2
    assert synthesized.of_type("AWS::Cognito::ManagedLoginBranding")


def test_alarms_cover_5xx_and_throttling_and_notify_a_topic(synthesized: Synthesized) -> None:
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm").values()
    metrics = {a["Properties"].get("MetricName") for a in alarms}
    assert {"5XXError", "Throttles"} <= metrics
    # Bedrock throttles: a metric-math sum over the chat service's ModelThrottles series per model
    (model_alarm,) = [a for a in alarms if "Metrics" in a["Properties"]]
    queries = model_alarm["Properties"]["Metrics"]
    stats = [q["MetricStat"]["Metric"] for q in queries if "MetricStat" in q]
    assert {m["MetricName"] for m in stats} == {"ModelThrottles"}
    assert {m["Namespace"] for m in stats} == {"Chatbot"}
    models = {d["Value"] for m in stats for d in m["Dimensions"] if d["Name"] == "model"}
    assert models == set(synthesized.config.allowed_models)
    (topic_id,) = synthesized.of_type("AWS::SNS::Topic")
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_dashboard_shows_requests_errors_latency_and_tokens(synthesized: Synthesized) -> None:
    (dashboard,) = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    body = flat(dashboard["Properties"]["DashboardBody"])
    for needle in ("5XXError", "4XXError", "Latency", "p99", "Throttles", "InputTokens", "OutputTokens"):
        assert needle in body, needle


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront Function")
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/api/chat", "/chat"),
        ("/api/conversations/01jabc", "/conversations/01jabc"),
        ("/api", "/"),
        ("/index.html", "/index.html"),
        ("/apiary.js", "/apiary.js"),
    ],
)
def test_strip_function_rewrites_only_the_api_prefix(uri: str, expected: str) -> None:
    script = STRIP_API_PREFIX_JS + (
        f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);\n"
    )
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront Function")
def test_strip_function_drops_client_sent_identity_context() -> None:
    request = {
        "uri": "/api/chat",
        "headers": {
            "x-amzn-request-context": {"value": '{"authorizer": {"claims": {"sub": "someone-else"}}}'},
            "authorization": {"value": "token"},
        },
    }
    script = STRIP_API_PREFIX_JS + (
        f"\nprocess.stdout.write(JSON.stringify(handler({{request: {json.dumps(request)}}}).headers));\n"
    )
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(result.stdout) == {"authorization": {"value": "token"}}

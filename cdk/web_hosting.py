"""WebHosting: the static web client on private S3 behind CloudFront, with /api/* to API Gateway."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Aws, DefaultStackSynthesizer, Duration, Fn, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from cdk.bundling import REPO_ROOT
from cdk.config import ChatbotConfig
from cdk.constants import API_STAGE_NAME, DISTRIBUTION_ID, WEB_API_PREFIX, WEB_BUCKET_ID
from cdk.functions import log_retention
from cdk.nag import acknowledge, arn_ref, pseudo
from cdk.storage import private_bucket, removal_policy

WEB_DIST = REPO_ROOT / "web_client" / "dist"

# Viewer-request function: "/api/chat" reaches the API stage as "/chat". It also drops any
# client-sent copy of the headers the Web Adapter uses to pass API Gateway's (authorizer)
# context to the app: the adapter overwrites them, and this makes sure nothing else can.
STRIP_API_PREFIX_JS = f"""function handler(event) {{
  var request = event.request;
  var prefix = "{WEB_API_PREFIX}";
  if (request.uri === prefix) {{
    request.uri = "/";
  }} else if (request.uri.indexOf(prefix + "/") === 0) {{
    request.uri = request.uri.substring(prefix.length);
  }}
  if (request.headers) {{
    delete request.headers["x-amzn-request-context"];
    delete request.headers["x-amzn-lambda-context"];
  }}
  return request;
}}
"""

BUCKET_DEPLOYMENT_PREFIX = "Custom::CDKBucketDeployment"

PLACEHOLDER_INDEX = """<!doctype html><html><head><meta charset="utf-8"><title>Chatbot</title></head>
<body><p>The web client was not built when this stack was synthesized. Run <code>make web</code>
(or <code>make deploy</code>, which builds it) and deploy again.</p></body></html>
"""


class WebHosting(Construct):
    """CloudFront in front of the web bucket (origin access control) and of the API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatbotConfig,
        access_logs_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self,
            WEB_BUCKET_ID,
            config=config,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="web-bucket/",
        )
        self.strip_api_prefix = cloudfront.Function(
            self,
            "StripApiPrefix",
            code=cloudfront.FunctionCode.from_inline(STRIP_API_PREFIX_JS),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Maps /api/* onto the API stage root",
        )
        self._config = config
        self.distribution: cloudfront.Distribution | None = None

    def add_distribution(
        self, *, rest_api: apigateway.RestApi, auth_domain: str, uploads_bucket_name: str
    ) -> cloudfront.Distribution:
        """The distribution; separate from __init__ so the web origin exists before the API needs it."""
        csp = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                # highlight.js and marked emit inline style attributes.
                "style-src 'self' 'unsafe-inline'",
                # Images in history: short-lived presigned GETs of the uploads bucket (docs/api.md).
                f"img-src 'self' data: blob: https://{uploads_bucket_name}.s3.amazonaws.com "
                f"https://{uploads_bucket_name}.s3.{Aws.REGION}.amazonaws.com",
                # The browser posts uploads straight to S3 (global or regional endpoint form).
                f"connect-src 'self' https://{auth_domain} https://{uploads_bucket_name}.s3.amazonaws.com "
                f"https://{uploads_bucket_name}.s3.{Aws.REGION}.amazonaws.com",
                f"form-action 'self' https://{auth_domain}",
                "frame-ancestors 'none'",
                "base-uri 'self'",
                "object-src 'none'",
            ]
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="chatbot security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=csp, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
        )
        # Only the API id: referencing the stage would make the functions (which need the web
        # origin) depend on the deployment that depends on them.
        api_domain = Fn.join("", [rest_api.rest_api_id, ".execute-api.", Aws.REGION, ".", Aws.URL_SUFFIX])
        api_origin = origins.HttpOrigin(
            api_domain,
            origin_path=f"/{API_STAGE_NAME}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            # Time to the first byte (and between chunks); SSE keeps bytes flowing after that.
            read_timeout=Duration.seconds(60),
            keepalive_timeout=Duration.seconds(60),
        )
        config = self._config
        # The alternate domain name users open, if any; its DNS record (CNAME or alias to the
        # distribution) is the deployer's, see docs/deploy.md.
        certificate = (
            acm.Certificate.from_certificate_arn(self, "WebCertificate", config.web_certificate_arn)
            if config.web_domain_name
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            DISTRIBUTION_ID,
            comment=f"chatbot {self._config.stage}",
            domain_names=[config.web_domain_name] if certificate else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            additional_behaviors={
                f"{WEB_API_PREFIX}/*": cloudfront.BehaviorOptions(
                    origin=api_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # With caching disabled, this managed policy forwards Authorization and Accept
                    # (and everything else but Host, which must be the API's own host name).
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=headers,
                    # Compressing would buffer the event stream; the API answers are small anyway.
                    compress=False,
                    function_associations=[
                        cloudfront.FunctionAssociation(
                            function=self.strip_api_prefix,
                            event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                        )
                    ],
                )
            },
        )
        self._acknowledge_distribution(self.distribution)
        return self.distribution

    def _acknowledge_distribution(self, distribution: cloudfront.Distribution) -> None:
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "A chatbot for a team's own users; who may use it is decided by Cognito, not geography.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR2",
            "No WAF: a web ACL bills monthly whether or not anyone chats. The only dynamic path (/api) "
            "is authenticated and throttled at API Gateway.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR3",
            "Standard logging needs an ACL-enabled log bucket. API calls are logged by API Gateway "
            "access logs (JSON); static asset hits carry no user data.",
        )
        if not self._config.web_domain_name:
            acknowledge(
                distribution,
                "AwsSolutions-CFR4",
                "The distribution uses the default *.cloudfront.net certificate, for which CloudFront "
                "fixes the security policy (a minimum TLS version needs a custom domain: set "
                "webDomainName and webCertificateArn). Browsers negotiate TLS 1.2+ anyway; the API "
                "origin leg is TLS 1.2 only.",
            )

    def deploy_site(self, *, runtime_config: dict[str, object]) -> s3deploy.BucketDeployment:
        """Upload the built web client plus the deploy-time ``config.json``."""
        assert self.distribution is not None, "add_distribution first"
        sources = [s3deploy.Source.json_data("config.json", runtime_config)]
        if (WEB_DIST / "index.html").is_file():
            sources.insert(0, s3deploy.Source.asset(str(WEB_DIST)))
        else:
            Annotations.of(self).add_warning_v2(
                "chatbot:webClientMissing",
                f"{_relative(WEB_DIST)} has no index.html: deploying a placeholder page. Run `make web`.",
            )
            sources.insert(0, s3deploy.Source.data("index.html", PLACEHOLDER_INDEX))
        deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            # Explicit, so its logs expire like every other log group of the stack.
            log_group=logs.LogGroup(
                self,
                "DeploymentLogs",
                retention=log_retention(self._config.log_retention_days),
                removal_policy=removal_policy(self._config),
            ),
            destination_bucket=self.bucket,
            sources=sources,
            distribution=self.distribution,
            distribution_paths=["/*"],
            # Start the invalidation but do not wait for it: the waiter fails deploys now and then
            # ("Waiter InvalidationCompleted failed", aws-cdk issue 15891), and index.html and
            # config.json are served no-cache, so browsers revalidate them anyway.
            wait_for_distribution_invalidation=False,
            # Revalidate on every load: config.json and index.html change with each deploy.
            cache_control=[s3deploy.CacheControl.no_cache()],
            memory_limit=256,
            prune=True,
        )
        self._acknowledge_deployment()
        return deployment

    def _acknowledge_deployment(self) -> None:
        """The BucketDeployment handler (a stack-level singleton CDK creates) copies the built web
        client into the web bucket at deploy time; its code and policy are CDK's."""
        stack = Stack.of(self)
        handler = next(
            (child for child in stack.node.children if child.node.id.startswith(BUCKET_DEPLOYMENT_PREFIX)),
            None,
        )
        if handler is None:
            return
        # Rendered literally in an environment-specific stack (as `cdk deploy` synthesizes it).
        assets_bucket = (
            f"cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-"
            f"{pseudo(stack, 'AccountId')}-{pseudo(stack, 'Region')}"
        )
        reason_copy = (
            "CDK's BucketDeployment handler copies the web client from the CDK assets bucket into the "
            "web bucket and prunes old files; CDK generates this policy, scoped to those two buckets."
        )
        for finding in (
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{assets_bucket}/*]",
            f"AwsSolutions-IAM5[Resource::arn:{pseudo(stack, 'Partition')}:s3:::{assets_bucket}/*]",
            f"AwsSolutions-IAM5[Resource::{arn_ref(self.bucket.node.default_child)}/*]",
        ):
            acknowledge(handler, finding, reason_copy)
        acknowledge(
            handler,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudfront:CreateInvalidation after the copy; CloudFront invalidation takes no narrower "
            "resource in CDK's generated policy. Runs only during deployments.",
        )
        acknowledge(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's BucketDeployment handler role; the managed policy only lets it write its own logs.",
        )
        acknowledge(
            handler,
            "AwsSolutions-L1",
            "The BucketDeployment handler's runtime is chosen and tested by the CDK version in use; "
            "upgrading aws-cdk-lib upgrades it.",
        )


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)

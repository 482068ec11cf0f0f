"""Api: the REST API in front of both Lambdas (Cognito authorizer, validation, logs, throttling)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.config import ChatbotConfig
from cdk.constants import API_STAGE_NAME, CHAT, PUBLIC_ROUTES, REST_API_ID, ROUTES, UPLOAD
from cdk.functions import Functions, log_retention
from cdk.nag import acknowledge
from cdk.request_models import body_models
from cdk.storage import removal_policy

# Error bodies in the contract's shape ({"error": {"code", "message"}}) for answers that API
# Gateway gives itself, before any Lambda runs, with the status docs/api.md documents for that
# code (API Gateway's defaults are 403 for ACCESS_DENIED and MISSING_AUTHENTICATION_TOKEN).
# Messages are JSON literals; messageString is API Gateway's already-quoted message.
_MESSAGE_STRING = "$context.error.messageString"
_R = apigateway.ResponseType
GATEWAY_ERRORS: dict[apigateway.ResponseType, tuple[str | None, str, str]] = {
    # (status code or None for API Gateway's default, error code, message)
    _R.UNAUTHORIZED: ("401", "unauthenticated", '"Sign in first: the token is missing or expired."'),
    _R.ACCESS_DENIED: ("401", "unauthenticated", '"The token is not accepted for this request."'),
    _R.THROTTLED: ("429", "throttled", '"Too many requests; retry shortly."'),
    _R.BAD_REQUEST_BODY: ("400", "invalid_request", '"The request body does not match the API contract."'),
    _R.BAD_REQUEST_PARAMETERS: ("400", "invalid_request", '"A required request parameter is missing."'),
    _R.REQUEST_TOO_LARGE: ("413", "payload_too_large", '"The request body is too large."'),
    # API Gateway answers an unknown path or method with "Missing Authentication Token".
    _R.MISSING_AUTHENTICATION_TOKEN: ("404", "not_found", '"No such route."'),
    _R.DEFAULT_4_XX: (None, "invalid_request", _MESSAGE_STRING),
    _R.DEFAULT_5_XX: (None, "internal_error", _MESSAGE_STRING),
}


class Api(Construct):
    """REST API; every route is a Lambda proxy in STREAM transfer mode (SSE past 29 s)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatbotConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/chatbot-{config.stage}-access",
            retention=log_retention(config.log_retention_days),
            removal_policy=removal_policy(config),
        )
        self.rest_api = apigateway.RestApi(
            self,
            REST_API_ID,
            rest_api_name=f"chatbot-{config.stage}",
            description="Serverless Bedrock chatbot API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Execution logs need the account-level CloudWatch role.
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=API_STAGE_NAME,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                # Per-method detailed metrics bill as custom metrics; the API-level ones are free.
                metrics_enabled=False,
                throttling_rate_limit=config.limits.api_rate_limit,
                throttling_burst_limit=config.limits.api_burst_limit,
            ),
        )
        for response_type, (status, code, message) in GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                f"Gateway{response_type.response_type}",
                type=response_type,
                status_code=status,
                templates={"application/json": f'{{"error": {{"code": "{code}", "message": {message}}}}}'},
            )
        self._body_models = body_models()
        acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway needs to write execution logs; AWS's managed policy is "
            "the documented, log-only policy for it.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "No WAF: a web ACL bills monthly whether or not anyone chats, against the no-idle-cost goal. "
            "Every route but /health needs a Cognito token and the stage is throttled.",
        )
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )

    def add_routes(self, *, functions: Functions, user_pool: cognito.IUserPool) -> None:
        """Every route of the contract; all but the public ones behind the Cognito authorizer."""
        config = self._config
        self.authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            identity_source=apigateway.IdentitySource.header("Authorization"),
            results_cache_ttl=Duration.minutes(5),
        )
        integrations = {
            CHAT: self._integration(functions.chat.alias, config.limits.chat_timeout_seconds),
            UPLOAD: self._integration(functions.upload.alias, config.limits.upload_timeout_seconds),
        }
        for method, path, target in ROUTES:
            self._add_route(method, path, integrations[target])
        reasons = {
            "health": 'GET /health is public by design (readiness probe, answers {"status": "ok"} and '
            "reads no data); every other method uses the Cognito authorizer (tested).",
        }
        for _, path in sorted(PUBLIC_ROUTES):
            resource = self.rest_api.root.get_resource(path.strip("/"))
            assert resource is not None, path
            for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                acknowledge(resource, rule, reasons[path.strip("/")])

    @staticmethod
    def _integration(handler: lambda_.IFunction, timeout_seconds: int) -> apigateway.LambdaIntegration:
        return apigateway.LambdaIntegration(
            handler,
            proxy=True,
            allow_test_invoke=False,
            # STREAM: API Gateway relays the Web Adapter's chunks as they come (SSE), and the
            # integration may run past the 29 s buffered limit, up to 15 minutes.
            response_transfer_mode=apigateway.ResponseTransferMode.STREAM,
            timeout=Duration.seconds(timeout_seconds),
        )

    def _add_route(self, method: str, path: str, integration: apigateway.Integration) -> None:
        resource = self.rest_api.root.resource_for_path(path)
        path_params = {
            f"method.request.path.{segment[1:-1]}": True
            for segment in path.split("/")
            if segment.startswith("{")
        }
        models: dict[str, apigateway.IModel] = {}
        if (method, path) in self._body_models:
            name, schema = self._body_models[(method, path)]
            model = self.rest_api.add_model(
                name,
                model_name=name,
                # Placeholder replaced by the generated schema below (the typed JsonSchema struct
                # cannot carry draft 4's type lists).
                schema=apigateway.JsonSchema(schema=apigateway.JsonSchemaVersion.DRAFT4),
            )
            cfn_model = model.node.default_child
            assert isinstance(cfn_model, apigateway.CfnModel)
            cfn_model.add_property_override("Schema", schema)
            models["application/json"] = model
        public = (method, path) in PUBLIC_ROUTES
        resource.add_method(
            method,
            integration,
            authorization_type=apigateway.AuthorizationType.NONE
            if public
            else apigateway.AuthorizationType.COGNITO,
            authorizer=None if public else self.authorizer,
            request_validator=self.validator,
            request_parameters=path_params or None,
            request_models=models or None,
        )

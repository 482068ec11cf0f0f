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

# Error bodies in the contract's shape ({"error": {"code", "message"}}) for answers that API
# Gateway gives itself, before any Lambda runs. Messages are JSON literals; messageString is
# API Gateway's already-quoted message.
_MESSAGE_STRING = "$context.error.messageString"
_R = apigateway.ResponseType
_GATEWAY_ERRORS = {
    _R.UNAUTHORIZED: ("unauthenticated", '"Sign in first: the token is missing or expired."'),
    _R.ACCESS_DENIED: ("unauthenticated", '"The token is not accepted for this request."'),
    _R.THROTTLED: ("throttled", '"Too many requests; retry shortly."'),
    _R.BAD_REQUEST_BODY: ("invalid_request", '"The request body does not match the API contract."'),
    _R.BAD_REQUEST_PARAMETERS: ("invalid_request", '"A required request parameter is missing."'),
    _R.REQUEST_TOO_LARGE: ("payload_too_large", '"The request body is too large."'),
    # API Gateway answers an unknown path with "Missing Authentication Token" (403).
    _R.MISSING_AUTHENTICATION_TOKEN: ("not_found", '"No such route."'),
    _R.DEFAULT_4_XX: ("invalid_request", _MESSAGE_STRING),
    _R.DEFAULT_5_XX: ("internal_error", _MESSAGE_STRING),
}

# Request models: the edge rejects what can never be valid; the apps still validate everything.
# Only for routes whose body is required: API Gateway would reject an empty optional body.
_CHAT_REQUEST = apigateway.JsonSchema(
    schema=apigateway.JsonSchemaVersion.DRAFT4,
    type=apigateway.JsonSchemaType.OBJECT,
    required=["message"],
    properties={
        "message": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, min_length=1),
        "conversationId": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING),
        "model": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING),
        "system": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING),
        "preset": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING),
        "attachments": apigateway.JsonSchema(
            type=apigateway.JsonSchemaType.ARRAY,
            items=apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING),
        ),
    },
)
_UPLOAD_REQUEST = apigateway.JsonSchema(
    schema=apigateway.JsonSchemaVersion.DRAFT4,
    type=apigateway.JsonSchemaType.OBJECT,
    required=["filename", "contentType", "size", "purpose"],
    properties={
        "filename": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, min_length=1),
        "contentType": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, min_length=1),
        "size": apigateway.JsonSchema(type=apigateway.JsonSchemaType.INTEGER, minimum=1),
        "purpose": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, enum=["document", "image"]),
    },
)
_BODY_MODELS = {
    ("POST", "/chat"): ("ChatRequest", _CHAT_REQUEST),
    ("POST", "/uploads"): ("UploadRequest", _UPLOAD_REQUEST),
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
        for response_type, (code, message) in _GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                f"Gateway{response_type.response_type}",
                type=response_type,
                templates={"application/json": f'{{"error": {{"code": "{code}", "message": {message}}}}}'},
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
        if (method, path) in _BODY_MODELS:
            name, schema = _BODY_MODELS[(method, path)]
            models["application/json"] = self.rest_api.add_model(name, model_name=name, schema=schema)
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

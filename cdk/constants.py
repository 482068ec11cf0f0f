"""Names shared by the stack, its tests and the docs: construct IDs, output keys, fixed values.

Tests import these instead of repeating strings, so renaming a construct cannot silently
make an assertion vacuous.
"""

from __future__ import annotations

from chatbot_common import observability_names

# Stack id is "<STACK_ID_PREFIX>-<stage>" so several stages deploy side by side.
STACK_ID_PREFIX = "Chatbot"

# Construct IDs, one per concern (the stack reads like the architecture diagram).
STORAGE_ID = "Storage"
AUTH_ID = "Auth"
FUNCTIONS_ID = "Functions"
API_ID = "Api"
WEB_HOSTING_ID = "WebHosting"
MONITORING_ID = "Monitoring"

CHAT_FUNCTION_ID = "ChatFunction"
UPLOAD_FUNCTION_ID = "UploadFunction"
TABLE_ID = "Table"
UPLOADS_BUCKET_ID = "UploadsBucket"
ACCESS_LOGS_BUCKET_ID = "AccessLogsBucket"
WEB_BUCKET_ID = "WebBucket"
DISTRIBUTION_ID = "Distribution"
REST_API_ID = "RestApi"
USER_POOL_ID = "UserPool"
USER_POOL_CLIENT_ID = "WebClient"

# CloudFormation output keys (the deploy guide reads these with `aws cloudformation describe-stacks`).
OUTPUT_WEB_URL = "WebUrl"
OUTPUT_API_URL = "ApiUrl"
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_USER_POOL_CLIENT_ID = "UserPoolClientId"
OUTPUT_AUTH_DOMAIN = "AuthDomain"
OUTPUT_TABLE_NAME = "TableName"
OUTPUT_UPLOADS_BUCKET = "UploadsBucketName"
OUTPUT_ALARM_TOPIC = "AlarmTopicArn"
OUTPUT_DASHBOARD = "DashboardName"
OUTPUT_CHAT_LOG_GROUP = "ChatLogGroup"
OUTPUT_UPLOAD_LOG_GROUP = "UploadLogGroup"
OUTPUT_API_ACCESS_LOG_GROUP = "ApiAccessLogGroup"

# API Gateway stage; CloudFront maps /api/* onto it and strips the /api prefix.
API_STAGE_NAME = "v1"
WEB_API_PREFIX = "/api"

# Routes that skip the Cognito authorizer: the readiness probe only. Everything else, the API's
# OpenAPI document included, must carry it (tested).
PUBLIC_ROUTES = frozenset({("GET", "/health")})

# Route table: (method, path, function). Chat routes stream (ResponseTransferMode.STREAM).
CHAT = "chat"
UPLOAD = "upload"
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/health", CHAT),
    ("GET", "/openapi.json", CHAT),
    ("GET", "/models", CHAT),
    ("GET", "/presets", CHAT),
    ("POST", "/chat", CHAT),
    ("POST", "/compare", CHAT),
    ("GET", "/comparisons", CHAT),
    ("GET", "/comparisons/{id}", CHAT),
    ("DELETE", "/comparisons/{id}", CHAT),
    ("POST", "/comparisons/{id}/continue", CHAT),
    ("POST", "/comparisons/{id}/stop", CHAT),
    ("GET", "/conversations", CHAT),
    ("GET", "/conversations/{id}", CHAT),
    ("PATCH", "/conversations/{id}", CHAT),
    ("DELETE", "/conversations/{id}", CHAT),
    ("POST", "/documents/{uploadId}/summary", CHAT),
    ("PUT", "/conversations/{id}/messages/{messageId}/feedback", CHAT),
    ("DELETE", "/conversations/{id}/messages/{messageId}/feedback", CHAT),
    ("GET", "/search", CHAT),
    ("GET", "/prompts", CHAT),
    ("GET", "/prompts/{promptId}", CHAT),
    ("PUT", "/prompts/{promptId}", CHAT),
    ("DELETE", "/prompts/{promptId}", CHAT),
    ("GET", "/tools", CHAT),
    ("POST", "/uploads", UPLOAD),
    ("GET", "/uploads/{id}", UPLOAD),
    ("GET", "/uploads/{id}/view-url", UPLOAD),
)

# AWS Lambda Web Adapter layer, published by AWS per region under this account in the aws partition
# (not in China, which uses other accounts and x86 only, nor GovCloud, nor every opt-in region).
# v1.1.0 (layer 30) is the first release with SnapStart hooks; see docs/deploy.md.
WEB_ADAPTER_ACCOUNT = "753240598075"
# Regions this project deploys to with the published layer: the commercial regions enabled by
# default in every account (opt-in regions such as me-south-1 are not assumed to carry it). For any
# other region set webAdapterLayerArn in cdk.json after checking the layer exists there
# (`aws lambda get-layer-version-by-arn --arn ...`).
WEB_ADAPTER_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    }
)
WEB_ADAPTER_LAYER_NAME = "LambdaAdapterLayerArm64"
WEB_ADAPTER_LAYER_VERSION = 30
WEB_ADAPTER_PORT = 8080
HEALTH_PATH = "/health"

# The Lambda runtime; bundles are built for exactly this interpreter and architecture.
LAMBDA_PYTHON_VERSION = "3.13"
# Lambda's Python 3.13 runtime is Amazon Linux 2023 (glibc 2.34): wheels tagged up to
# manylinux_2_34 run there (numpy 2.4 has no manylinux2014 aarch64 wheel any more).
LAMBDA_PLATFORM = "manylinux_2_34_aarch64"
LAMBDA_UV_PLATFORM = "aarch64-manylinux_2_34"
# Where Lambda unpacks a function's code (bytecode paths and tracebacks name it).
LAMBDA_TASK_ROOT = "/var/task"

# Custom metrics the chat Lambda emits (Powertools, EMF) and the service names: defined once,
# in chatbot_common, where the Lambdas import them too.
METRICS_NAMESPACE = observability_names.METRICS_NAMESPACE
CHAT_SERVICE_NAME = observability_names.CHAT_SERVICE_NAME
UPLOAD_SERVICE_NAME = observability_names.UPLOAD_SERVICE_NAME
METRIC_INPUT_TOKENS = observability_names.METRIC_INPUT_TOKENS
METRIC_OUTPUT_TOKENS = observability_names.METRIC_OUTPUT_TOKENS
METRIC_MODEL_LATENCY = observability_names.METRIC_MODEL_LATENCY
METRIC_MODEL_THROTTLES = observability_names.METRIC_MODEL_THROTTLES

# Context flag that swaps real bundling for the bare source folders (template tests).
CONTEXT_SKIP_BUNDLING = "chatbot:skipBundling"
# Context flag "host": bundles are built for this machine instead of Lambda (deploy rehearsal).
CONTEXT_BUNDLE_TARGET = "chatbot:bundleTarget"

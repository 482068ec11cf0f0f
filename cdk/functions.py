"""Functions: the chat and upload Lambdas (arm64, Web Adapter, explicit logs, least privilege)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.bundling import FunctionPackage, function_code
from cdk.config import ChatbotConfig, split_model_id
from cdk.constants import (
    CHAT_FUNCTION_ID,
    CHAT_SERVICE_NAME,
    HEALTH_PATH,
    METRICS_NAMESPACE,
    UPLOAD_FUNCTION_ID,
    UPLOAD_SERVICE_NAME,
    WEB_ADAPTER_ACCOUNT,
    WEB_ADAPTER_LAYER_NAME,
    WEB_ADAPTER_LAYER_VERSION,
    WEB_ADAPTER_PORT,
)
from cdk.storage import UPLOADS_PREFIX, Storage

BEDROCK_INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
# GET /models: which models exist and which inference profiles route to them.
BEDROCK_LIST_ACTIONS = ("bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles")
LIVE_ALIAS = "live"

CHAT_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)
# Upload records: create on presign, read and update on status checks.
UPLOAD_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")


def web_adapter_layer_arn() -> str:
    """The Web Adapter layer in the deploying region (AWS publishes one copy per region)."""
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{WEB_ADAPTER_ACCOUNT}:layer:"
        f"{WEB_ADAPTER_LAYER_NAME}:{WEB_ADAPTER_LAYER_VERSION}"
    )


def bedrock_model_arns(model_ids: tuple[str, ...]) -> list[str]:
    """Resources for invoking the configured models, and nothing else.

    A cross-region inference profile (``us.amazon.nova-lite-v1:0``) routes to the base model in
    any of the profile's regions, so IAM needs the profile ARN plus the base model's ARN in every
    region (``arn:aws:bedrock:*::foundation-model/<base>``). Global profiles also need the
    region-less foundation-model ARN.
    """
    arns: list[str] = []
    for model_id in model_ids:
        geography, base = split_model_id(model_id)
        if geography is None:
            arns.append(f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{base}")
            continue
        arns.append(f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:inference-profile/{model_id}")
        arns.append(f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{base}")
        if geography == "global":
            arns.append(f"arn:{Aws.PARTITION}:bedrock:::foundation-model/{base}")
    return list(dict.fromkeys(arns))


@dataclass(frozen=True)
class FunctionSpec:
    package: FunctionPackage
    service_name: str
    memory_mb: int
    timeout_seconds: int


class WebAdapterFunction(Construct):
    """One ASGI app on Lambda: Web Adapter layer in response-stream mode, a published alias."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        config: ChatbotConfig,
        environment: dict[str, str],
        adapter_layer: lambda_.ILayerVersion,
        skip_bundling: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/chatbot-{config.stage}-{spec.service_name}",
            retention=log_retention(config.log_retention_days),
        )
        # An own role instead of AWSLambdaBasicExecutionRole: logs only to this log group.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"chatbot {config.stage} {spec.service_name} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=f"chatbot-{config.stage}-{spec.service_name}",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            code=function_code(spec.package, skip_bundling=skip_bundling),
            # The Web Adapter's wrapper runs this script, which starts uvicorn on the app factory.
            handler="run.sh",
            layers=[adapter_layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if config.snap_start else None,
            # Superseded versions go: nothing routes to them, and with SnapStart each one's
            # snapshot cache would keep billing.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
            environment={
                "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
                "AWS_LWA_INVOKE_MODE": "response_stream",
                "AWS_LWA_PORT": str(WEB_ADAPTER_PORT),
                "PORT": str(WEB_ADAPTER_PORT),
                "AWS_LWA_READINESS_CHECK_PATH": HEALTH_PATH,
                "POWERTOOLS_SERVICE_NAME": spec.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                **environment,
            },
            description=f"chatbot {config.stage} {spec.service_name} API (FastAPI behind Lambda Web Adapter)",
        )
        # API Gateway invokes the alias: with SnapStart on, only published versions are snapshotted.
        self.alias = lambda_.Alias(
            self, "LiveAlias", alias_name=LIVE_ALIAS, version=self.function.current_version
        )


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs accepts only certain periods; fail at synth on any other."""
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"logRetentionDays must be one of {sorted(_RETENTION)}: {days}") from None


class Functions(Construct):
    """The two Lambdas and exactly the permissions each one uses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatbotConfig,
        storage: Storage,
        web_origin: str,
        skip_bundling: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        adapter_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapterLayer", web_adapter_layer_arn()
        )
        limits = config.limits
        shared_env = {
            "CHATBOT_TABLE_NAME": storage.table.table_name,
            "CHATBOT_UPLOADS_BUCKET": storage.uploads_bucket.bucket_name,
            "CHATBOT_REGION": Aws.REGION,
            "CHATBOT_DEFAULT_MODEL_ID": config.default_model,
            "CHATBOT_ALLOWED_MODEL_IDS": ",".join(config.allowed_models),
            "CHATBOT_RETENTION_DAYS": str(config.retention_days),
            "CHATBOT_WEB_ORIGIN": web_origin,
            "CHATBOT_IMAGE_MAX_BYTES": str(limits.image_max_bytes),
            "CHATBOT_DOCUMENT_MAX_BYTES": str(limits.document_max_bytes),
        }

        def web_adapter_function(construct_id: str, spec: FunctionSpec) -> WebAdapterFunction:
            return WebAdapterFunction(
                self,
                construct_id,
                spec=spec,
                config=config,
                environment=shared_env,
                adapter_layer=adapter_layer,
                skip_bundling=skip_bundling,
            )

        self.chat = web_adapter_function(
            CHAT_FUNCTION_ID,
            FunctionSpec(
                FunctionPackage("lambda_chat"),
                CHAT_SERVICE_NAME,
                limits.chat_memory_mb,
                limits.chat_timeout_seconds,
            ),
        )
        self.upload = web_adapter_function(
            UPLOAD_FUNCTION_ID,
            FunctionSpec(
                FunctionPackage("lambda_upload"),
                UPLOAD_SERVICE_NAME,
                limits.upload_memory_mb,
                limits.upload_timeout_seconds,
            ),
        )
        self._grant_chat(config, storage)
        self._grant_upload(storage)

    def _grant_chat(self, config: ChatbotConfig, storage: Storage) -> None:
        role = self.chat.role
        storage.table.grant(role, *CHAT_TABLE_ACTIONS)
        _grant_uploads_read(role, storage)
        # Extracted document text is cached next to each upload; the chat Lambda writes only that.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CacheExtractedText",
                actions=["s3:PutObject"],
                resources=[storage.uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*/.extracted.json")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeConfiguredModels",
                actions=list(BEDROCK_INVOKE_ACTIONS),
                resources=bedrock_model_arns(config.allowed_models),
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListModelsForModelsRoute",
                actions=list(BEDROCK_LIST_ACTIONS),
                # The list actions support no resource-level permissions: "*" is the only form.
                resources=["*"],
            )
        )

    def _grant_upload(self, storage: Storage) -> None:
        role = self.upload.role
        storage.table.grant(role, *UPLOAD_TABLE_ACTIONS)
        # The presigned POST is signed with this role's credentials: it may only write uploads/.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PresignedUploads",
                actions=["s3:PutObject"],
                resources=[storage.uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
            )
        )
        # GET /uploads/{id} deletes an object whose content is not what was declared.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeleteRejectedUploads",
                actions=["s3:DeleteObject"],
                resources=[storage.uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
            )
        )
        _grant_uploads_read(role, storage)


def _grant_uploads_read(role: iam.IRole, storage: Storage) -> None:
    bucket = storage.uploads_bucket
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ReadUploads",
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
        )
    )
    # ListBucket turns a missing object into 404 instead of 403 (a "pending" upload).
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ListUploadsPrefix",
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}},
        )
    )

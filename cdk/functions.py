"""Functions: the chat and upload Lambdas (arm64, Web Adapter, explicit logs, least privilege)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Aws, CfnRule, Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.bundling import LAMBDA_TARGET, BundleTarget, FunctionPackage, function_code
from cdk.config import ChatbotConfig
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
    WEB_ADAPTER_REGIONS,
)
from cdk.nag import acknowledge, arn_ref
from cdk.storage import UPLOADS_PREFIX, Storage, removal_policy
from chatbot_common.model_ids import split_model_id
from chatbot_common.model_table import encode_model_table_setting
from chatbot_common.snapstart import BEFORE_CHECKPOINT_PATH

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


class UnsupportedRegionError(ValueError):
    """The deploying region has no published Web Adapter layer and none was configured."""


def web_adapter_layer_arn(scope: Construct, config: ChatbotConfig) -> str:
    """The Web Adapter layer for the deploying region.

    AWS publishes the layer per region under one account (see WEB_ADAPTER_REGIONS for the regions
    this project relies on), but not everywhere: China has other accounts and x86 only, GovCloud
    and some opt-in regions have none. ``webAdapterLayerArn`` in cdk.json names a layer explicitly
    (e.g. one published into your own account from the adapter's release). Otherwise a region known
    at synth (``cdk deploy`` sets it) must be in the list, or synth fails here with the reason; an
    environment-agnostic template carries a CloudFormation rule that refuses other regions before
    anything is created.

    Raises UnsupportedRegionError.
    """
    if config.web_adapter_layer_arn:
        return config.web_adapter_layer_arn
    stack = Stack.of(scope)
    region = stack.region
    if not Token.is_unresolved(region) and region not in WEB_ADAPTER_REGIONS:
        raise UnsupportedRegionError(
            f"The Lambda Web Adapter layer is not published for region {region}; deploy to one of "
            f"{', '.join(sorted(WEB_ADAPTER_REGIONS))}, or publish the layer yourself and set "
            "webAdapterLayerArn in cdk.json (docs/deploy.md, 'Regions')."
        )
    if Token.is_unresolved(region):
        CfnRule(
            stack,
            "WebAdapterLayerRegion",
            assertions=[
                {
                    "assert": Fn.condition_contains(sorted(WEB_ADAPTER_REGIONS), Aws.REGION),
                    "assertDescription": (
                        "The Lambda Web Adapter layer is not published in this region; deploy to a "
                        "supported region or set webAdapterLayerArn in cdk.json (docs/deploy.md)."
                    ),
                }
            ],
        )
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
        bundle_target: BundleTarget = LAMBDA_TARGET,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/chatbot-{config.stage}-{spec.service_name}",
            retention=log_retention(config.log_retention_days),
            # A fixed name and the default Retain would make the next deploy of the stage fail
            # ("already exists") after `cdk destroy`; non-production stages delete it.
            removal_policy=removal_policy(config),
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
            code=function_code(spec.package, skip_bundling=skip_bundling, bundle_target=bundle_target),
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
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to Python 3.13 on purpose: the bundle's wheels and bytecode are built for exactly "
            "this interpreter, and 3.12/3.13 are the Python runtimes documented for Lambda SnapStart.",
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
        bundle_target: BundleTarget = LAMBDA_TARGET,
    ) -> None:
        super().__init__(scope, construct_id)
        adapter_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapterLayer", web_adapter_layer_arn(self, config)
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
        model_table = encode_model_table_setting(config.model_table)
        if model_table:
            shared_env["CHATBOT_MODEL_TABLE"] = model_table

        def web_adapter_function(
            construct_id: str, spec: FunctionSpec, extra_env: dict[str, str] | None = None
        ) -> WebAdapterFunction:
            return WebAdapterFunction(
                self,
                construct_id,
                spec=spec,
                config=config,
                environment={**shared_env, **(extra_env or {})},
                adapter_layer=adapter_layer,
                skip_bundling=skip_bundling,
                bundle_target=bundle_target,
            )

        self.chat = web_adapter_function(
            CHAT_FUNCTION_ID,
            FunctionSpec(
                FunctionPackage("lambda_chat"),
                CHAT_SERVICE_NAME,
                limits.chat_memory_mb,
                limits.chat_timeout_seconds,
            ),
            {
                **(
                    {"CHATBOT_MCP_SERVERS": json.dumps(list(config.mcp_servers))}
                    if config.mcp_servers
                    else {}
                ),
                # The adapter calls the chat app's warm-up before each snapshot (chatbot_common.snapstart).
                **(
                    {
                        "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH": BEFORE_CHECKPOINT_PATH,
                        "CHATBOT_SNAPSTART_HOOKS": "true",
                    }
                    if config.snap_start
                    else {}
                ),
            },
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
        self._acknowledge(config, storage)

    def _acknowledge(self, config: ChatbotConfig, storage: Storage) -> None:
        """The AwsSolutions findings of these grants, each with the reason it is acceptable."""
        table_arn = arn_ref(storage.table.node.default_child)
        uploads_arn = arn_ref(storage.uploads_bucket.node.default_child)
        for fn in (self.chat, self.upload):
            acknowledge(
                fn.role,
                f"AwsSolutions-IAM5[Resource::{table_arn}/index/*]",
                "Queries go through the table's own GSI (gsi1); index/* names only this table's indexes.",
            )
            acknowledge(
                fn.role,
                f"AwsSolutions-IAM5[Resource::{uploads_arn}/uploads/*]",
                "Object keys are uploads/<user>/<upload id>/<name>, created at run time; the grant is "
                "limited to that prefix of this one bucket.",
            )
        chat_role = self.chat.role
        acknowledge(
            chat_role,
            f"AwsSolutions-IAM5[Resource::{uploads_arn}/uploads/*/.extracted.json]",
            "The chat function caches a document's extracted text next to its upload "
            "(uploads/<user>/<upload id>/.extracted.json); it may write that one name and nothing else.",
        )
        for model_id in config.allowed_models:
            geography, base = split_model_id(model_id)
            if geography is None:
                continue
            acknowledge(
                chat_role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{base}]",
                f"Cross-region inference profile {model_id} serves requests from the base model in any "
                "region of its geography; IAM must allow that model in each of them. Only this model.",
            )
        acknowledge(
            chat_role,
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:ListFoundationModels and ListInferenceProfiles (GET /models) support no "
            "resource-level permissions. The invoke actions are limited to the configured models' "
            "ARNs in a separate statement.",
        )

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

        self._grant_mcp_auth_headers(config)

    def _grant_mcp_auth_headers(self, config: ChatbotConfig) -> None:
        """Read access to exactly the SSM parameters and secrets named by `mcpServers` auth
        headers (read once at start-up for the header values), nothing else."""
        parameters: list[str] = []
        secrets: list[str] = []
        for server in config.mcp_servers:
            header = server.get("authHeader") or {}
            if header.get("ssmParameter"):
                name = str(header["ssmParameter"]).lstrip("/")
                parameters.append(f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter/{name}")
            if header.get("secretArn"):
                arn = str(header["secretArn"])
                # A partial ARN (no 6-character suffix) matches the full one only with "-??????"
                # (Secrets Manager user guide, "Authentication and access control").
                secrets.extend([arn, f"{arn}-??????"])
        if parameters:
            self.chat.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadMcpAuthParameters", actions=["ssm:GetParameter"], resources=parameters
                )
            )
        if secrets:
            self.chat.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadMcpAuthSecrets", actions=["secretsmanager:GetSecretValue"], resources=secrets
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

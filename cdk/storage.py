"""Storage: the one DynamoDB table and the uploads bucket (plus the bucket their access logs go to)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.config import ChatbotConfig
from cdk.constants import ACCESS_LOGS_BUCKET_ID, TABLE_ID, UPLOADS_BUCKET_ID
from chatbot_common import resources

UPLOADS_PREFIX = "uploads/"
# Presigned POSTs expire within minutes; a day is ample for a file to be used, then it goes.
UPLOADS_EXPIRY_DAYS = 1


def table_name_for(stage: str) -> str:
    """The table name per stage; stage "local" gives the local stack's name."""
    return f"chatbot-{stage}"


def uploads_bucket_name(stage: str) -> str:
    """Known before deploy, so the web client's CSP can name it without a dependency cycle."""
    return f"chatbot-{stage}-uploads-{Aws.ACCOUNT_ID}-{Aws.REGION}"


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def removal_policy(config: ChatbotConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


def private_bucket(scope: Construct, construct_id: str, *, config: ChatbotConfig, **props: Any) -> s3.Bucket:
    """A bucket only IAM can reach: public access blocked, TLS only, encrypted, no ACLs.

    Emptied and deleted with the stack unless the stage retains data.
    """
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=removal_policy(config),
        auto_delete_objects=not config.retain_data,
        **props,
    )


class Storage(Construct):
    """The table (exactly ``chatbot_common.resources``) and the private, TLS-only uploads bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, config: ChatbotConfig) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            TABLE_ID,
            table_name=table_name_for(config.stage),
            partition_key=_attribute(resources.PARTITION_KEY),
            sort_key=_attribute(resources.SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=resources.TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Encrypted at rest with an AWS owned key: no KMS key fee, no KMS request charges.
            encryption=dynamodb.TableEncryption.DEFAULT,
            removal_policy=removal_policy(config),
        )
        self.table.add_global_secondary_index(
            index_name=resources.GSI1_NAME,
            partition_key=_attribute(resources.GSI1_PARTITION_KEY),
            sort_key=_attribute(resources.GSI1_SORT_KEY),
            projection_type=dynamodb.ProjectionType.ALL,
        )

        # Server access logs of the uploads and web buckets. Logs of logs would recurse.
        self.access_logs_bucket = private_bucket(
            self,
            ACCESS_LOGS_BUCKET_ID,
            config=config,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
        )
        self.uploads_bucket = private_bucket(
            self,
            UPLOADS_BUCKET_ID,
            config=config,
            bucket_name=uploads_bucket_name(config.stage),
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="uploads-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireUploads",
                    prefix=UPLOADS_PREFIX,
                    expiration=Duration.days(UPLOADS_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )

    def allow_browser_uploads(self, web_origins: list[str]) -> None:
        """CORS for the presigned POST: only the web client's origins, only POST."""
        self.uploads_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.POST],
            allowed_origins=list(dict.fromkeys(web_origins)),
            allowed_headers=["*"],
            exposed_headers=["ETag", "Location"],
            max_age=3000,
        )

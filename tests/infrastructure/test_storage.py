"""The table equals chatbot_common.resources; the buckets are private, TLS-only, logged, expiring."""

from __future__ import annotations

from typing import Any

from cdk.storage import UPLOADS_PREFIX, table_name_for
from chatbot_common import resources
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.helpers import as_list, flat


def _single(synthesized: Synthesized, resource_type: str) -> dict[str, Any]:
    (only,) = synthesized.of_type(resource_type).values()
    return only["Properties"]


def test_table_key_schema_equals_the_shared_definition(synthesized: Synthesized) -> None:
    props = _single(synthesized, "AWS::DynamoDB::Table")
    expected = resources.table_definition(table_name_for(synthesized.config.stage))

    assert props["TableName"] == expected["TableName"]
    assert props["KeySchema"] == expected["KeySchema"]
    by_name = lambda items: sorted(items, key=lambda item: item["AttributeName"])  # noqa: E731
    assert by_name(props["AttributeDefinitions"]) == by_name(expected["AttributeDefinitions"])
    (gsi,) = props["GlobalSecondaryIndexes"]
    (expected_gsi,) = expected["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == expected_gsi["IndexName"]
    assert gsi["KeySchema"] == expected_gsi["KeySchema"]
    assert gsi["Projection"] == expected_gsi["Projection"]
    assert props["BillingMode"] == expected["BillingMode"]


def test_table_has_ttl_and_point_in_time_recovery(synthesized: Synthesized) -> None:
    props = _single(synthesized, "AWS::DynamoDB::Table")
    assert props["TimeToLiveSpecification"] == {"AttributeName": resources.TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_local_stage_names_match_the_local_stack() -> None:
    assert table_name_for("local") == resources.LOCAL_TABLE_NAME


def test_every_bucket_blocks_public_access_and_is_encrypted(synthesized: Synthesized) -> None:
    buckets = synthesized.of_type("AWS::S3::Bucket")
    assert len(buckets) == 3  # uploads, web, access logs
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms"), logical_id


def test_every_bucket_denies_requests_without_tls(synthesized: Synthesized) -> None:
    buckets = synthesized.of_type("AWS::S3::Bucket")
    tls_only: set[str] = set()
    for policy in synthesized.of_type("AWS::S3::BucketPolicy").values():
        bucket_ref = policy["Properties"]["Bucket"]["Ref"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Deny"
                and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                and as_list(statement["Action"]) == ["s3:*"]
            ):
                tls_only.add(bucket_ref)
    assert tls_only == set(buckets)


def _uploads_bucket(synthesized: Synthesized) -> dict[str, Any]:
    (bucket,) = [
        b["Properties"]
        for b in synthesized.of_type("AWS::S3::Bucket").values()
        if "uploads" in flat(b["Properties"].get("BucketName", ""))
    ]
    return bucket


def test_uploads_bucket_cors_allows_only_the_web_origin_to_post(synthesized: Synthesized) -> None:
    (rule,) = _uploads_bucket(synthesized)["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    (origin,) = rule["AllowedOrigins"]
    # The CloudFront URL (resolved at deploy time), never "*".
    assert flat(origin).startswith("https://${WebHostingDistribution")


def test_uploads_expire_and_access_is_logged(synthesized: Synthesized) -> None:
    bucket = _uploads_bucket(synthesized)
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == UPLOADS_PREFIX
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] >= 1
    assert "DestinationBucketName" in bucket["LoggingConfiguration"]

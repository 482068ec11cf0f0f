"""The boto3 clients of both apps, from one factory.

In Lambda the factory gets a region only: boto3 finds credentials itself (the execution role).
The local stack passes its endpoints (moto, the local Bedrock runtime) and dummy credentials
explicitly, so building an app never depends on, or changes, the process environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

# Our own retry with jitter handles Bedrock throttling (lambda_chat.domain.retry); botocore's
# would retry underneath it and multiply the attempts. Note: botocore's `max_attempts` counts
# retries (max_attempts=1 still makes two calls); `total_max_attempts` counts calls.
BEDROCK_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=300, connect_timeout=10
)
# Bedrock validates every Converse request itself (ValidationException, translated to a 400 by
# lambda_chat.adapters.bedrock_models), and so does the local runtime; botocore's client-side
# pass over the same request walks every message of the history again on each turn (~1 ms at 100
# messages here). botocore documents the switch as a performance option ("parameter_validation",
# botocore.config.Config).
BEDROCK_RUNTIME_CONFIG = BEDROCK_CONFIG.merge(Config(max_pool_connections=50, parameter_validation=False))
DYNAMODB_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, max_pool_connections=50)
# Presigned POST policies are signed with SigV4 (the only version newer regions accept), and
# name the regional virtual-hosted endpoint, <bucket>.s3.<region>.amazonaws.com. botocore's default
# is the global <bucket>.s3.amazonaws.com, which a new bucket outside us-east-1 answers with
# redirects for up to 24 hours (regions launched after March 2019 refuse it), and a browser cannot
# follow a redirected CORS preflight (S3 user guide, "Virtual hosting of buckets"). An endpoint
# override (moto on 127.0.0.1) still gets path-style URLs: botocore uses them for IP endpoints.
S3_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    signature_version="s3v4",
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
)

# The boto3 service names an endpoint override may name.
SERVICES = ("dynamodb", "s3", "bedrock-runtime", "bedrock")


class AwsClients:
    """One boto3 client per service, each built on first use and then shared (boto3 clients are
    thread-safe); the upload app never builds the Bedrock ones.

    `endpoint_urls` maps a boto3 service name (see SERVICES) to its endpoint URL; `credentials`
    holds `aws_access_key_id` / `aws_secret_access_key` when not taken from the default chain.
    """

    def __init__(
        self,
        region: str,
        *,
        endpoint_urls: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        unknown = set(endpoint_urls or {}) - set(SERVICES)
        if unknown:
            raise ValueError(f"no such service for an endpoint: {sorted(unknown)}")
        self.region = region
        self._endpoints = dict(endpoint_urls or {})
        self._session = boto3.session.Session(region_name=region, **dict(credentials or {}))

    def _client(self, service: str, config: Config) -> Any:
        endpoint = self._endpoints.get(service)
        return self._session.client(
            service, config=config, **({"endpoint_url": endpoint} if endpoint else {})
        )

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb", DYNAMODB_CONFIG)

    @cached_property
    def s3(self) -> Any:
        return self._client("s3", S3_CONFIG)

    @cached_property
    def bedrock_runtime(self) -> Any:
        return self._client("bedrock-runtime", BEDROCK_RUNTIME_CONFIG)

    @cached_property
    def bedrock(self) -> Any:
        return self._client("bedrock", BEDROCK_CONFIG)

    @cached_property
    def ssm(self) -> Any:
        """Parameter Store, read once at start-up for MCP servers' auth headers."""
        return self._client("ssm", DYNAMODB_CONFIG)

    @cached_property
    def secretsmanager(self) -> Any:
        """Secrets Manager, read once at start-up for MCP servers' auth headers."""
        return self._client("secretsmanager", DYNAMODB_CONFIG)


def create_clients(
    region: str,
    *,
    endpoint_urls: Mapping[str, str] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> AwsClients:
    """The clients for `region`; see `AwsClients` for the overrides."""
    return AwsClients(region, endpoint_urls=endpoint_urls, credentials=credentials)

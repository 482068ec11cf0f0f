"""AWS clients, built once at start-up. boto3 reads endpoint overrides (AWS_ENDPOINT_URL_*) from
the environment itself, so the same code talks to AWS or to the local stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# Our own retry with jitter handles Bedrock throttling (lambda_chat.domain.retry); botocore's
# would retry underneath it and multiply the attempts. Note: botocore's `max_attempts` counts
# retries (max_attempts=1 still makes two calls); `total_max_attempts` counts calls.
BEDROCK_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=300, connect_timeout=10
)
DYNAMODB_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, max_pool_connections=50)


@dataclass(frozen=True)
class AwsClients:
    dynamodb: Any
    bedrock_runtime: Any
    bedrock: Any
    s3: Any


def create_clients(region: str) -> AwsClients:
    session = boto3.session.Session(region_name=region)
    return AwsClients(
        dynamodb=session.client("dynamodb", config=DYNAMODB_CONFIG),
        bedrock_runtime=session.client(
            "bedrock-runtime", config=BEDROCK_CONFIG.merge(Config(max_pool_connections=50))
        ),
        bedrock=session.client("bedrock", config=BEDROCK_CONFIG),
        s3=session.client("s3"),
    )

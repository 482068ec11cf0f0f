"""One definition of the table and bucket layout, used by the CDK stack and the local stack alike."""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expiresAt"
# What an item is: "conversation", "message", "call" or "upload". Items written before this name
# was shared carry "kind" instead; nothing reads the attribute back, so they need no migration.
ITEM_TYPE_ATTRIBUTE = "type"

# GSI1: conversations by last activity per user, and the call log by day across users.
GSI1_NAME = "gsi1"
GSI1_PARTITION_KEY = "gsi1pk"
GSI1_SORT_KEY = "gsi1sk"

LOCAL_TABLE_NAME = "chatbot-local"
LOCAL_UPLOADS_BUCKET = "chatbot-local-uploads"

# Images: Bedrock's per-image limit; documents: a generous but bounded default.
DEFAULT_IMAGE_MAX_BYTES = 3_750_000
DEFAULT_DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments (boto3 shape) matching the CDK table; the local stack creates this."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": GSI1_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": GSI1_SORT_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }

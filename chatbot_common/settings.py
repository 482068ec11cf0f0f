"""Service settings, validated once at start-up (a missing table name fails at boot).

Read from environment variables prefixed ``CHATBOT_`` (the one place in the Lambda packages that
reads the environment), or built directly with keyword arguments (the local stack, tests). Only the
HTTP/entry layer constructs this; domain code receives plain values.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chatbot_common.resources import DEFAULT_DOCUMENT_MAX_BYTES, DEFAULT_IMAGE_MAX_BYTES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATBOT_", extra="ignore")

    table_name: str = Field(min_length=3)
    uploads_bucket: str = Field(min_length=3)
    region: str = "us-east-1"

    # Local mode enables the fixed development identity. Never set in AWS.
    local_mode: bool = False
    dev_user_id: str = "local-dev-user"
    # The SnapStart before-checkpoint hook (chatbot_common.snapstart): cdk/ sets it with snapStart.
    snapstart_hooks: bool = False

    default_model_id: str = "us.amazon.nova-lite-v1:0"
    # Comma-separated list; empty means "whatever Bedrock lists that supports Converse".
    allowed_model_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)

    max_message_chars: int = Field(default=32_000, gt=0)
    # Whole request body; API Gateway's own limit is 10 MB, our JSON bodies are far smaller.
    max_request_bytes: int = Field(default=1_048_576, gt=0)
    max_system_chars: int = Field(default=8_000, gt=0)
    history_token_budget: int = Field(default=6_000, gt=0)
    history_max_messages: int = Field(default=100, gt=1)
    max_output_tokens: int = Field(default=1_024, gt=0)
    retention_days: int = Field(default=90, gt=0)
    model_max_attempts: int = Field(default=4, ge=1)
    # Idempotency-Key records (lambda_chat.idempotency): how long a result is replayed, and how long
    # a request's in-progress lock holds if its process dies (Lambda's maximum duration).
    idempotency_expiry_seconds: int = Field(default=86_400, gt=0)
    idempotency_in_progress_seconds: float = Field(default=900.0, gt=0)

    image_max_bytes: int = Field(default=DEFAULT_IMAGE_MAX_BYTES, gt=0)
    document_max_bytes: int = Field(default=DEFAULT_DOCUMENT_MAX_BYTES, gt=0)
    upload_url_expiry_seconds: int = Field(default=300, gt=0, le=3600)
    web_origin: str = "*"

    # Documents and images (only the chat Lambda parses files; the byte limits above are shared so
    # the upload Lambda's presigned policy and the chat Lambda's re-check agree).
    pdf_max_pages: int = Field(default=500, gt=0)
    # Extracted text beyond this is refused rather than silently truncated: a summary must cover
    # the whole document. 3M characters is roughly a 1,000-page book.
    document_max_chars: int = Field(default=3_000_000, gt=0)
    docx_max_uncompressed_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    docx_max_compression_ratio: float = Field(default=200.0, gt=1)
    docx_max_entries: int = Field(default=5_000, gt=0)
    csv_sample_rows: int = Field(default=1_000, gt=0)
    csv_full_rows: int = Field(default=200, gt=0)

    image_max_side: int = Field(default=1568, gt=0)
    image_max_pixels: int = Field(default=40_000_000, gt=0)
    max_images_per_message: int = Field(default=20, gt=0)
    max_documents_per_message: int = Field(default=5, gt=0)

    summary_chunk_tokens: int = Field(default=3_000, gt=100)
    summary_chunk_overlap_tokens: int = Field(default=100, ge=0)
    # Caps: a reduce call reads at most this many tokens of partial summaries, and every summary
    # call asks for at most summary_max_output_tokens; both are lowered further to fit the chosen
    # model's context window and output limit (the model table, chatbot_common/model_table.py).
    summary_context_tokens: int = Field(default=12_000, gt=500)
    summary_max_concurrency: int = Field(default=4, gt=0)
    summary_max_output_tokens: int = Field(default=800, gt=0)

    # The deployment's model table overrides (limits, prices) as JSON: cdk.json context
    # `modelTable` through chatbot_common.model_table.encode_model_table_setting.
    model_table: str = ""
    # Tool use (lambda_chat.tools). `mcp_servers`: a JSON list of the deployer's remote MCP
    # servers, [{"name", "url", "authHeader"?: {"name", "ssmParameter" | "secretId"}}] (docs/tools.md);
    # cdk.json's `mcpServers` sets it. `tool_max_steps`: tool steps per turn before the final answer.
    mcp_servers: str = ""
    mcp_discovery_seconds: float = Field(default=5.0, gt=0)
    tool_max_steps: int = Field(default=6, ge=1, le=20)

    excerpt_chunk_tokens: int = Field(default=400, gt=50)
    excerpt_default_budget_tokens: int = Field(default=3_000, gt=0)

    @field_validator("allowed_model_ids", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]

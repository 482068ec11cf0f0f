"""Deployment configuration: a pydantic model validated from cdk.json context (`-c key=value` overrides).

Context keys are the camelCase aliases of the fields (``allowedModels``, ``limits.chatMemoryMb``);
values given on the command line arrive as strings and are parsed as JSON where they look like
JSON (``-c limits='{"chatMemoryMb": 2048}'``), or as a comma-separated list for list fields
(``-c allowedModels=us.amazon.nova-lite-v1:0,us.amazon.nova-pro-v1:0``). A bad value fails
synth with pydantic's message naming the key.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from constructs import Node
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from chatbot_common.model_ids import split_model_id
from chatbot_common.model_table import encode_model_table_setting
from chatbot_common.resources import DEFAULT_DOCUMENT_MAX_BYTES, DEFAULT_IMAGE_MAX_BYTES

# Short enough that "chatbot-<stage>-uploads-<account>-<region>" fits S3's 63 characters.
STAGE_PATTERN = r"^[a-z][a-z0-9-]{0,14}$"
# CloudFront only uses ACM certificates from us-east-1 (CloudFront developer guide,
# "Requirements for using SSL/TLS certificates with CloudFront").
_CLOUDFRONT_CERTIFICATE_ARN = re.compile(r"^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$")
_DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# Model end-of-life dates, one table. Source: the Bedrock user guide's model cards and "Model
# lifecycle (Legacy)" page (Bedrock's dates, which may differ from the provider's). Key: base model
# id, without an inference-profile prefix. Synth refuses a model on or after its date, and
# tests/infrastructure/test_config.py fails when cdk.json allows one. Add a row when AWS announces
# a legacy model's end-of-life date.
MODEL_END_OF_LIFE: dict[str, date] = {
    # Model card "Claude 3.5 Haiku": Legacy, end-of-life 19 June 2026.
    "anthropic.claude-3-5-haiku-20241022-v1:0": date(2026, 6, 19),
}


def end_of_life(model_id: str) -> date | None:
    """The end-of-life date of a model or inference-profile id, if one is announced."""
    return MODEL_END_OF_LIFE.get(split_model_id(model_id)[1])


def _from_cli_string(value: Any) -> Any:
    """`-c key=value` gives strings: JSON where it parses, else a comma-separated list."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _json_object(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class _ContextModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class Limits(_ContextModel):
    """Sizes and quotas; bytes, MB of Lambda memory, seconds, API requests per second."""

    image_max_bytes: int = Field(default=DEFAULT_IMAGE_MAX_BYTES, gt=0)
    document_max_bytes: int = Field(default=DEFAULT_DOCUMENT_MAX_BYTES, gt=0)
    api_rate_limit: int = Field(default=20, gt=0)
    api_burst_limit: int = Field(default=40, gt=0)
    # Lambda: 128-10240 MB memory, at most 900 s (Lambda quotas page).
    chat_memory_mb: int = Field(default=1536, ge=128, le=10240)
    chat_timeout_seconds: int = Field(default=600, gt=0, le=900)
    upload_memory_mb: int = Field(default=512, ge=128, le=10240)
    upload_timeout_seconds: int = Field(default=29, gt=0, le=900)


class ChatbotConfig(_ContextModel):
    """One stage's deployment settings (cdk.json ``context``); see docs/deploy.md for each key."""

    stage: str = Field(default="dev", pattern=STAGE_PATTERN)
    allowed_models: Annotated[tuple[str, ...], BeforeValidator(_from_cli_string)] = Field(
        default=("us.amazon.nova-lite-v1:0",), min_length=1
    )
    default_model: str = "us.amazon.nova-lite-v1:0"
    retention_days: int = Field(default=90, gt=0)
    log_retention_days: int = 30
    self_sign_up: bool = False
    mfa: Literal["off", "optional", "required"] = "optional"
    # Another front (proxy, domain) serving this stack's web client; the CloudFront URL stays valid.
    web_origin: str = ""
    # Alternate domain name for the distribution and its ACM certificate (us-east-1).
    web_domain_name: str = ""
    web_certificate_arn: str = ""
    # The Web Adapter layer to use where AWS does not publish it under its usual ARN.
    web_adapter_layer_arn: str = ""
    snap_start: bool = False
    # Default: production keeps its data when the stack goes; other stages clean up after themselves.
    retain_data: bool = False
    alarm_email: str = ""
    auth_domain_prefix: str = "chatbot"
    limits: Annotated[Limits, BeforeValidator(_json_object)] = Field(default_factory=Limits)
    # Overrides of the built-in model table (chatbot_common.model_table: limits, price per 1,000
    # tokens with its date and source), by model id or prefix; validated at synth.
    model_table: Annotated[dict[str, Any], BeforeValidator(_json_object)] = Field(default_factory=dict)
    # Remote MCP servers whose tools the chat offers (docs/tools.md): [{"name", "url",
    # "authHeader"?: {"name", "ssmParameter" | "secretArn"}, "timeoutSeconds"?}]. Only the
    # deployer lists them; the chat Lambda may read exactly the parameters and secrets named here.
    mcp_servers: Annotated[tuple[dict[str, Any], ...], BeforeValidator(_from_cli_string)] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ChatbotConfig:
        encode_model_table_setting(self.model_table)  # ValueError naming the key and field
        if self.default_model not in self.allowed_models:
            raise ValueError(f"defaultModel {self.default_model!r} is not in allowedModels")
        today = date.today()
        for model_id in self.allowed_models:
            retired = end_of_life(model_id)
            if retired is not None and retired <= today:
                raise ValueError(
                    f"allowedModels: {model_id} reached its end of life on {retired.isoformat()} "
                    "(Bedrock model lifecycle); choose a current model"
                )
        if self.mcp_servers:
            # The chat Lambda's own parser: synth refuses what the function would refuse at start.
            from lambda_chat.tools.mcp_servers import parse_mcp_servers

            try:
                parse_mcp_servers(list(self.mcp_servers))
            except ValueError as exc:
                raise ValueError(f"mcpServers: {exc}") from exc
        if bool(self.web_domain_name) != bool(self.web_certificate_arn):
            raise ValueError("webDomainName and webCertificateArn go together (CloudFront needs both)")
        if self.web_domain_name and not _DOMAIN_NAME.match(self.web_domain_name):
            raise ValueError(f"webDomainName is not a lower-case host name: {self.web_domain_name!r}")
        if self.web_certificate_arn and not _CLOUDFRONT_CERTIFICATE_ARN.match(self.web_certificate_arn):
            raise ValueError(
                "webCertificateArn must be an ACM certificate in us-east-1 (CloudFront uses only those)"
            )
        if self.web_domain_name and self.web_origin and self.web_origin != f"https://{self.web_domain_name}":
            raise ValueError("webOrigin and webDomainName disagree; set only webDomainName")
        return self

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_stage(cls, data: Any) -> Any:
        """Production keeps its data unless told otherwise; origins lose a trailing slash."""
        if isinstance(data, dict):
            data = dict(data)
            if data.get("retainData", data.get("retain_data")) is None:
                data["retainData"] = data.get("stage", "dev") == "prod"
            for key in ("webOrigin", "web_origin"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].rstrip("/")
        return data

    @property
    def public_origin(self) -> str:
        """The origin users open, when it is not the distribution's own URL ("" otherwise)."""
        return f"https://{self.web_domain_name}" if self.web_domain_name else self.web_origin

    @classmethod
    def from_node(cls, node: Node) -> ChatbotConfig:
        """Validate the app's context; raises ValueError naming the bad key."""
        raw = {name: node.try_get_context(name) for name in _context_keys()}
        try:
            return cls.model_validate({k: v for k, v in raw.items() if v is not None})
        except ValidationError as exc:
            raise ValueError(f"cdk.json context: {exc}") from exc


def _context_keys() -> list[str]:
    return [field.alias or name for name, field in ChatbotConfig.model_fields.items()]

"""Deployment configuration, read once from cdk.json context (override with `-c key=value`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from constructs import Node

from chatbot_common.resources import DEFAULT_DOCUMENT_MAX_BYTES, DEFAULT_IMAGE_MAX_BYTES

# Short enough that "chatbot-<stage>-uploads-<account>-<region>" fits S3's 63 characters.
_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
# Geography prefixes of cross-region inference profiles ("us.amazon.nova-lite-v1:0").
INFERENCE_PROFILE_PREFIXES = ("us", "eu", "apac", "jp", "au", "ca", "us-gov", "global")


@dataclass(frozen=True)
class Limits:
    image_max_bytes: int = DEFAULT_IMAGE_MAX_BYTES
    document_max_bytes: int = DEFAULT_DOCUMENT_MAX_BYTES
    api_rate_limit: int = 20
    api_burst_limit: int = 40
    chat_memory_mb: int = 1536
    chat_timeout_seconds: int = 600
    upload_memory_mb: int = 512
    upload_timeout_seconds: int = 29


@dataclass(frozen=True)
class ChatbotConfig:
    stage: str = "dev"
    allowed_models: tuple[str, ...] = ("us.amazon.nova-lite-v1:0",)
    default_model: str = "us.amazon.nova-lite-v1:0"
    retention_days: int = 90
    log_retention_days: int = 30
    self_sign_up: bool = False
    mfa: str = "optional"
    web_origin: str = ""
    snap_start: bool = False
    retain_data: bool = False
    alarm_email: str = ""
    auth_domain_prefix: str = "chatbot"
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not _STAGE_PATTERN.match(self.stage):
            raise ValueError(f"stage must match {_STAGE_PATTERN.pattern}: {self.stage!r}")
        if not self.allowed_models:
            raise ValueError("allowedModels must name at least one model: IAM grants are per model")
        if self.default_model not in self.allowed_models:
            raise ValueError(f"defaultModel {self.default_model!r} is not in allowedModels")
        if self.mfa not in ("off", "optional", "required"):
            raise ValueError(f"mfa must be off, optional or required: {self.mfa!r}")
        if self.limits.chat_timeout_seconds > 900:
            raise ValueError("chatTimeoutSeconds cannot exceed Lambda's 900 s")

    @classmethod
    def from_node(cls, node: Node) -> ChatbotConfig:
        """Build from the app's context; strings from `-c` are parsed as JSON where they look like it."""

        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            if value is None:
                return default
            if isinstance(value, str) and not isinstance(default, str):
                try:
                    return json.loads(value)
                except json.JSONDecodeError:
                    if isinstance(default, tuple):
                        return [item.strip() for item in value.split(",") if item.strip()]
                    raise
            return value

        base = cls()
        raw_limits = get("limits", {}) or {}
        limits = Limits(
            image_max_bytes=int(raw_limits.get("imageMaxBytes", Limits.image_max_bytes)),
            document_max_bytes=int(raw_limits.get("documentMaxBytes", Limits.document_max_bytes)),
            api_rate_limit=int(raw_limits.get("apiRateLimit", Limits.api_rate_limit)),
            api_burst_limit=int(raw_limits.get("apiBurstLimit", Limits.api_burst_limit)),
            chat_memory_mb=int(raw_limits.get("chatMemoryMb", Limits.chat_memory_mb)),
            chat_timeout_seconds=int(raw_limits.get("chatTimeoutSeconds", Limits.chat_timeout_seconds)),
            upload_memory_mb=int(raw_limits.get("uploadMemoryMb", Limits.upload_memory_mb)),
            upload_timeout_seconds=int(raw_limits.get("uploadTimeoutSeconds", Limits.upload_timeout_seconds)),
        )
        stage = str(get("stage", base.stage))
        retain = get("retainData", None)
        return cls(
            stage=stage,
            allowed_models=tuple(get("allowedModels", base.allowed_models)),
            default_model=str(get("defaultModel", base.default_model)),
            retention_days=int(get("retentionDays", base.retention_days)),
            log_retention_days=int(get("logRetentionDays", base.log_retention_days)),
            self_sign_up=bool(get("selfSignUp", base.self_sign_up)),
            mfa=str(get("mfa", base.mfa)),
            web_origin=str(get("webOrigin", base.web_origin)).rstrip("/"),
            snap_start=bool(get("snapStart", base.snap_start)),
            # Production keeps its data when the stack goes; other stages clean up after themselves.
            retain_data=bool(stage == "prod" if retain is None else retain),
            alarm_email=str(get("alarmEmail", base.alarm_email)),
            auth_domain_prefix=str(get("authDomainPrefix", base.auth_domain_prefix)),
            limits=limits,
        )


def split_model_id(model_id: str) -> tuple[str | None, str]:
    """Split an inference-profile id into (geography prefix, base model id).

    "us.amazon.nova-lite-v1:0" -> ("us", "amazon.nova-lite-v1:0");
    "amazon.nova-lite-v1:0" -> (None, "amazon.nova-lite-v1:0").
    """
    head, _, rest = model_id.partition(".")
    if rest and head in INFERENCE_PROFILE_PREFIXES:
        return head, rest
    return None, model_id

"""Bedrock model ids: the one place that knows how an id is built.

A foundation-model id is `<provider>.<model>` ("amazon.nova-lite-v1:0"); a cross-region inference
profile puts a geography in front ("us.amazon.nova-lite-v1:0", "global.anthropic.claude-...").
Source: Amazon Bedrock User Guide, "Supported Regions and models for inference profiles"
(https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html).
"""

from __future__ import annotations

# Geography prefixes of system-defined cross-region inference profiles.
INFERENCE_PROFILE_GEOGRAPHIES: frozenset[str] = frozenset(
    {"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"}
)


def split_model_id(model_id: str) -> tuple[str | None, str]:
    """Split a model id into (geography prefix or None, base model id).

    "us.amazon.nova-lite-v1:0" -> ("us", "amazon.nova-lite-v1:0");
    "amazon.nova-lite-v1:0" -> (None, "amazon.nova-lite-v1:0").
    A known geography counts only when a `<provider>.<model>` id follows it, so "us.x" stays whole.
    """
    head, _, rest = model_id.partition(".")
    if head in INFERENCE_PROFILE_GEOGRAPHIES and "." in rest.split(":", 1)[0]:
        return head, rest
    return None, model_id


def provider_of(model_id: str) -> str:
    """The provider segment of a model or inference-profile id ("anthropic" for
    "eu.anthropic.claude-3-haiku-20240307-v1:0"); "" when the id has no provider segment."""
    _, base = split_model_id(model_id)
    head, dot, _ = base.split(":", 1)[0].partition(".")
    return head if dot else ""

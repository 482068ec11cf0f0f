"""How many tokens each model can read and write in one call, for sizing summary calls.

Figures are the providers' documented limits as Amazon Bedrock serves them (the model cards in
the Bedrock user guide, "Supported foundation models in Amazon Bedrock", and the providers'
pages they link to), checked 2026-12. An id is matched by its longest known prefix after any
cross-region inference-profile prefix (``us.``, ``eu.``, ``apac.``, ``global.``...); an unknown
model gets ``DEFAULT_WINDOW``, small enough for any text model Bedrock serves today.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContextWindow:
    """``context_tokens``: input and output together; ``max_output_tokens``: the most one call
    may generate (Converse ``inferenceConfig.maxTokens`` above it is a ValidationException)."""

    context_tokens: int
    max_output_tokens: int


DEFAULT_WINDOW = ContextWindow(8_192, 2_048)

# Longest prefix wins.
CONTEXT_WINDOWS: dict[str, ContextWindow] = {
    # Amazon Nova: 128K (Micro), 300K (Lite, Pro), 1M (Premier); 5K output on the v1 cards.
    "amazon.nova-micro": ContextWindow(128_000, 5_000),
    "amazon.nova-lite": ContextWindow(300_000, 5_000),
    "amazon.nova-pro": ContextWindow(300_000, 5_000),
    "amazon.nova-premier": ContextWindow(1_000_000, 32_000),
    "amazon.nova-2-lite": ContextWindow(1_000_000, 64_000),
    "amazon.titan-text-express": ContextWindow(8_192, 8_192),
    "amazon.titan-text-lite": ContextWindow(4_096, 4_096),
    "amazon.titan-text-premier": ContextWindow(32_000, 3_072),
    # Anthropic Claude: 200K context; output 4K (3 Haiku), 8K (3.5), 64K (3.7 Sonnet, 4.x
    # Sonnet/Haiku, Opus 4.5), 32K (Opus 4, 4.1).
    "anthropic.claude-3-haiku": ContextWindow(200_000, 4_096),
    "anthropic.claude-3-sonnet": ContextWindow(200_000, 4_096),
    "anthropic.claude-3-opus": ContextWindow(200_000, 4_096),
    "anthropic.claude-3-5-haiku": ContextWindow(200_000, 8_192),
    "anthropic.claude-3-5-sonnet": ContextWindow(200_000, 8_192),
    "anthropic.claude-3-7-sonnet": ContextWindow(200_000, 64_000),
    "anthropic.claude-sonnet-4": ContextWindow(200_000, 64_000),
    "anthropic.claude-haiku-4": ContextWindow(200_000, 64_000),
    "anthropic.claude-opus-4": ContextWindow(200_000, 32_000),
    "anthropic.claude-opus-4-5": ContextWindow(200_000, 64_000),
    # Meta Llama 3.x: 128K context (Llama 3 8B/70B: 8K), 2,048 generated tokens on Bedrock.
    "meta.llama3-8b": ContextWindow(8_192, 2_048),
    "meta.llama3-70b": ContextWindow(8_192, 2_048),
    "meta.llama3-1": ContextWindow(128_000, 2_048),
    "meta.llama3-2": ContextWindow(128_000, 2_048),
    "meta.llama3-3": ContextWindow(128_000, 2_048),
    "meta.llama4": ContextWindow(128_000, 8_192),
    # Mistral: Large (24.02) and Small 32K; Large 2 (24.07) 128K.
    "mistral.mistral-large-2402": ContextWindow(32_000, 8_192),
    "mistral.mistral-large-2407": ContextWindow(128_000, 8_192),
    "mistral.mistral-small": ContextWindow(32_000, 8_192),
    "mistral.mixtral-8x7b": ContextWindow(32_000, 4_096),
    "mistral.mistral-7b": ContextWindow(32_000, 8_192),
    "cohere.command-r": ContextWindow(128_000, 4_000),
    "ai21.jamba-1-5": ContextWindow(256_000, 4_096),
    "deepseek.r1": ContextWindow(128_000, 32_768),
    "openai.gpt-oss": ContextWindow(128_000, 16_384),
    # The local stack's embedded model: llama.cpp's per-request context (local_stack
    # EmbeddedEngine ctx_size, 4,096 by default) and its default generation limit.
    "local.": ContextWindow(4_096, 1_024),
}

_INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.", "ca.")


def context_window(model_id: str) -> ContextWindow:
    """The model's context window and output limit (``DEFAULT_WINDOW`` for an unknown model)."""
    base = model_id.split("/")[-1]  # an inference-profile or provisioned ARN ends in the id
    for prefix in _INFERENCE_PROFILE_PREFIXES:
        if base.startswith(prefix) and base.count(".") >= 2:
            base = base[len(prefix) :]
            break
    best = ""
    for prefix in CONTEXT_WINDOWS:
        if base.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return CONTEXT_WINDOWS[best] if best else DEFAULT_WINDOW

"""Bedrock as the chat domain sees it: a streaming `ChatModel` (langchain-aws
`ChatBedrockConverse`) and a `ModelDirectory` (ListFoundationModels)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from langchain_aws import ChatBedrockConverse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from chatbot_common.errors import DomainError, InvalidInput, Throttled, UpstreamError
from chatbot_common.model_ids import provider_of
from lambda_chat.domain.entities import ModelInfo
from lambda_chat.domain.errors import ModelBusy
from lambda_chat.domain.ports import ModelChunk, ModelRequest

# Model id prefixes langchain-aws knows as providers.
_KNOWN_PROVIDERS = {
    "ai21", "amazon", "anthropic", "cohere", "deepseek", "meta", "mistral", "openai", "qwen",
    "writer", "twelvelabs", "moonshot", "moonshotai", "xai", "zai",
}  # fmt: skip


def provider_for(model_id: str) -> str:
    """The provider langchain-aws should assume for a model id; unknown ones count as amazon."""
    candidate = provider_of(model_id)
    return candidate if candidate in _KNOWN_PROVIDERS else "amazon"


def translate_bedrock_error(exc: Exception) -> DomainError:
    """A Bedrock failure (from the call or from inside the event stream) as a domain error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        # Errors inside the event stream use lower-camel codes ("throttlingException").
        code = str(error.get("Code", "")).lower()
        if code in ("throttlingexception", "toomanyrequestsexception"):
            return Throttled("The model is receiving too many requests; retry shortly")
        if code in ("serviceunavailableexception", "modelnotreadyexception"):
            return ModelBusy("The model is temporarily unavailable")
        if code in ("accessdeniedexception", "resourcenotfoundexception"):
            return InvalidInput("The requested model is not available to this deployment")
        if code == "validationexception":
            return InvalidInput(f"The model rejected the request: {error.get('Message', 'invalid input')}")
        if code == "modeltimeoutexception":
            return UpstreamError("The model timed out")
        return UpstreamError(f"The model call failed ({error.get('Code') or 'unknown error'})")
    if isinstance(exc, BotoCoreError | ConnectionError):
        return UpstreamError("The model stream was interrupted")
    return UpstreamError("The model call failed")


def to_langchain(request: ModelRequest) -> list[BaseMessage]:
    """Converse blocks ride through unchanged: langchain-aws passes blocks without a "type" key
    to Bedrock as they are, so image blocks reach Bedrock as Converse `image` blocks."""
    messages: list[BaseMessage] = []
    if request.system:
        messages.append(SystemMessage(content=request.system))
    for message in request.messages:
        content: list[str | dict[Any, Any]] = [dict(block) for block in message.content]
        if message.role == "user":
            messages.append(HumanMessage(content=content))
        else:
            messages.append(AIMessage(content=content))
    return messages


class BedrockChatModel:
    """`ChatModel` over ChatBedrockConverse, one instance per (model id, max tokens), all sharing
    the bedrock-runtime client built at start-up."""

    def __init__(self, runtime_client: Any, control_client: Any, *, region: str, max_tokens: int) -> None:
        self._runtime = runtime_client
        self._control = control_client
        self._region = region
        self._max_tokens = max_tokens
        self._models: dict[tuple[str, int], ChatBedrockConverse] = {}
        self._lock = threading.Lock()

    def chat_model(self, model_id: str, max_tokens: int | None = None) -> Any:
        key = (model_id, max_tokens or self._max_tokens)
        with self._lock:
            llm = self._models.get(key)
            if llm is None:
                llm = ChatBedrockConverse(
                    model=model_id,
                    region_name=self._region,
                    provider=provider_for(model_id),
                    disable_streaming=False,
                    max_tokens=key[1],
                    client=self._runtime,
                    bedrock_client=self._control,
                )
                self._models[key] = llm
            return llm

    def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        llm = self.chat_model(request.model_id, request.max_tokens)
        try:
            # A per-call inferenceConfig replaces the instance's (langchain-aws passes it to
            # Converse unchanged; tests/unit/chat/test_inference_settings.py shows it).
            extra = {"inferenceConfig": dict(request.inference_config)} if request.inference_config else {}
            chunks = llm.stream(to_langchain(request), **extra)
            try:
                for chunk in chunks:
                    yield _chunk_from(chunk)
            finally:
                chunks.close()
        except DomainError:
            raise
        except (ClientError, BotoCoreError, ConnectionError) as exc:
            raise translate_bedrock_error(exc) from exc

    def warm_up(self, model_id: str) -> None:
        """Build the default model's client objects at start-up rather than on the first request."""
        self.chat_model(model_id)


def _chunk_from(chunk: Any) -> ModelChunk:
    usage = getattr(chunk, "usage_metadata", None) or {}
    metadata = getattr(chunk, "response_metadata", None) or {}
    cache_read, cache_write = _cache_counts(usage)
    input_tokens = usage.get("input_tokens") if usage else None
    if input_tokens is not None:
        # langchain-aws adds the cache counts into input_tokens; Converse's inputTokens (billed at
        # the input price) excludes them.
        input_tokens = max(0, input_tokens - (cache_read or 0) - (cache_write or 0))
    return ModelChunk(
        text=chunk.text if isinstance(chunk.text, str) else "",
        tool_use=bool(getattr(chunk, "tool_call_chunks", None)),
        input_tokens=input_tokens,
        output_tokens=usage.get("output_tokens") if usage else None,
        stop_reason=metadata.get("stopReason"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def _cache_counts(usage: Any) -> tuple[int | None, int | None]:
    """Converse cacheReadInputTokens / cacheWriteInputTokens, which langchain-aws reports as
    usage_metadata input_token_details cache_read and cache_creation (the latter split into
    ephemeral_5m/1h_input_tokens when Bedrock sends cacheDetails)."""
    details = (usage or {}).get("input_token_details") or {}
    if not details:
        return None, None
    read = details.get("cache_read")
    write = (details.get("cache_creation") or 0) + (details.get("ephemeral_5m_input_tokens") or 0)
    write += details.get("ephemeral_1h_input_tokens") or 0
    return (int(read) if read is not None else None), int(write)


class BedrockModelDirectory:
    """`ModelDirectory` from ListFoundationModels: text output, streaming, on-demand or profile."""

    def __init__(self, control_client: Any) -> None:
        self._control = control_client

    def list_models(self) -> list[ModelInfo]:
        try:
            response = self._control.list_foundation_models(byOutputModality="TEXT")
        except (ClientError, BotoCoreError) as exc:
            raise translate_bedrock_error(exc) from exc
        models: list[ModelInfo] = []
        by_arn: dict[str, ModelInfo] = {}
        for summary in response.get("modelSummaries", []):
            if not summary.get("responseStreamingSupported"):
                continue
            if "TEXT" not in summary.get("outputModalities", []):
                continue
            if (summary.get("modelLifecycle") or {}).get("status", "ACTIVE") != "ACTIVE":
                continue
            info = ModelInfo(
                id=summary["modelId"],
                name=summary.get("modelName") or summary["modelId"],
                provider=summary.get("providerName") or provider_for(summary["modelId"]),
                input_modalities=list(summary.get("inputModalities", ["TEXT"])),
                output_modalities=list(summary.get("outputModalities", ["TEXT"])),
                streaming=True,
            )
            if summary.get("modelArn"):
                by_arn[summary["modelArn"]] = info
            if "ON_DEMAND" in summary.get("inferenceTypesSupported", ["ON_DEMAND"]):
                models.append(info)
        return models + self._inference_profiles(by_arn)

    def _inference_profiles(self, by_arn: dict[str, ModelInfo]) -> list[ModelInfo]:
        """Cross-region inference profiles (us.amazon.nova-lite-v1:0, ...) over listed models:
        newer models are only callable through them."""
        try:
            response = self._control.list_inference_profiles(typeEquals="SYSTEM_DEFINED", maxResults=1000)
        except (ClientError, BotoCoreError):
            return []
        profiles = []
        for profile in response.get("inferenceProfileSummaries", []):
            if profile.get("status", "ACTIVE") != "ACTIVE":
                continue
            arns = [entry.get("modelArn", "") for entry in profile.get("models", [])]
            base = next((by_arn[arn] for arn in arns if arn in by_arn), None)
            if base is None:
                continue
            profiles.append(
                ModelInfo(
                    id=profile["inferenceProfileId"],
                    name=profile.get("inferenceProfileName") or base.name,
                    provider=base.provider,
                    input_modalities=base.input_modalities,
                    output_modalities=base.output_modalities,
                    streaming=True,
                )
            )
        return profiles

"""Bedrock as the chat domain sees it: a streaming `ChatModel` (langchain-aws
`ChatBedrockConverse`) and a `ModelDirectory` (ListFoundationModels)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from langchain_aws import ChatBedrockConverse

from chatbot_common.errors import DomainError, InvalidInput, Throttled, UpstreamError
from chatbot_common.model_ids import provider_of
from lambda_chat.adapters.bedrock_tools import (
    is_input_too_long,
    is_tool_support_error,
    stream_keywords,
    to_langchain_messages,
    tool_model_chunks,
)
from lambda_chat.adapters.offline_calls import offline_calls
from lambda_chat.domain.entities import ModelInfo
from lambda_chat.domain.errors import ModelBusy
from lambda_chat.domain.ports import ChatMessage, ModelChunk, ModelRequest
from lambda_chat.tools.model_stream import InputTooLong, ToolModelRequest, ToolsUnsupported

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
        """ConverseStream through langchain-aws. Tool blocks travel as langchain tool_calls and
        ToolMessages and `toolConfig` as a call keyword (`adapters.bedrock_tools`); chunks carry
        toolUse parts as `ToolModelChunk.tool_part`. A model that refuses `toolConfig` raises
        ToolsUnsupported, an input that does not fit the model's context window InputTooLong;
        other Bedrock failures are translated (`translate_bedrock_error`)."""
        llm = self.chat_model(request.model_id, request.max_tokens)
        try:
            # A per-call inferenceConfig replaces the instance's (langchain-aws passes it to
            # Converse unchanged; tests/unit/chat/test_inference_settings.py shows it).
            extra = {"inferenceConfig": dict(request.inference_config)} if request.inference_config else {}
            chunks = llm.stream(to_langchain_messages(request), **stream_keywords(request), **extra)
            try:
                yield from tool_model_chunks(chunks)
            finally:
                chunks.close()
        except DomainError:
            raise
        except ClientError as exc:
            if getattr(request, "tool_config", None) and is_tool_support_error(exc):
                raise ToolsUnsupported(f"The model {request.model_id} does not support tool use") from exc
            if is_input_too_long(exc):
                raise InputTooLong(translate_bedrock_error(exc).message) from exc
            raise translate_bedrock_error(exc) from exc
        except (BotoCoreError, ConnectionError) as exc:
            raise translate_bedrock_error(exc) from exc

    def warm_up(self, model_id: str) -> None:
        """Build the default model's client objects at start-up rather than on the first request."""
        self.chat_model(model_id)

    def prime(self, model_id: str) -> int:
        """Run one representative turn through the whole request path, offline (start-up priming):
        our message conversion, langchain-aws's (messages, tool calls, cache points), botocore's
        ConverseStream operation model, validation and serialization, and the parsing of a stream
        of events back into chunks. The call stops at botocore's `before-call` hook
        (`adapters.offline_calls`): nothing is sent. Returns the number of chunks streamed."""
        # langchain-aws consumes the events it parses (pops their keys): a fresh copy per call.
        answers = {"ConverseStream": lambda _: {"stream": copy.deepcopy(_PRIMING_EVENTS)}}
        with offline_calls(self._runtime, answers):
            return sum(1 for _ in self.stream(_priming_request(model_id)))


# A turn with what real turns carry: system prompt and cache points, a tool call and its result,
# an inference configuration. Its answer: text, a toolUse block, the stop reason and usage.
_PRIMING_TOOL = "priming_tool"
_PRIMING_EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "ok"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {
        "contentBlockStart": {
            "start": {"toolUse": {"toolUseId": "tooluse_priming2", "name": _PRIMING_TOOL}},
            "contentBlockIndex": 1,
        }
    },
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"q": "x"}'}}, "contentBlockIndex": 1}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {"messageStop": {"stopReason": "tool_use"}},
    {
        "metadata": {
            "usage": {
                "inputTokens": 3,
                "outputTokens": 2,
                "totalTokens": 9,
                "cacheReadInputTokens": 2,
                "cacheWriteInputTokens": 2,
            },
            "metrics": {"latencyMs": 1},
        }
    },
]


def _priming_request(model_id: str) -> ToolModelRequest:
    call_id = "tooluse_priming1"
    tool_use = {"toolUse": {"toolUseId": call_id, "name": _PRIMING_TOOL, "input": {"q": "x"}}}
    result = {"toolResult": {"toolUseId": call_id, "content": [{"text": "x"}], "status": "success"}}
    return ToolModelRequest(
        model_id=model_id,
        system="Answer briefly.",
        messages=[
            ChatMessage.text("user", "Hello"),
            ChatMessage(role="assistant", content=[{"text": "Looking."}, tool_use]),
            ChatMessage(role="user", content=[result, {"text": "Thanks"}]),
        ],
        cache_system=True,
        cache_after_messages=(2,),
        inference_config={"maxTokens": 16, "temperature": 0.5},
        tool_config={
            "tools": [
                {
                    "toolSpec": {
                        "name": _PRIMING_TOOL,
                        "description": "Start-up priming only.",
                        "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}},
                    }
                }
            ],
            "toolChoice": {"auto": {}},
        },
    )


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

"""Per-model limits and prices: one table for validating inference settings, placing prompt-cache
points and pricing every model call.

Shape (JSON, camelCase, as it appears in cdk.json context ``modelTable`` and in the Lambda's
``CHATBOT_MODEL_TABLE`` setting). Keys are Bedrock model ids or id prefixes; a key may carry an
inference-profile geography (``global.anthropic.claude-sonnet-4-5``) to price that route apart::

    {
      "amazon.nova-lite-v1": {
        "name": "Amazon Nova Lite",
        "contextWindow": 300000,           # tokens (input + output), null when unknown
        "maxOutputTokens": 10000,          # Converse inferenceConfig.maxTokens upper bound
        "temperature": {"min": 0, "max": 1},
        "topP": {"min": 0, "max": 1},
        "sampling": "temperatureAndTopP",  # | "temperatureOrTopP" (not both) | "none" (neither)
        "promptCaching": {"supported": true, "minTokensPerCheckpoint": 1000, "maxCheckpoints": 4,
                          "fields": ["system", "messages"]},
        "price": {"inputPer1k": "0.00006", "outputPer1k": "0.00024",
                  "cacheReadPer1k": "0.000015", "cacheWritePer1k": "0.00006",
                  "asOf": "2026-12-03", "source": "https://aws.amazon.com/bedrock/pricing/"},
        "limitsSource": "https://docs.aws.amazon.com/..."
      }
    }

A deployment supplies only its *overrides* (Lambda environment variables share 4 KB): each override
is merged field by field onto the entry its key resolves to today, so
``{"us.anthropic.claude-sonnet-4-5": {"price": {...}}}`` keeps Sonnet 4.5's limits and changes its
price (a ``price`` is replaced whole, with its own ``asOf`` and ``source``). ``price: null``
means "price unknown": the call's cost is then unknown (None), never guessed.

Lookup (`ModelTable.profile_for`): the exact id, then the longest key that prefixes the id, then the
same two on the id without its geography prefix or ARN, then `UNKNOWN_MODEL` (Bedrock's documented
Converse defaults: temperature and topP in [0, 1], maxTokens >= 1, no known context window, no
prompt caching, no price). Local models (``local.*``) cost 0.

Sources. Prices: Amazon Bedrock pricing, https://aws.amazon.com/bedrock/pricing/ (on-demand,
standard tier, us-east-1 list prices per 1,000 tokens), checked on the ``asOf`` date against
published copies of that page; Claude 4.5+ models cost 10% more on geographic/in-region routes than
on ``global.`` profiles: override per prefix where that matters. Prompt caching:
https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html (at most 4 cache
checkpoints per request; per-model minimum tokens per checkpoint). Claude cache writes cost 1.25x
input and reads 0.1x; Nova cache reads 0.25x input and writes cost the input price. Sampling:
https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
(Claude Sonnet 4.5 / Haiku 4.5 and later accept temperature or top_p, not both). Context windows and
output limits: each model's page in the Bedrock user guide; the unit tests cross-check them against
the models.dev profiles shipped in langchain-aws.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from chatbot_common.model_ids import base_model_id

# Converse limits (botocore's bedrock-runtime model, shape InferenceConfiguration / CachePointBlock;
# the unit tests compare these with the installed botocore).
CONVERSE_TEMPERATURE_RANGE = (0.0, 1.0)
CONVERSE_TOP_P_RANGE = (0.0, 1.0)
CONVERSE_MIN_MAX_TOKENS = 1
CONVERSE_MAX_STOP_SEQUENCES = 2500
# "You can add up to four cache checkpoints per request" (Bedrock prompt caching guide).
MAX_CACHE_CHECKPOINTS = 4

PRICING_SOURCE = "https://aws.amazon.com/bedrock/pricing/"
PRICES_AS_OF = date(2026, 12, 3)
LOCAL_MODEL_PREFIX = "local."
# The share of a function's 4 KB of environment variables the overrides may take.
MAX_SETTING_CHARS = 2_048

Sampling = Literal["temperatureAndTopP", "temperatureOrTopP", "none"]


def _camel(name: str) -> str:
    # "input_per_1k" -> "inputPer1k" (pydantic's to_camel would capitalise the k).
    return to_camel(name).replace("1K", "1k")


class _Shape(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, frozen=True, extra="forbid")


class ValueRange(_Shape):
    """An inclusive numeric range."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> ValueRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def contains(self, value: float) -> bool:
        return self.min <= value <= self.max

    def describe(self) -> str:
        return f"{_number(self.min)} to {_number(self.max)}"


class PromptCaching(_Shape):
    """Whether Bedrock accepts Converse `cachePoint` blocks for the model, and its limits."""

    supported: bool = False
    # The prefix before a checkpoint must reach this many tokens or no cache entry is made.
    min_tokens_per_checkpoint: int | None = Field(default=None, ge=1)
    max_checkpoints: int = Field(default=MAX_CACHE_CHECKPOINTS, ge=0, le=MAX_CACHE_CHECKPOINTS)
    # Converse request fields that may hold a cachePoint: "system", "messages", "tools".
    fields: tuple[Literal["system", "messages", "tools"], ...] = ()


class Price(_Shape):
    """USD per 1,000 tokens, with the date it was read and where.

    ``cacheReadPer1k`` / ``cacheWritePer1k`` apply to Converse usage ``cacheReadInputTokens`` /
    ``cacheWriteInputTokens`` (billed apart from ``inputTokens``); None means the model reports
    none, and any that appear are billed at the input price.
    """

    input_per_1k: Decimal = Field(ge=0)
    output_per_1k: Decimal = Field(ge=0)
    cache_read_per_1k: Decimal | None = Field(default=None, ge=0)
    cache_write_per_1k: Decimal | None = Field(default=None, ge=0)
    as_of: date
    source: str = Field(min_length=1)


class ModelProfile(_Shape):
    """What one model accepts and costs. Token counts are tokens; None means unknown."""

    name: str
    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: ValueRange = ValueRange(min=CONVERSE_TEMPERATURE_RANGE[0], max=CONVERSE_TEMPERATURE_RANGE[1])
    top_p: ValueRange = ValueRange(min=CONVERSE_TOP_P_RANGE[0], max=CONVERSE_TOP_P_RANGE[1])
    sampling: Sampling = "temperatureAndTopP"
    prompt_caching: PromptCaching = PromptCaching()
    price: Price | None = None
    limits_source: str | None = None
    # Offer the deployment's default tools (the built-ins) when a conversation has chosen none.
    # False for a model too small to use them: their definitions take its window and derail it.
    tools_by_default: bool = True

    @property
    def accepts_temperature(self) -> bool:
        return self.sampling != "none"

    @property
    def accepts_both_temperature_and_top_p(self) -> bool:
        return self.sampling == "temperatureAndTopP"


UNKNOWN_MODEL = ModelProfile(
    name="Unknown model (Bedrock Converse defaults)",
    limits_source="https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InferenceConfiguration.html",
)


class ModelTable:
    """Model profiles by model id or id prefix; see the module docstring for lookup and shape."""

    def __init__(self, entries: Mapping[str, ModelProfile], *, unknown: ModelProfile = UNKNOWN_MODEL) -> None:
        self._entries = dict(entries)
        self._unknown = unknown
        # Longest keys first, so "anthropic.claude-opus-4-1" wins over "anthropic.claude-opus-4".
        self._keys = sorted(self._entries, key=len, reverse=True)

    def key_for(self, model_id: str) -> str | None:
        """The table key that describes `model_id`, or None when it is unknown."""
        for candidate in dict.fromkeys((model_id, base_model_id(model_id))):
            if candidate in self._entries:
                return candidate
            for key in self._keys:
                if candidate.startswith(key):
                    return key
        return None

    def profile_for(self, model_id: str) -> ModelProfile:
        """The model's profile; `UNKNOWN_MODEL` (Bedrock's documented defaults) when unknown."""
        key = self.key_for(model_id)
        return self._entries[key] if key is not None else self._unknown

    def price_for(self, model_id: str) -> Price | None:
        return self.profile_for(model_id).price

    def with_overrides(self, overrides: Mapping[str, Any] | str | None) -> ModelTable:
        """A new table with a deployment's overrides merged in (dict, or its JSON text).

        Raises ValueError naming the key and field when an override is malformed, so a bad
        deployment setting fails at start-up.
        """
        if overrides is None or overrides == "":
            return self
        if isinstance(overrides, str):
            try:
                overrides = json.loads(overrides)
            except json.JSONDecodeError as exc:
                raise ValueError(f"modelTable is not valid JSON: {exc}") from exc
        if not isinstance(overrides, Mapping):
            raise ValueError("modelTable must be an object of model id (or prefix) -> profile fields")
        entries = dict(self._entries)
        for key, fields in overrides.items():
            if not isinstance(key, str) or not key:
                raise ValueError("modelTable keys must be non-empty model ids or prefixes")
            if not isinstance(fields, Mapping):
                raise ValueError(f"modelTable[{key!r}] must be an object")
            base = self.profile_for(key).model_dump(by_alias=True, mode="json")
            if "price" in fields:
                # A price is replaced whole, never patched: its date and source must be its own.
                base["price"] = None
            try:
                entries[key] = ModelProfile.model_validate(_merged(base, fields))
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                    for error in exc.errors()
                )
                raise ValueError(f"modelTable[{key!r}]: {problems}") from exc
        return ModelTable(entries, unknown=self._unknown)

    def to_json(self) -> dict[str, Any]:
        """The whole table in its JSON shape (Decimals as strings, dates as ISO text)."""
        return {key: profile.model_dump(by_alias=True, mode="json") for key, profile in self._entries.items()}

    def entry_keys(self) -> list[str]:
        return list(self._entries)


def load_model_table(overrides: Mapping[str, Any] | str | None = None) -> ModelTable:
    """The built-in table with a deployment's overrides (the ``modelTable`` setting) applied."""
    return DEFAULT_MODEL_TABLE.with_overrides(overrides)


def encode_model_table_setting(overrides: Mapping[str, Any] | None) -> str:
    """A deployment's ``modelTable`` overrides as the Lambda's ``CHATBOT_MODEL_TABLE`` value.

    Validates them (ValueError naming the key and field, so `cdk synth` fails on a bad table) and
    returns compact JSON ("" for none). Raises ValueError past `MAX_SETTING_CHARS`: Lambda allows
    4 KB for all of a function's environment variables together.
    """
    if not overrides:
        return ""
    load_model_table(overrides)
    text = json.dumps(overrides, separators=(",", ":"), sort_keys=True, default=str)
    if len(text) > MAX_SETTING_CHARS:
        raise ValueError(
            f"modelTable overrides take {len(text)} characters; at most {MAX_SETTING_CHARS} fit in the "
            "function's environment (Lambda: 4 KB for all variables). Override fewer fields or models."
        )
    return text


def is_local_model(model_id: str) -> bool:
    return model_id.startswith(LOCAL_MODEL_PREFIX)


def _merged(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merged[key] = _merged(current, value)
        else:
            merged[key] = value
    return merged


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- built-in defaults --------------------------------------------------------------------------

_GUIDE = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
_NOVA_LIMITS = "https://docs.aws.amazon.com/nova/latest/userguide/complete-request-schema.html"
_CLAUDE_LIMITS = _GUIDE + "model-parameters-anthropic-claude-messages-request-response.html"
_LLAMA_LIMITS = _GUIDE + "model-parameters-meta.html"
_MISTRAL_LIMITS = _GUIDE + "model-parameters-mistral.html"


def _price(
    input_per_1m: str,
    output_per_1m: str,
    *,
    cache_read_per_1m: str | None = None,
    cache_write_per_1m: str | None = None,
) -> Price:
    # Written per million tokens, as the pricing page's own tables are, and stored per 1,000.
    thousand = Decimal(1000)
    return Price(
        input_per_1k=Decimal(input_per_1m) / thousand,
        output_per_1k=Decimal(output_per_1m) / thousand,
        cache_read_per_1k=None if cache_read_per_1m is None else Decimal(cache_read_per_1m) / thousand,
        cache_write_per_1k=None if cache_write_per_1m is None else Decimal(cache_write_per_1m) / thousand,
        as_of=PRICES_AS_OF,
        source=PRICING_SOURCE,
    )


def _nova(name: str, context: int, input_1m: str, output_1m: str) -> ModelProfile:
    # Nova: cache reads at 0.25x input, cache writes at the input price; cachePoint in system and
    # messages (not tools); 1,000 tokens minimum per checkpoint.
    read = str(Decimal(input_1m) / 4)
    return ModelProfile(
        name=name,
        context_window=context,
        max_output_tokens=10_000,
        prompt_caching=PromptCaching(
            supported=True, min_tokens_per_checkpoint=1_000, fields=("system", "messages")
        ),
        price=_price(input_1m, output_1m, cache_read_per_1m=read, cache_write_per_1m=input_1m),
        limits_source=_NOVA_LIMITS,
    )


def _claude(
    name: str,
    *,
    context: int,
    max_output: int,
    sampling: Sampling,
    cache_min: int | None,
    input_1m: str | None,
    output_1m: str | None,
) -> ModelProfile:
    # Claude: cache writes at 1.25x input, reads at 0.1x; cachePoint in system, messages and tools.
    price = None
    if input_1m is not None and output_1m is not None:
        base = Decimal(input_1m)
        price = _price(
            input_1m,
            output_1m,
            cache_read_per_1m=str(base / 10),
            cache_write_per_1m=str(base * Decimal("1.25")),
        )
    caching = (
        PromptCaching(
            supported=True, min_tokens_per_checkpoint=cache_min, fields=("system", "messages", "tools")
        )
        if cache_min is not None
        else PromptCaching()
    )
    return ModelProfile(
        name=name,
        context_window=context,
        max_output_tokens=max_output,
        sampling=sampling,
        prompt_caching=caching,
        price=price,
        limits_source=_CLAUDE_LIMITS,
    )


def _open_weights(
    name: str, context: int, max_output: int, input_1m: str, output_1m: str, *, source: str
) -> ModelProfile:
    return ModelProfile(
        name=name,
        context_window=context,
        max_output_tokens=max_output,
        price=_price(input_1m, output_1m),
        limits_source=source,
    )


def _llama(name: str, context: int, max_output: int, input_1m: str, output_1m: str) -> ModelProfile:
    return _open_weights(name, context, max_output, input_1m, output_1m, source=_LLAMA_LIMITS)


def _mistral(name: str, context: int, max_output: int, input_1m: str, output_1m: str) -> ModelProfile:
    return _open_weights(name, context, max_output, input_1m, output_1m, source=_MISTRAL_LIMITS)


_BOTH: Sampling = "temperatureAndTopP"
_ONE: Sampling = "temperatureOrTopP"
_NONE: Sampling = "none"

_DEFAULT_ENTRIES: dict[str, ModelProfile] = {
    # Amazon Nova (cdk.json's allowedModels use these through us. profiles).
    "amazon.nova-micro-v1": _nova("Amazon Nova Micro", 128_000, "0.035", "0.14"),
    "amazon.nova-lite-v1": _nova("Amazon Nova Lite", 300_000, "0.06", "0.24"),
    "amazon.nova-pro-v1": _nova("Amazon Nova Pro", 300_000, "0.80", "3.20"),
    "amazon.nova-premier-v1": _nova("Amazon Nova Premier", 1_000_000, "2.50", "12.50"),
    # Anthropic Claude.
    "anthropic.claude-3-5-haiku": _claude(
        "Claude 3.5 Haiku", context=200_000, max_output=8_192, sampling=_BOTH, cache_min=2_048,
        input_1m="0.80", output_1m="4.00",
    ),
    "anthropic.claude-3-7-sonnet": _claude(
        "Claude 3.7 Sonnet", context=200_000, max_output=64_000, sampling=_BOTH, cache_min=1_024,
        input_1m="3.00", output_1m="15.00",
    ),
    "anthropic.claude-sonnet-4": _claude(
        "Claude Sonnet 4", context=200_000, max_output=64_000, sampling=_BOTH, cache_min=1_024,
        input_1m="3.00", output_1m="15.00",
    ),
    "anthropic.claude-sonnet-4-5": _claude(
        "Claude Sonnet 4.5", context=200_000, max_output=64_000, sampling=_ONE, cache_min=1_024,
        input_1m="3.00", output_1m="15.00",
    ),
    # Sonnet 4.6: documented at 1,024 tokens per checkpoint, observed to cache only from 2,048
    # (anthropics/anthropic-sdk-python issue 1194); the higher figure wastes no checkpoint.
    "anthropic.claude-sonnet-4-6": _claude(
        "Claude Sonnet 4.6", context=1_000_000, max_output=128_000, sampling=_ONE, cache_min=2_048,
        input_1m="3.00", output_1m="15.00",
    ),
    "anthropic.claude-haiku-4-5": _claude(
        "Claude Haiku 4.5", context=200_000, max_output=64_000, sampling=_ONE, cache_min=4_096,
        input_1m="1.00", output_1m="5.00",
    ),
    "anthropic.claude-opus-4": _claude(
        "Claude Opus 4", context=200_000, max_output=32_000, sampling=_BOTH, cache_min=1_024,
        input_1m="15.00", output_1m="75.00",
    ),
    "anthropic.claude-opus-4-1": _claude(
        "Claude Opus 4.1", context=200_000, max_output=32_000, sampling=_ONE, cache_min=1_024,
        input_1m="15.00", output_1m="75.00",
    ),
    "anthropic.claude-opus-4-5": _claude(
        "Claude Opus 4.5", context=200_000, max_output=64_000, sampling=_ONE, cache_min=4_096,
        input_1m="5.00", output_1m="25.00",
    ),
    "anthropic.claude-opus-4-6": _claude(
        "Claude Opus 4.6", context=1_000_000, max_output=128_000, sampling=_ONE, cache_min=4_096,
        input_1m="5.00", output_1m="25.00",
    ),
    # Newer Claude models take neither temperature nor topP (langchain-aws profiles: temperature
    # unsupported). Their Bedrock prompt-caching support and most prices are not verified here, so
    # caching stays off (a cachePoint a model refuses fails the whole request) and unknown prices
    # stay None: set both in modelTable. Anthropic's API documents 2,048 tokens per checkpoint for
    # Opus 4.7, 1,024 for Opus 4.8 and Sonnet 5, 512 for Opus 5 and Fable 5.
    "anthropic.claude-opus-4-7": _claude(
        "Claude Opus 4.7", context=1_000_000, max_output=128_000, sampling=_NONE, cache_min=None,
        input_1m="5.00", output_1m="25.00",
    ),
    "anthropic.claude-opus-4-8": _claude(
        "Claude Opus 4.8", context=1_000_000, max_output=128_000, sampling=_NONE, cache_min=None,
        input_1m=None, output_1m=None,
    ),
    "anthropic.claude-opus-5": _claude(
        "Claude Opus 5", context=1_000_000, max_output=128_000, sampling=_NONE, cache_min=None,
        input_1m=None, output_1m=None,
    ),
    "anthropic.claude-sonnet-5": _claude(
        "Claude Sonnet 5", context=1_000_000, max_output=128_000, sampling=_NONE, cache_min=None,
        input_1m=None, output_1m=None,
    ),
    "anthropic.claude-haiku-5": _claude(
        "Claude Haiku 5", context=1_000_000, max_output=128_000, sampling=_NONE, cache_min=None,
        input_1m=None, output_1m=None,
    ),
    "anthropic.claude-fable-5": _claude(
        "Claude Fable 5", context=1_000_000, max_output=128_000, sampling=_NONE, cache_min=None,
        input_1m=None, output_1m=None,
    ),
    # Meta Llama (max_gen_len tops out at 2,048 for Llama 3.x on Bedrock). Context, max output,
    # USD per million input and output tokens.
    "meta.llama3-1-8b-instruct": _llama("Llama 3.1 8B Instruct", 128_000, 2_048, "0.22", "0.22"),
    "meta.llama3-1-70b-instruct": _llama("Llama 3.1 70B Instruct", 128_000, 2_048, "0.72", "0.72"),
    "meta.llama3-1-405b-instruct": _llama("Llama 3.1 405B Instruct", 128_000, 2_048, "2.40", "2.40"),
    "meta.llama3-2-1b-instruct": _llama("Llama 3.2 1B Instruct", 128_000, 2_048, "0.10", "0.10"),
    "meta.llama3-2-3b-instruct": _llama("Llama 3.2 3B Instruct", 128_000, 2_048, "0.15", "0.15"),
    "meta.llama3-2-11b-instruct": _llama("Llama 3.2 11B Vision Instruct", 128_000, 2_048, "0.16", "0.16"),
    "meta.llama3-2-90b-instruct": _llama("Llama 3.2 90B Vision Instruct", 128_000, 2_048, "0.72", "0.72"),
    "meta.llama3-3-70b-instruct": _llama("Llama 3.3 70B Instruct", 128_000, 2_048, "0.72", "0.72"),
    "meta.llama4-scout-17b-instruct": _llama("Llama 4 Scout 17B Instruct", 3_500_000, 8_192, "0.17", "0.66"),
    "meta.llama4-maverick-17b-instruct": _llama("Llama 4 Maverick 17B", 1_000_000, 8_192, "0.24", "0.97"),
    # Mistral AI.
    "mistral.mistral-7b-instruct": _mistral("Mistral 7B Instruct", 32_000, 8_192, "0.15", "0.20"),
    "mistral.mixtral-8x7b-instruct": _mistral("Mixtral 8x7B Instruct", 32_000, 4_096, "0.45", "0.70"),
    "mistral.mistral-small-2402": _mistral("Mistral Small (24.02)", 32_000, 8_192, "1.00", "3.00"),
    "mistral.mistral-large-2402": _mistral("Mistral Large (24.02)", 32_000, 8_192, "4.00", "12.00"),
    "mistral.mistral-large-2407": _mistral("Mistral Large 2 (24.07)", 128_000, 8_192, "2.00", "6.00"),
    "mistral.pixtral-large-2502": _mistral("Pixtral Large (25.02)", 128_000, 8_192, "2.00", "6.00"),
    # The local stack's models (embedded GGUF, scripted test model): free, Converse ranges; the
    # window is the local runtime's context per request (--ctx-size 4096). Input and output share
    # it, so the output bound is half of it: a maxTokens of the whole window would leave no room
    # for the conversation (its history budget would be 0) and the answer would be cut where the
    # window fills; above the bound, maxTokens is a 400 naming the range.
    LOCAL_MODEL_PREFIX: ModelProfile(
        name="Local model",
        context_window=4_096,
        max_output_tokens=2_048,
        # The local runtime accepts cachePoint where Bedrock does and reports real prefix reuse
        # (llama.cpp's reused prompt tokens; the scripted model's prefix cache).
        # No minimum there: any prefix behind a cache point is cached (1 token per checkpoint).
        prompt_caching=PromptCaching(
            supported=True, min_tokens_per_checkpoint=1, fields=("system", "messages", "tools")
        ),
        price=Price(
            input_per_1k=Decimal(0),
            output_per_1k=Decimal(0),
            cache_read_per_1k=Decimal(0),
            cache_write_per_1k=Decimal(0),
            as_of=PRICES_AS_OF,
            source="local model: runs on this machine, no per-token charge",
        ),
        limits_source="local_stack/bedrock_runtime (Converse ranges; --ctx-size)",
    ),
}  # fmt: skip
# The embedded default model, SmolLM2-135M: as the other local models, but it is offered no tools
# unless a conversation or turn names some. It does not call them on its own, and their
# definitions (614 tokens of its 4,096) derailed plain answers: asked "hello", it answered "I'm
# glad you're enjoying the tool!" with them, "Hello! How can I assist you today?" without.
_DEFAULT_ENTRIES["local.smollm2"] = _DEFAULT_ENTRIES[LOCAL_MODEL_PREFIX].model_copy(
    update={"name": "SmolLM2 (embedded)", "tools_by_default": False}
)

DEFAULT_MODEL_TABLE = ModelTable(_DEFAULT_ENTRIES)

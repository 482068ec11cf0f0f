"""Inference settings (Converse ``inferenceConfig``): parsed, checked against a model's limits,
layered (conversation, then turn) and turned into the request Bedrock receives.

Rules come from the Converse API (InferenceConfiguration: maxTokens >= 1, temperature and topP in
[0, 1], at most 2,500 non-empty stop sequences) narrowed by the model's profile in
`chatbot_common.model_table` (its output-token limit, and whether it takes temperature and topP
together, one of them, or neither).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatbot_common.errors import InvalidInput
from chatbot_common.model_table import CONVERSE_MAX_STOP_SEQUENCES, CONVERSE_MIN_MAX_TOKENS, ModelProfile

FIELDS = ("temperature", "topP", "maxTokens", "stopSequences")


class InvalidInferenceConfig(InvalidInput):
    """An inference setting the model cannot take (HTTP 400).

    `field` is the request path of the offending value ("inferenceConfig.temperature", or
    "lanes[1].inferenceConfig.temperature" in a comparison); `allowed` says what would be accepted.
    """

    code = "invalid_inference_config"

    def __init__(self, field: str, message: str, *, allowed: str | None = None) -> None:
        super().__init__(f"{field}: {message}" + (f" (allowed: {allowed})" if allowed else ""))
        self.field = field
        self.allowed = allowed


@dataclass(frozen=True)
class InferenceSettings:
    """Converse inference settings; None means "not set" (the model's default, or an earlier layer)."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop_sequences: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None, *, field: str = "inferenceConfig") -> InferenceSettings:
        """Parse the API's camelCase object, checking types only (ranges depend on the model).

        Raises InvalidInferenceConfig naming the field for unknown keys and wrong types.
        """
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise InvalidInferenceConfig(field, "must be an object", allowed=", ".join(FIELDS))
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise InvalidInferenceConfig(
                f"{field}.{unknown[0]}", "is not an inference setting", allowed=", ".join(FIELDS)
            )
        stops = raw.get("stopSequences")
        if stops is not None:
            if isinstance(stops, str) or not isinstance(stops, list | tuple):
                raise InvalidInferenceConfig(f"{field}.stopSequences", "must be a list of strings")
            for index, stop in enumerate(stops):
                if not isinstance(stop, str):
                    raise InvalidInferenceConfig(f"{field}.stopSequences[{index}]", "must be a string")
        return cls(
            temperature=_float(raw.get("temperature"), f"{field}.temperature"),
            top_p=_float(raw.get("topP"), f"{field}.topP"),
            max_tokens=_int(raw.get("maxTokens"), f"{field}.maxTokens"),
            stop_sequences=None if stops is None else tuple(stops),
        )

    def to_json(self) -> dict[str, Any]:
        """The set fields in the API's camelCase (what is stored and echoed back)."""
        out: dict[str, Any] = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.top_p is not None:
            out["topP"] = self.top_p
        if self.max_tokens is not None:
            out["maxTokens"] = self.max_tokens
        if self.stop_sequences is not None:
            out["stopSequences"] = list(self.stop_sequences)
        return out

    def is_empty(self) -> bool:
        return not self.to_json()

    def over(self, base: InferenceSettings) -> InferenceSettings:
        """These settings layered over `base` (a turn's over its conversation's): set fields win."""
        return InferenceSettings(
            temperature=self.temperature if self.temperature is not None else base.temperature,
            top_p=self.top_p if self.top_p is not None else base.top_p,
            max_tokens=self.max_tokens if self.max_tokens is not None else base.max_tokens,
            stop_sequences=self.stop_sequences if self.stop_sequences is not None else base.stop_sequences,
        )


def validate_inference(
    settings: InferenceSettings, profile: ModelProfile, *, model_id: str, field: str = "inferenceConfig"
) -> InferenceSettings:
    """Check `settings` against the model's limits; returns them unchanged when valid.

    Raises InvalidInferenceConfig naming the field (under `field`) and the allowed range.
    """
    if settings.temperature is not None:
        _check_sampling(profile, model_id, f"{field}.temperature")
        if not profile.temperature.contains(settings.temperature):
            raise InvalidInferenceConfig(
                f"{field}.temperature",
                f"{_number(settings.temperature)} is out of range for {model_id}",
                allowed=profile.temperature.describe(),
            )
    if settings.top_p is not None:
        _check_sampling(profile, model_id, f"{field}.topP")
        if not profile.top_p.contains(settings.top_p):
            raise InvalidInferenceConfig(
                f"{field}.topP",
                f"{_number(settings.top_p)} is out of range for {model_id}",
                allowed=profile.top_p.describe(),
            )
    if (
        settings.temperature is not None
        and settings.top_p is not None
        and not profile.accepts_both_temperature_and_top_p
    ):
        raise InvalidInferenceConfig(
            f"{field}.topP",
            f"{model_id} takes temperature or topP, not both",
            allowed="set only one of temperature and topP",
        )
    if settings.max_tokens is not None:
        ceiling = profile.max_output_tokens
        if settings.max_tokens < CONVERSE_MIN_MAX_TOKENS or (
            ceiling is not None and settings.max_tokens > ceiling
        ):
            allowed = (
                f"{CONVERSE_MIN_MAX_TOKENS} to {ceiling}"
                if ceiling is not None
                else f"at least {CONVERSE_MIN_MAX_TOKENS}"
            )
            raise InvalidInferenceConfig(
                f"{field}.maxTokens", f"{settings.max_tokens} is out of range for {model_id}", allowed=allowed
            )
    if settings.stop_sequences is not None:
        if len(settings.stop_sequences) > CONVERSE_MAX_STOP_SEQUENCES:
            raise InvalidInferenceConfig(
                f"{field}.stopSequences",
                f"has {len(settings.stop_sequences)} entries",
                allowed=f"at most {CONVERSE_MAX_STOP_SEQUENCES}",
            )
        for index, stop in enumerate(settings.stop_sequences):
            if not stop:
                raise InvalidInferenceConfig(f"{field}.stopSequences[{index}]", "must not be empty")
    return settings


def converse_inference_config(
    settings: InferenceSettings, profile: ModelProfile, *, default_max_tokens: int | None = None
) -> dict[str, Any]:
    """The Converse ``inferenceConfig`` for validated `settings`.

    maxTokens is always sent: the setting, else `default_max_tokens` (the deployment's default)
    capped at the model's output limit, so a small model is never asked for more than it allows.
    """
    config: dict[str, Any] = {}
    max_tokens = settings.max_tokens
    if max_tokens is None and default_max_tokens is not None:
        max_tokens = default_max_tokens
        if profile.max_output_tokens is not None:
            max_tokens = min(max_tokens, profile.max_output_tokens)
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if settings.temperature is not None:
        config["temperature"] = settings.temperature
    if settings.top_p is not None:
        config["topP"] = settings.top_p
    if settings.stop_sequences:
        config["stopSequences"] = list(settings.stop_sequences)
    return config


def _check_sampling(profile: ModelProfile, model_id: str, field: str) -> None:
    if not profile.accepts_temperature:
        raise InvalidInferenceConfig(
            field, f"{model_id} does not accept temperature or topP", allowed="leave it unset"
        )


def _float(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInferenceConfig(field, "must be a number")
    return float(value)


def _int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInferenceConfig(field, "must be a whole number")
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

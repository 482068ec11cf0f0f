"""Which models a user may pick, cached: Bedrock's list changes rarely and costs a call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from chatbot_common.errors import DomainError, InvalidInput
from chatbot_common.model_ids import provider_of
from lambda_chat.domain.entities import ModelInfo
from lambda_chat.domain.ports import ModelDirectory


class ModelCatalog:
    def __init__(
        self,
        directory: ModelDirectory,
        *,
        default_model_id: str,
        allowed_model_ids: Sequence[str] = (),
        ttl_seconds: float = 300.0,
        retry_after_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._default = default_model_id
        self._allowed = list(allowed_model_ids)
        self._ttl = ttl_seconds
        self._retry_after = retry_after_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: list[ModelInfo] | None = None
        self._fetched_at = 0.0

    def models(self) -> list[ModelInfo]:
        with self._lock:
            if self._cached is None or self._clock() - self._fetched_at > self._ttl:
                try:
                    listed = self._directory.list_models()
                except DomainError:
                    if self._cached is None:
                        raise
                    # A stale list beats refusing every chat while the control plane hiccups.
                    self._fetched_at = self._clock() - self._ttl + self._retry_after
                    return list(self._cached)
                self._cached = self._with_configured(listed)
                self._fetched_at = self._clock()
            return list(self._cached)

    def _with_configured(self, listed: list[ModelInfo]) -> list[ModelInfo]:
        """The allow-list (or, without one, everything listed) plus the configured ids even when
        Bedrock's list lacks them: cross-region inference profiles (us.amazon.nova-lite-v1:0) are
        only listed where ListInferenceProfiles is permitted, and an operator's explicit choice
        should not be refused for that. Bedrock itself still rejects an id that does not exist."""
        configured = self._allowed or [self._default]
        if self._allowed:
            allowed = set(self._allowed)
            listed = [model for model in listed if model.id in allowed]
        known = {model.id for model in listed}
        extra = [_described(model_id) for model_id in dict.fromkeys(configured) if model_id not in known]
        return listed + extra

    def default_model_id(self) -> str:
        models = self.models()
        if not models or any(model.id == self._default for model in models):
            return self._default
        return models[0].id

    def require(self, model_id: str) -> ModelInfo:
        """The model's description, or InvalidInput when it is not on the list."""
        for model in self.models():
            if model.id == model_id:
                return model
        raise InvalidInput(f"Unknown or unavailable model '{model_id}'. See GET /models.")


def _described(model_id: str) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        name=model_id,
        provider=provider_of(model_id),
        input_modalities=["TEXT"],
        output_modalities=["TEXT"],
        streaming=True,
    )

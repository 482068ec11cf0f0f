"""The runtime's state behind the wire: models, limits, faults, recorded requests (moto's `models.py`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from chatbot_common.model_ids import base_model_id, split_model_id
from local_stack.bedrock_runtime.engine import Engine
from local_stack.bedrock_runtime.faults import FaultInjector

__all__ = ["InFlightLimiter", "ModelRegistry", "base_model_id"]


class ModelRegistry:
    """Resolves the model ids clients send (plain ids, ARNs, inference-profile ids, aliases)."""

    def __init__(self, engines: Sequence[Engine], aliases: dict[str, str] | None = None) -> None:
        self.engines = list(engines)
        self._by_id = {e.description.model_id: e for e in self.engines}
        self._aliases = dict(aliases or {})

    def resolve(self, model_id: str) -> Engine | None:
        candidate = self._aliases.get(model_id, model_id)
        if candidate.startswith("arn:"):
            candidate = candidate.rsplit("/", 1)[-1]
        candidate = self._aliases.get(candidate, candidate)
        if candidate in self._by_id:
            return self._by_id[candidate]
        stripped = split_model_id(candidate)[1]
        stripped = self._aliases.get(stripped, stripped)
        return self._by_id.get(stripped)


class InFlightLimiter:
    """At most `limit` model calls at once; more are answered with ThrottlingException."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._count >= self.limit:
                return False
            self._count += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._count -= 1


class RuntimeBackend:
    """Everything the handlers share. `requests` holds every model-call body received (Converse
    bodies plus `modelId` and `stream`; InvokeModel bodies also carry `operation`), newest last;
    `max_recorded_requests` keeps only the most recent ones (they can hold base64 images)."""

    def __init__(
        self,
        engines: Sequence[Engine],
        aliases: dict[str, str] | None = None,
        max_in_flight: int = 32,
        region: str = "us-east-1",
        max_recorded_requests: int | None = None,
    ) -> None:
        self.registry = ModelRegistry(engines, aliases)
        self.faults = FaultInjector()
        self.limiter = InFlightLimiter(max_in_flight)
        self.region = region
        self.requests: list[dict[str, Any]] = []
        self.max_recorded_requests = max_recorded_requests
        self._record_lock = threading.Lock()

    def record(self, request: dict[str, Any]) -> None:
        with self._record_lock:
            self.requests.append(request)
            limit = self.max_recorded_requests
            if limit is not None and len(self.requests) > limit:
                del self.requests[: len(self.requests) - limit]

"""Fault injection so clients' retry and recovery paths can be tested against the real wire format."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from local_stack.bedrock_runtime.exceptions import STREAM_EXCEPTIONS, ValidationException

# The in-stream exceptions ConverseStream documents (the ConverseStreamOutput union); streaming
# InvokeModel's ResponseStream union adds modelTimeoutException.
CONVERSE_STREAM_EXCEPTIONS = frozenset(
    {
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "serviceUnavailableException",
    }
)
INVOKE_STREAM_EXCEPTIONS = CONVERSE_STREAM_EXCEPTIONS | {"modelTimeoutException"}


@dataclass
class StreamFault:
    """Send `exception` (a stream union member name) after `after_tokens` text deltas; with
    `before_start`, as the stream's very first event (before messageStart)."""

    exception: str
    after_tokens: int
    times: int
    before_start: bool = False


class FaultInjector:
    """Counters of pending faults; each request consumes at most one of each kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttle = 0
        self._throttle_by_model: dict[str, int] = {}
        self._stream: StreamFault | None = None

    def throttle(self, n: int = 1, *, model_id: str | None = None) -> None:
        """The next `n` model calls fail with HTTP 429 ThrottlingException; with `model_id`, the
        next `n` calls of that model only (one model throttled while another answers, as when one
        model's quota is used up)."""
        with self._lock:
            if model_id is None:
                self._throttle = max(0, int(n))
            else:
                self._throttle_by_model[model_id] = max(0, int(n))

    def stream_exception(
        self, exception: str, after_tokens: int = 0, times: int = 1, *, before_start: bool = False
    ) -> None:
        """The next `times` streams open (HTTP 200), send their opening event and `after_tokens`
        text deltas, then the in-stream exception `exception` (e.g. `serviceUnavailableException`);
        with `before_start` the exception is the first event. Raises ValidationException for a name
        no stream union has."""
        if exception not in STREAM_EXCEPTIONS:
            raise ValidationException(
                f"Unknown stream exception {exception!r}; use one of {sorted(STREAM_EXCEPTIONS)}."
            )
        with self._lock:
            self._stream = StreamFault(exception, max(0, int(after_tokens)), max(0, int(times)), before_start)

    def throttle_in_stream(self, n: int = 1) -> None:
        """The next `n` streams open (HTTP 200) and then send a throttlingException event first."""
        self.stream_exception("throttlingException", 0, n, before_start=True)

    def stream_error_after(self, tokens: int, times: int = 1) -> None:
        """The next `times` streams send `tokens` text deltas, then a modelStreamErrorException."""
        self.stream_exception("modelStreamErrorException", tokens, times)

    def clear(self) -> None:
        with self._lock:
            self._throttle = 0
            self._throttle_by_model.clear()
            self._stream = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            stream = self._stream if self._stream and self._stream.times > 0 else None
            return {
                "throttle": self._throttle,
                "streamException": stream.exception if stream else None,
                "afterTokens": stream.after_tokens if stream else 0,
                "times": stream.times if stream else 0,
                **({"throttleByModel": dict(self._throttle_by_model)} if self._throttle_by_model else {}),
            }

    def apply(self, spec: dict[str, Any]) -> None:
        """Apply the JSON form posted to `/_local/faults` (see the README's fault table)."""
        known = {
            "throttle",
            "throttleInStream",
            "streamErrorAfterTokens",
            "streamException",
            "afterTokens",
            "times",
            "clear",
            "model",
        }
        unknown = set(spec) - known
        if unknown:
            raise ValidationException(f"Unknown fault keys: {sorted(unknown)}")
        try:
            if spec.get("clear"):
                self.clear()
            if "throttle" in spec:
                model = spec.get("model")
                self.throttle(int(spec["throttle"]), model_id=str(model) if model is not None else None)
            if "throttleInStream" in spec:
                self.throttle_in_stream(int(spec["throttleInStream"]))
            if "streamErrorAfterTokens" in spec:
                self.stream_error_after(int(spec["streamErrorAfterTokens"]), int(spec.get("times", 1)))
            if "streamException" in spec:
                self.stream_exception(
                    str(spec["streamException"]), int(spec.get("afterTokens", 0)), int(spec.get("times", 1))
                )
        except (TypeError, ValueError) as exc:
            raise ValidationException(f"Fault values must be integers: {exc}") from exc

    def take_throttle(self, model_id: str | None = None) -> bool:
        """True (one use consumed) when this call of `model_id` must be throttled."""
        with self._lock:
            if model_id is not None and self._throttle_by_model.get(model_id, 0) > 0:
                self._throttle_by_model[model_id] -= 1
                return True
            if self._throttle > 0:
                self._throttle -= 1
                return True
            return False

    def take_stream_fault(self, allowed: Collection[str]) -> StreamFault | None:
        """The fault this stream must show (one use consumed), if one is pending and its exception
        is a member of this stream's union (`allowed`)."""
        with self._lock:
            fault = self._stream
            if fault is None or fault.times <= 0 or fault.exception not in allowed:
                return None
            fault.times -= 1
            return StreamFault(fault.exception, fault.after_tokens, 1, fault.before_start)

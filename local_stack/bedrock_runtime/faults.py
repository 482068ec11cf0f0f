"""Fault injection so clients' retry and recovery paths can be tested against the real wire format."""

from __future__ import annotations

import threading
from typing import Any

from local_stack.bedrock_runtime.errors import ValidationError


class FaultInjector:
    """Counters of pending faults; each request consumes at most one of each kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttle = 0
        self._throttle_in_stream = 0
        self._stream_error_tokens = 0
        self._stream_error_times = 0

    def throttle(self, n: int = 1) -> None:
        """The next `n` Converse/ConverseStream calls fail with HTTP 429 ThrottlingException."""
        with self._lock:
            self._throttle = max(0, int(n))

    def throttle_in_stream(self, n: int = 1) -> None:
        """The next `n` streams open (HTTP 200) and then send a throttlingException event first."""
        with self._lock:
            self._throttle_in_stream = max(0, int(n))

    def stream_error_after(self, tokens: int, times: int = 1) -> None:
        """The next `times` streams send `tokens` text deltas, then a modelStreamErrorException."""
        with self._lock:
            self._stream_error_tokens = max(0, int(tokens))
            self._stream_error_times = max(0, int(times))

    def clear(self) -> None:
        with self._lock:
            self._throttle = self._throttle_in_stream = 0
            self._stream_error_tokens = self._stream_error_times = 0

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "throttle": self._throttle,
                "throttleInStream": self._throttle_in_stream,
                "streamErrorAfterTokens": self._stream_error_tokens,
                "times": self._stream_error_times,
            }

    def apply(self, spec: dict[str, Any]) -> None:
        """Apply the JSON form posted to `/_local/faults`."""
        known = {"throttle", "throttleInStream", "streamErrorAfterTokens", "times", "clear"}
        unknown = set(spec) - known
        if unknown:
            raise ValidationError(f"Unknown fault keys: {sorted(unknown)}")
        try:
            if spec.get("clear"):
                self.clear()
            if "throttle" in spec:
                self.throttle(int(spec["throttle"]))
            if "throttleInStream" in spec:
                self.throttle_in_stream(int(spec["throttleInStream"]))
            if "streamErrorAfterTokens" in spec:
                self.stream_error_after(int(spec["streamErrorAfterTokens"]), int(spec.get("times", 1)))
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"Fault values must be integers: {exc}") from exc

    def take_throttle(self) -> bool:
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                return True
            return False

    def take_throttle_in_stream(self) -> bool:
        with self._lock:
            if self._throttle_in_stream > 0:
                self._throttle_in_stream -= 1
                return True
            return False

    def take_stream_error(self) -> int | None:
        """Token count after which this stream must fail, or None."""
        with self._lock:
            if self._stream_error_times > 0:
                self._stream_error_times -= 1
                return self._stream_error_tokens
            return None

"""Retry model calls on throttling with exponential backoff and full jitter.

A call is retried only while nothing has been received from it: once a token went to the client,
replaying the call would duplicate text, so later failures surface to the caller.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chatbot_common.errors import Throttled
from lambda_chat.domain.errors import ModelBusy
from lambda_chat.domain.ports import ChatModel, ModelChunk, ModelRequest, close_iterator

RETRYABLE: tuple[type[Exception], ...] = (Throttled, ModelBusy)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rand: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, retry_number: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**n)]."""
        return self.rand() * min(self.max_delay, self.base_delay * (2**retry_number))


class RetryingChatModel:
    """A ChatModel that retries the wrapped one on throttling before the first chunk."""

    def __init__(
        self,
        inner: ChatModel,
        policy: RetryPolicy,
        *,
        on_throttle: Callable[[ModelRequest], None] | None = None,
    ) -> None:
        """`on_throttle` is told about every throttled attempt (for the ModelThrottles metric)."""
        self._inner = inner
        self._policy = policy
        self._on_throttle = on_throttle

    def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        attempt = 0
        while True:
            attempt += 1
            answered = False
            chunks = iter(self._inner.stream(request))
            try:
                for chunk in chunks:
                    # Text or a toolUse part went out: a retry would send it twice.
                    answered = answered or chunk.answers
                    yield chunk
                return
            except RETRYABLE as exc:
                if isinstance(exc, Throttled) and self._on_throttle is not None:
                    self._on_throttle(request)
                if answered or attempt >= self._policy.max_attempts:
                    raise
            finally:
                close_iterator(chunks)
            self._policy.sleep(self._policy.delay(attempt - 1))

"""Servers started and stopped as one: the local stack (`local_stack.runner.LocalStack`) and the
deploy rehearsal (`rehearsal.stack.Rehearsal`) both run moto, the Bedrock runtime and apps in front."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from local_stack.bedrock_runtime import RunningRuntime
    from local_stack.moto_service import MotoServer


class ServerGroup(abc.ABC):
    """`start()` (or a `with` block) runs `_start()`; when any part of it fails, `stop()` ends what was
    already started before the error propagates, so no server or port is left behind. `stop()` is safe
    to call on a group that never started or already stopped."""

    moto: MotoServer | None = None
    runtime: RunningRuntime | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    @abc.abstractmethod
    def _start(self) -> None:
        """Start every server; may leave some started when it raises (`start` then calls `stop`)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop whatever is running: the apps first, then `_stop_backends()`."""

    def _stop_backends(self) -> None:
        """Stop the Bedrock runtime, then moto (after the apps, so no request is cut mid-write)."""
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

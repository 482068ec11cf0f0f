"""The call log (`chatbot logs`): one record a model call, for chat turns and summaries alike.

`CallRecorder` is the one writer of call records in the domain: a record is stored either inside the
write that stores a turn's answer (one DynamoDB transaction, `ConversationRepository.record_answer`)
or alone, and every record is shown to the app's observer (a structured log line and metrics).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal

from chatbot_common import keys
from chatbot_common.errors import DomainError, NotFound
from chatbot_common.timestamps import iso_now
from lambda_chat.domain.entities import CallRecord, CallStatus
from lambda_chat.domain.ports import ConversationRepository

_log = logging.getLogger(__name__)


class CallRecorder:
    """Builds, writes and reports call records for one service.

    `on_call` sees every record (the app logs it and emits its metrics); `clock` gives Unix
    seconds for `created_at`.
    """

    def __init__(
        self,
        store: ConversationRepository,
        *,
        clock: Callable[[], float] = time.time,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_call = on_call

    def new_record(
        self,
        *,
        user_id: str,
        conversation_id: str | None,
        model: str,
        input_tokens: int,
        output_tokens: int,
        latency_ms: int,
        status: CallStatus,
        request_id: str | None,
        error: DomainError | None,
        kind: str = "chat",
        stop_reason: str | None = None,
        tokens_estimated: bool = False,
        cost_usd: Decimal | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        step: int | None = None,
    ) -> CallRecord:
        """A record of a call that ended now; `error` gives its `error_code`; `tokens_estimated`
        marks token counts estimated because Bedrock sent none (a stopped or failed stream)."""
        return CallRecord(
            call_id=keys.new_id(),
            user_id=user_id,
            conversation_id=conversation_id,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            status=status,
            request_id=request_id,
            created_at=iso_now(self._clock()),
            error_code=error.code if error is not None else None,
            kind=kind,
            stop_reason=stop_reason,
            tokens_estimated=tokens_estimated,
            cost_usd=cost_usd,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            step=step,
        )

    def write(self, record: CallRecord) -> None:
        """Write the record alone; a failed write is logged, never raised (the call log must never
        cost the user their answer or summary)."""
        try:
            self._store.put_call_record(record)
        except Exception:
            _log.exception("could not write the call record", extra={"call_id": record.call_id})

    def write_with_answer(self, record: CallRecord, store_answer: Callable[[], None]) -> bool:
        """Run `store_answer` (which writes the record in the same request); the record survives
        any failure of that write: it is then written alone. Returns False when the answer had
        nowhere to go (NotFound: the conversation was deleted while the turn ran); other
        DomainErrors are raised after the record is written."""
        try:
            store_answer()
        except NotFound:
            self.write(record)
            return False
        except DomainError:
            self.write(record)
            raise
        return True

    def observe(self, record: CallRecord) -> None:
        """Show the record to the observer (log line and metrics), whether or not it was stored."""
        if self._on_call is not None:
            self._on_call(record)

    def record(self, record: CallRecord) -> None:
        """Write the record alone and show it to the observer."""
        try:
            self.write(record)
        finally:
            self.observe(record)

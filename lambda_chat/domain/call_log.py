"""The call log (`chatbot logs`): one record a model call, for chat turns and summaries alike."""

from __future__ import annotations

import logging

from chatbot_common import keys
from chatbot_common.errors import DomainError
from lambda_chat.domain.entities import CallRecord, CallStatus
from lambda_chat.domain.ports import ConversationRepository

_log = logging.getLogger(__name__)


def new_call_record(
    *,
    user_id: str,
    conversation_id: str | None,
    model: str,
    input_tokens: int,
    output_tokens: int,
    latency_ms: int,
    status: CallStatus,
    request_id: str | None,
    created_at: str,
    error: DomainError | None,
    kind: str = "chat",
    stop_reason: str | None = None,
    tokens_estimated: bool = False,
) -> CallRecord:
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
        created_at=created_at,
        error_code=error.code if error is not None else None,
        kind=kind,
        stop_reason=stop_reason,
        tokens_estimated=tokens_estimated,
    )


def write_call_record(store: ConversationRepository, record: CallRecord) -> None:
    """Write the call record alone; a failed write is logged, never raised."""
    try:
        store.put_call_record(record)
    except Exception:  # the call log must never cost the user their answer or summary
        _log.exception("could not write the call record")

"""The one writer of call records: written alone or with the answer, never lost, always observed."""

from __future__ import annotations

import pytest

from chatbot_common.errors import NotFound, UpstreamError
from lambda_chat.domain.call_log import CallRecorder
from lambda_chat.domain.entities import CallRecord
from tests.fakes.chat import FakeStore


def new_record(calls: CallRecorder) -> CallRecord:
    return calls.new_record(
        user_id="alice",
        conversation_id="c",
        model="m",
        input_tokens=1,
        output_tokens=2,
        latency_ms=3,
        status="complete",
        request_id="r",
        error=UpstreamError("boom"),
    )


def test_a_record_carries_the_clock_s_time_and_the_error_code() -> None:
    record = new_record(CallRecorder(FakeStore(), clock=lambda: 0.0))
    assert record.created_at == "1970-01-01T00:00:00.000Z"
    assert record.error_code == UpstreamError.code


def test_when_the_answer_s_write_fails_the_record_is_written_alone() -> None:
    store = FakeStore()
    calls = CallRecorder(store)
    record = new_record(calls)

    def deleted() -> None:
        raise NotFound("Conversation not found")

    def failed() -> None:
        raise UpstreamError("storage down")

    calls.write_with_answer(record, deleted)  # absorbed: nowhere to put the answer
    with pytest.raises(UpstreamError):
        calls.write_with_answer(record, failed)
    assert store.calls == [record, record]


def test_a_failed_write_is_not_raised_and_the_observer_still_sees_the_record() -> None:
    class BrokenStore(FakeStore):
        def put_call_record(self, record: CallRecord) -> None:
            raise UpstreamError("storage down")

    seen: list[CallRecord] = []
    calls = CallRecorder(BrokenStore(), on_call=seen.append)
    record = new_record(calls)
    calls.record(record)
    assert seen == [record]

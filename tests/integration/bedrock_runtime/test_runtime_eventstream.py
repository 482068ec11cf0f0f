"""The frames decode with botocore's own event-stream decoder, CRCs checked."""

from __future__ import annotations

from botocore.eventstream import EventStreamBuffer

from chatbot_common.eventstream import event_frame, exception_frame


def test_frames_decode_with_valid_prelude_and_crcs() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "é"}}))
    buffer.add_data(exception_frame("modelStreamErrorException", {"message": "boom"}))

    first, second = list(buffer)

    assert first.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert first.payload == '{"contentBlockIndex":0,"delta":{"text":"é"}}'.encode()
    assert first.to_response_dict()["status_code"] == 200
    assert second.headers[":exception-type"] == "modelStreamErrorException"
    assert second.to_response_dict()["status_code"] == 400

"""Encoder for the `application/vnd.amazon.eventstream` framing that ConverseStream answers with.

A frame is: total length (u32), headers length (u32), CRC32 of those 8 bytes, headers, payload,
CRC32 of everything before it. Headers here are all strings (type 7), which is all Bedrock sends.
The local Bedrock runtime answers with it, and the chat app's SnapStart warm-up feeds botocore's
event-stream parser with it (lambda_chat.adapters.offline_calls).
"""

from __future__ import annotations

import json
import struct
import zlib
from functools import lru_cache
from typing import Any

_STRING_HEADER_TYPE = 7


def _encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING_HEADER_TYPE, len(raw_value)) + raw_value
    return bytes(out)


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One complete event-stream message with both CRCs."""
    return _frame(_encode_headers(headers), payload)


@lru_cache(maxsize=32)
def _event_headers(event_type: str) -> bytes:
    # A handful of event types, one frame per token: encode each type's headers once.
    return _encode_headers(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    )


def _frame(raw_headers: bytes, payload: bytes) -> bytes:
    total_length = 4 + 4 + 4 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total_length, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def event_frame(event_type: str, body: dict[str, Any]) -> bytes:
    """A normal event (`messageStart`, `contentBlockDelta`, ...) with a JSON payload."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _frame(_event_headers(event_type), payload)


def exception_frame(exception_type: str, body: dict[str, Any]) -> bytes:
    """A modeled exception inside the stream; botocore raises it as `EventStreamError`.

    `exception_type` is the member name in the stream union, e.g. `modelStreamErrorException`.
    """
    return encode_frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
    )

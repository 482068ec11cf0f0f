"""The DynamoDB key scheme. Every key that holds user data starts with the owner's user id.

Item kinds (pk / sk):
- conversation:  USER#<user>            / CONV#<conversation id>
                 gsi1: USER#<user>#CONVS / <updatedAt ISO>#<conversation id>  (newest first)
- message:       CONV#<user>#<conv id>  / MSG#<message id>   (ids sort by time)
- comparison:    USER#<user>            / CMP#<comparison id>
                 gsi1: USER#<user>#CMPS  / <updatedAt ISO>#<comparison id>  (newest first)
                 (its lanes are conversation items with comparisonId and no gsi1pk)
- lane stops:    USER#<user>            / CMPSTOP#<comparison id>   (lanes asked to stop; TTL 1 day)
- upload record: USER#<user>            / UPLOAD#<upload id>
- call log:      USER#<user>            / CALL#<ISO time>#<call id>
                 gsi1: CALLS#<YYYY-MM-DD> / <ISO time>#<call id>     (all users, by day)
S3 object keys: uploads/<user>/<upload id>/<sanitised name>
"""

from __future__ import annotations

import os
import re
import threading
import time

from chatbot_common.errors import InvalidInput

# Ids are ULIDs written in lowercase Crockford base32 (26 characters); what `is_valid_id` accepts.
ID_PATTERN = r"^[0-9a-z]{26}$"
_ID = re.compile(ID_PATTERN)

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


_id_lock = threading.Lock()
_last_id_value = 0


def new_id() -> str:
    """A 26-char lowercase ULID: sortable by creation time, unique without coordination.

    Monotonic within a process (ULID spec): ids made in the same millisecond still sort in
    creation order, so a turn's user message always sorts before its answer.
    """
    global _last_id_value
    millis = int(time.time() * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        if value >> 80 <= _last_id_value >> 80:
            value = _last_id_value + 1
        _last_id_value = value
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def validate_id(value: str, what: str) -> str:
    """`value` when it is an id of this scheme (a 26-character lowercase ULID); otherwise
    InvalidInput naming `what` (the field, e.g. "conversationId")."""
    if not is_valid_id(value):
        raise InvalidInput(f"{what} must be a 26-character lowercase ULID")
    return value


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def conversation_sk(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def conversations_gsi_pk(user_id: str) -> str:
    return f"USER#{user_id}#CONVS"


def comparison_sk(comparison_id: str) -> str:
    return f"CMP#{comparison_id}"


def comparison_stop_sk(comparison_id: str) -> str:
    """The item recording which lanes of a running comparison the user asked to stop."""
    return f"CMPSTOP#{comparison_id}"


def comparisons_gsi_pk(user_id: str) -> str:
    return f"USER#{user_id}#CMPS"


def messages_pk(user_id: str, conversation_id: str) -> str:
    return f"CONV#{user_id}#{conversation_id}"


def message_sk(message_id: str) -> str:
    return f"MSG#{message_id}"


def upload_sk(upload_id: str) -> str:
    return f"UPLOAD#{upload_id}"


def call_sk(timestamp_iso: str, call_id: str) -> str:
    return f"CALL#{timestamp_iso}#{call_id}"


def calls_gsi_pk(day: str) -> str:
    return f"CALLS#{day}"


def upload_prefix(user_id: str) -> str:
    return f"uploads/{user_id}/"


def upload_object_key(user_id: str, upload_id: str, safe_name: str) -> str:
    return f"uploads/{user_id}/{upload_id}/{safe_name}"

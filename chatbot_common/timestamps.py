"""The one timestamp format of stored items and the call log: UTC ISO-8601 with milliseconds and a
Z suffix (`2026-01-02T03:04:05.678Z`), which sorts lexically in time order (RFC 3339 profile of
ISO 8601, https://www.rfc-editor.org/rfc/rfc3339)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """`moment` (naive values count as local time, as `datetime.astimezone` does) in the format."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_now(epoch_seconds: float) -> str:
    """A Unix time in seconds (what `time.time()` returns) in the format."""
    return iso_utc(datetime.fromtimestamp(epoch_seconds, tz=UTC))


def parse_iso(value: str) -> datetime:
    """An ISO-8601 time or date as an aware datetime (UTC when it names no offset).

    Raises ValueError when `value` is not ISO-8601.
    """
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""cli.formatting: time parsing and tables; the call log's time format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatbot_common.timestamps import iso_utc
from cli.formatting import calls_table, conversation_text, display_width, format_table, parse_time, usage_line

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)


class TestParseTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30m", NOW - timedelta(minutes=30)),
            ("1h", NOW - timedelta(hours=1)),
            ("2d", NOW - timedelta(days=2)),
            ("1w", NOW - timedelta(weeks=1)),
            ("45s", NOW - timedelta(seconds=45)),
            ("now", NOW),
            ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
            ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
            ("2026-03-01T12:00:00+02:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ],
    )
    def test_relative_and_absolute_times(self, text: str, expected: datetime) -> None:
        assert parse_time(text, now=NOW) == expected

    def test_rejects_nonsense_with_a_hint(self) -> None:
        with pytest.raises(ValueError, match="30m, 1h"):
            parse_time("yesterday-ish", now=NOW)

    def test_iso_utc_matches_the_call_log_key_format(self) -> None:
        moment = datetime(2026, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)
        assert iso_utc(moment) == "2026-03-04T05:06:07.891Z"


class TestFormatting:
    def test_table_aligns_columns_and_cuts_long_cells(self) -> None:
        text = format_table([("a", "x" * 80), ("bbb", None)], ["K", "VALUE"], max_width=10)
        lines = text.splitlines()
        assert lines[0] == "K    VALUE"
        assert lines[2] == "a    xxxxxxxxx…"
        assert lines[3] == "bbb"

    def test_calls_table_shows_status_with_error_code(self) -> None:
        call = {
            "createdAt": "2026-03-04T05:06:07.891Z",
            "userId": "u1",
            "conversationId": "c1",
            "model": "m",
            "status": "error",
            "errorCode": "throttled",
            "inputTokens": 3,
            "outputTokens": 0,
            "latencyMs": 12,
            "requestId": "r1",
        }
        row = calls_table([call]).splitlines()[2].split()
        assert row[:7] == ["2026-03-04", "05:06:07", "u1", "c1", "m", "error", "(throttled)"]

    def test_transcript_marks_incomplete_messages(self) -> None:
        text = conversation_text(
            {
                "id": "c1",
                "title": "Greeting",
                "createdAt": "2026-03-04T05:06:07.891Z",
                "updatedAt": "2026-03-04T05:06:08.000Z",
                "messages": [
                    {"role": "user", "content": "hi", "createdAt": "2026-03-04T05:06:07.891Z"},
                    {"role": "assistant", "content": "hel", "status": "incomplete", "createdAt": "x"},
                ],
            }
        )
        assert "# Greeting" in text
        assert "assistant · x [incomplete]\nhel" in text

    def test_usage_line(self) -> None:
        line = usage_line(
            {"conversationId": "c1", "model": "m"}, {"inputTokens": 5, "outputTokens": 7}, {"latencyMs": 42}
        )
        assert line == "[conversation c1 · m · 5 in / 7 out tokens · 42 ms]"
        # prompt-cache reads and writes are input too (Converse counts them apart from inputTokens)
        cached = {
            "inputTokens": 4,
            "outputTokens": 2,
            "cacheReadInputTokens": 1032,
            "cacheWriteInputTokens": 60,
        }
        line = usage_line({"conversationId": "c1"}, cached, {})
        assert line == "[conversation c1 · 4 in, 1032 cache read, 60 cache write / 2 out tokens]"


def test_wide_characters_keep_the_columns_aligned() -> None:
    table = format_table([("天气很好", "x"), ("ab", "y")], ["TITLE", "K"])
    lines = table.splitlines()
    # every row's second column starts at the same terminal column
    assert {display_width(line[: line.rfind(" ") + 1]) for line in (lines[0], lines[2], lines[3])} == {10}
    assert display_width("天气") == 4 and display_width("e\u0301") == 1


def test_the_calls_table_shows_prompt_cache_reads_and_writes() -> None:
    row = {"inputTokens": 1, "outputTokens": 2, "cacheReadInputTokens": 3192, "cacheWriteInputTokens": 0}
    table = calls_table([row, {"inputTokens": 5, "outputTokens": 1}])
    assert "CACHE R/W" in table and "3192/0" in table

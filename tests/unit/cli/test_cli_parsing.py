"""The CLI's pure parts: argument parsing, time options, SSE parsing, tables. No sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cli.formatting import calls_table, conversation_text, format_table, iso_utc, parse_time, usage_line
from cli.main import build_parser, chat_body
from cli.sse import ServerEvent, parse_events

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


class TestParser:
    def test_chat_with_options(self) -> None:
        args = build_parser().parse_args(["chat", "hello there", "-c", "c1", "--model", "m", "--system", "s"])
        assert (args.command, args.message, args.conversation, args.model, args.system) == (
            "chat",
            "hello there",
            "c1",
            "m",
            "s",
        )

    def test_chat_without_message_means_interactive(self) -> None:
        assert build_parser().parse_args(["chat"]).message is None

    def test_global_options_default_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CHATBOT_TOKEN", raising=False)
        args = build_parser().parse_args(["conversations"])
        # No --api-url: resolved later (cli.local.resolve_api_url), from the environment or the stack.
        assert (args.api_url, args.token) == (None, None)
        monkeypatch.setenv("CHATBOT_TOKEN", "tok")
        args = build_parser().parse_args(["--api-url", "https://example.test/api", "conversations"])
        assert (args.api_url, args.token) == ("https://example.test/api", "tok")

    def test_logs_filters(self) -> None:
        args = build_parser().parse_args(
            ["logs", "--user", "u1", "--conversation", "c1", "--status", "error", "--since", "1h", "--json"]
        )
        assert (args.user, args.conversation, args.status, args.json, args.tail) == (
            "u1",
            "c1",
            "error",
            True,
            False,
        )
        assert datetime.now(UTC) - args.since == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=5))

    def test_logs_tail_options(self) -> None:
        args = build_parser().parse_args(
            ["logs", "--tail", "--function", "upload", "--stack-name", "Chatbot-prod"]
        )
        assert (args.tail, args.function, args.stack_name) == (True, "upload", "Chatbot-prod")

    @pytest.mark.parametrize(
        "argv",
        [
            ["logs", "--status", "bogus"],
            ["logs", "--since", "someday"],
            ["logs", "--limit", "0"],
            ["logs", "--tail", "--function", "web"],
            ["show"],
            [],
        ],
    )
    def test_bad_arguments_exit_with_usage_error(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(argv)
        assert exit_info.value.code == 2
        assert "usage: chatbot" in capsys.readouterr().err

    def test_chat_body_sends_only_what_was_given(self) -> None:
        assert chat_body("hi", None, None, None) == {"message": "hi"}
        assert chat_body("hi", "c", "m", "s") == {
            "message": "hi",
            "conversationId": "c",
            "model": "m",
            "system": "s",
        }


class TestServerSentEvents:
    def test_events_split_on_blank_lines_with_multiline_data_and_comments(self) -> None:
        lines = [
            ": keep-alive",
            "event: meta",
            'data: {"conversationId": "c1"}',
            "",
            "event: delta",
            "data: line one",
            "data: line two",
            "",
            "data: no event name",
            "",
        ]
        assert list(parse_events(lines)) == [
            ServerEvent("meta", '{"conversationId": "c1"}'),
            ServerEvent("delta", "line one\nline two"),
            ServerEvent("message", "no event name"),
        ]

    def test_crlf_and_unterminated_last_event(self) -> None:
        events = list(parse_events(["event: done\r\n", 'data:{"stopReason": "end_turn"}\r\n']))
        assert events == [ServerEvent("done", '{"stopReason": "end_turn"}')]
        assert events[0].json() == {"stopReason": "end_turn"}


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

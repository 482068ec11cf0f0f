"""cli.sse: parsing Server-Sent Events frames."""

from __future__ import annotations

from datetime import UTC, datetime

from cli.sse import ServerEvent, parse_events

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)


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

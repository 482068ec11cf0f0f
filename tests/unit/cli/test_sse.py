"""cli.sse: reading Server-Sent Events frames from a response (httpx-sse underneath)."""

from __future__ import annotations

import httpx

from cli.sse import ServerEvent, read_events


def _events(text: str) -> list[ServerEvent]:
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=text.encode())
    return list(read_events(response))


class TestServerSentEvents:
    def test_events_split_on_blank_lines_with_multiline_data_and_comments(self) -> None:
        text = (
            ": keep-alive\n"
            "event: meta\n"
            'data: {"conversationId": "c1"}\n\n'
            "event: delta\n"
            "data: line one\n"
            "data: line two\n\n"
            "data: no event name\n\n"
        )
        assert _events(text) == [
            ServerEvent("meta", '{"conversationId": "c1"}'),
            ServerEvent("delta", "line one\nline two"),
            ServerEvent("message", "no event name"),
        ]

    def test_crlf_line_ends(self) -> None:
        events = _events('event: done\r\ndata:{"stopReason": "end_turn"}\r\n\r\n')
        assert events == [ServerEvent("done", '{"stopReason": "end_turn"}')]
        assert events[0].json() == {"stopReason": "end_turn"}

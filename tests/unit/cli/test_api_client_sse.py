"""The CLI's SSE reader (cli.sse over httpx-sse), against canned streams (no sockets)."""

from __future__ import annotations

import httpx

from cli.api_client import ChatbotApi


def _client(body: bytes) -> ChatbotApi:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/event-stream"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return ChatbotApi("http://api.test", transport=httpx.MockTransport(handler))


def test_an_answer_quoting_line_and_paragraph_separators_arrives_whole() -> None:
    # U+2028/U+2029 are not SSE line ends (only CR, LF, CRLF are); str.splitlines treats them as such.
    body = (
        'event: meta\ndata: {"conversationId":"c1"}\n\n'
        'event: delta\ndata: {"text":"one\u2028two\u2029three"}\n\n'
        ": keep-alive\n\n"
        'event: done\r\ndata: {"stopReason":"end_turn"}\r\n\r\n'
    ).encode()
    with _client(body) as api:
        events = list(api.chat_stream({"message": "quote it"}))
    assert [e.event for e in events] == ["meta", "delta", "done"]
    assert events[1].json() == {"text": "one\u2028two\u2029three"}
    assert events[2].json()["stopReason"] == "end_turn"


def test_multi_line_data_is_joined_with_newlines() -> None:
    with _client(b"event: delta\ndata: a\ndata: b\n\n") as api:
        [event] = list(api.chat_stream({"message": "x"}))
    assert event.data == "a\nb"

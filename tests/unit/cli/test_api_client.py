"""cli.api_client: requests, auth header, SSE streaming and error mapping against a mock transport."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cli.api_client import ApiError, ChatbotApi, error_from_response
from cli.main import stream_answer

Handler = Callable[[httpx.Request], httpx.Response]


def sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def api_with(handler: Handler, token: str | None = None) -> ChatbotApi:
    return ChatbotApi("http://api.test", token=token, transport=httpx.MockTransport(handler))


class TestApiClient:
    def test_streamed_answer_is_printed_as_it_arrives_with_a_footer(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            body = sse(
                ("meta", {"conversationId": "c1", "messageId": "m2", "model": "local.scripted"}),
                ("delta", {"text": "Hel"}),
                ("delta", {"text": "lo"}),
                ("usage", {"inputTokens": 3, "outputTokens": 2}),
                ("done", {"stopReason": "end_turn", "latencyMs": 9}),
            )
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

        out, err = io.StringIO(), io.StringIO()
        with api_with(handler, token="tok") as api:
            conversation = stream_answer(api, {"message": "hi"}, out, err)
        assert conversation == "c1"
        assert out.getvalue() == "Hello\n"
        assert err.getvalue() == "[conversation c1 · local.scripted · 3 in / 2 out tokens · 9 ms]\n"
        assert seen[0].headers["accept"] == "text/event-stream"
        assert seen[0].headers["authorization"] == "Bearer tok"
        assert json.loads(seen[0].content) == {"message": "hi"}

    def test_error_event_mid_stream_raises_after_the_partial_text(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            body = sse(
                ("meta", {"conversationId": "c1"}),
                ("delta", {"text": "par"}),
                ("error", {"code": "upstream_error", "message": "model failed"}),
            )
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

        out = io.StringIO()
        with api_with(handler) as api, pytest.raises(ApiError) as info:
            stream_answer(api, {"message": "hi"}, out, io.StringIO())
        assert out.getvalue() == "par\n"
        assert (info.value.code, info.value.message) == ("upstream_error", "model failed")

    def test_error_body_before_the_stream_becomes_a_clear_error(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                400, json={"error": {"code": "invalid_request", "message": "message: too long"}}
            )

        with api_with(handler) as api, pytest.raises(ApiError) as info:
            list(api.chat_stream({"message": "x"}))
        assert str(info.value) == "message: too long (invalid_request, HTTP 400)"

    @pytest.mark.parametrize(
        ("response", "expected"),
        [
            (
                httpx.Response(404, json={"error": {"code": "not_found", "message": "No such conversation"}}),
                "No such conversation (not_found, HTTP 404)",
            ),
            (
                httpx.Response(401, json={"message": "Unauthorized"}),
                "Unauthorized (unauthenticated, HTTP 401)",
            ),
            (httpx.Response(502, text="Bad Gateway"), "Bad Gateway (http_error, HTTP 502)"),
        ],
    )
    def test_error_from_response(self, response: httpx.Response, expected: str) -> None:
        assert str(error_from_response(response)) == expected

    def test_conversation_ids_are_path_escaped(self) -> None:
        paths: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            paths.append(request.url.raw_path.decode())
            return httpx.Response(200, json={"id": "x", "messages": []})

        with api_with(handler) as api:
            api.get_conversation("../uploads", limit=5)
        assert paths == ["/conversations/..%2Fuploads?limit=5"]

    def test_unreachable_api_is_a_connection_error(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused")

        with api_with(handler) as api, pytest.raises(ApiError) as info:
            api.list_conversations()
        assert info.value.code == "connection_error"


def test_tool_steps_are_shown_on_stderr_and_the_answer_on_stdout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = sse(
            ("meta", {"conversationId": "c1", "messageId": "m2", "model": "local.scripted"}),
            ("delta", {"text": "Checking."}),
            ("tool_use", {"id": "t1", "name": "current_time", "input": {"timezone": "Asia/Tokyo"}}),
            (
                "tool_result",
                {"id": "t1", "name": "current_time", "status": "success", "preview": "21:00 JST"},
            ),
            ("delta", {"text": "It is 21:00."}),
            ("usage", {"inputTokens": 3, "outputTokens": 2}),
            ("done", {"stopReason": "end_turn", "latencyMs": 9}),
        )
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    out, err = io.StringIO(), io.StringIO()
    with api_with(handler) as api:
        stream_answer(api, {"message": "time?"}, out, err)
    assert out.getvalue() == "Checking.\nIt is 21:00.\n"
    assert err.getvalue().splitlines()[:2] == [
        '[tool current_time {"timezone": "Asia/Tokyo"}]',
        "[tool current_time → success: 21:00 JST]",
    ]


def test_a_transcript_shows_stored_tool_steps() -> None:
    from cli.formatting import conversation_text

    use = {"toolUse": {"toolUseId": "t1", "name": "current_time", "input": {"timezone": "UTC"}}}
    result = {"toolResult": {"toolUseId": "t1", "content": [{"text": "12:00 UTC"}], "status": "success"}}
    text = conversation_text(
        {
            "title": "t",
            "id": "c",
            "messages": [
                {"role": "user", "content": "time?"},
                {"role": "assistant", "toolStep": True, "blocks": [use]},
                {"role": "user", "toolStep": True, "blocks": [result]},
                {"role": "assistant", "content": "Noon."},
            ],
        }
    )
    assert '  used current_time {"timezone": "UTC"}' in text and "  → success: 12:00 UTC" in text

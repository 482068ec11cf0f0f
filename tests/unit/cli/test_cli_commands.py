"""CLI commands against in-process fakes: httpx.MockTransport for the API, stub AWS clients. No sockets."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.api_client import ApiError, ChatbotApi, error_from_response
from cli.logs import LogsError, resolve_log_group, resolve_table, tail_log_group
from cli.main import build_parser, run_repl, stream_answer
from cli.sse import ServerEvent

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


class FakeStreamingApi:
    """Stands in for ChatbotApi in the REPL: records bodies, answers with a new conversation id once."""

    base_url = "http://fake"

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def chat_stream(self, body: dict[str, Any]) -> Iterator[ServerEvent]:
        self.bodies.append(body)
        conversation = body.get("conversationId") or f"c{len(self.bodies)}"
        yield ServerEvent("meta", json.dumps({"conversationId": conversation}))
        yield ServerEvent("delta", json.dumps({"text": "ok"}))
        yield ServerEvent("done", json.dumps({"stopReason": "end_turn"}))


def test_repl_keeps_the_conversation_until_new() -> None:
    # Given a session with a system prompt and a model
    api = FakeStreamingApi()
    args = build_parser().parse_args(["chat", "--system", "be brief", "--model", "m"])
    stdin = io.StringIO("first\nsecond\n\n/new\nthird\n/quit\nnever sent\n")
    # When three messages are typed around a /new
    code = run_repl(api, args, stdin, io.StringIO(), io.StringIO())  # type: ignore[arg-type]
    # Then turns 1-2 share a conversation, /new starts another, /quit ends the session
    assert code == 0
    assert api.bodies == [
        {"message": "first", "model": "m", "system": "be brief"},
        {"message": "second", "conversationId": "c1", "model": "m"},
        {"message": "third", "model": "m", "system": "be brief"},
    ]


class TestResolveTable:
    def test_explicit_table_and_endpoint_win(self, tmp_path: Path) -> None:
        target = resolve_table(
            table="t",
            endpoint_url="http://127.0.0.1:1",
            region=None,
            stack_name=None,
            state_dir=tmp_path,
            environ={},
        )
        assert (target.table, target.endpoint_url) == ("t", "http://127.0.0.1:1")

    def test_running_local_stack_is_found_through_its_endpoints_file(self, tmp_path: Path) -> None:
        (tmp_path / "endpoints.json").write_text(
            json.dumps({"moto": "http://127.0.0.1:5555", "table": "chatbot-local", "region": "us-east-1"})
        )
        target = resolve_table(
            table=None, endpoint_url=None, region=None, stack_name=None, state_dir=tmp_path, environ={}
        )
        assert (target.table, target.endpoint_url, target.region) == (
            "chatbot-local",
            "http://127.0.0.1:5555",
            "us-east-1",
        )

    def test_environment_table_beats_the_local_stack(self, tmp_path: Path) -> None:
        (tmp_path / "endpoints.json").write_text(
            json.dumps({"moto": "http://127.0.0.1:5555", "table": "local"})
        )
        target = resolve_table(
            table=None,
            endpoint_url=None,
            region=None,
            stack_name=None,
            state_dir=tmp_path,
            environ={"CHATBOT_TABLE_NAME": "prod-table"},
        )
        assert (target.table, target.endpoint_url) == ("prod-table", None)

    def test_stack_output_names_the_table(self, tmp_path: Path) -> None:
        target = resolve_table(
            table=None,
            endpoint_url=None,
            region="eu-west-1",
            stack_name="Chatbot-dev",
            state_dir=tmp_path,
            environ={},
            cloudformation=FakeCloudFormation({"TableName": "deployed"}),
        )
        assert target.table == "deployed"

    def test_nothing_configured_explains_the_options(self, tmp_path: Path) -> None:
        with pytest.raises(LogsError, match="make run"):
            resolve_table(
                table=None, endpoint_url=None, region=None, stack_name=None, state_dir=tmp_path, environ={}
            )


class FakeCloudFormation:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {
            "Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]
        }


def test_log_group_comes_from_the_stack_outputs() -> None:
    cfn = FakeCloudFormation({"ChatLogGroup": "/aws/lambda/chat", "UploadLogGroup": "/aws/lambda/upload"})
    assert resolve_log_group("upload", "Chatbot-dev", cloudformation=cfn) == "/aws/lambda/upload"
    with pytest.raises(LogsError, match="--log-group"):
        resolve_log_group("chat", "Chatbot-dev", cloudformation=FakeCloudFormation({}))


class FakeLogs:
    """Two polls: the second repeats one event (overlap window) and adds a new one over two pages."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        first = {"eventId": "1", "timestamp": 1_700_000_000_000, "message": '{"message": "request"}\n'}
        if len(self.calls) == 1:
            return {"events": [first]}
        if "nextToken" not in params:
            return {"events": [first], "nextToken": "p2"}
        return {"events": [{"eventId": "2", "timestamp": 1_700_000_001_000, "message": "second"}]}


def test_tail_prints_each_event_once_and_follows_pages() -> None:
    logs, out = FakeLogs(), io.StringIO()
    sleeps: list[float] = []
    since = datetime(2023, 11, 14, tzinfo=UTC)
    printed = tail_log_group(
        logs,
        "/aws/lambda/chat",
        since=since,
        out=out,
        filter_pattern="ERROR",
        sleep=sleeps.append,
        max_polls=2,
    )
    assert printed == 2
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ['{"message": "request"}', "second"]
    assert logs.calls[0] == {
        "logGroupName": "/aws/lambda/chat",
        "startTime": int(since.timestamp() * 1000),
        "filterPattern": "ERROR",
    }
    assert sleeps == [2.0]

"""cli.main: the argument parser, request bodies and the REPL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cli.main import build_parser, chat_body, run_repl
from cli.sse import ServerEvent


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
        assert chat_body("hi", None, None, None, temperature=0.0, max_tokens=40)["inferenceConfig"] == {
            "temperature": 0.0,
            "maxTokens": 40,
        }

"""The `chatbot` CLI against a running local stack (scripted model)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.api_client import ApiError, ChatbotApi
from cli.main import main, stream_answer
from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.runner import REPO_ROOT, LocalStack

UNKNOWN_ID = "01zzzzzzzzzzzzzzzzzzzzzzzz"


def invoke(*argv: str) -> tuple[int, str, str]:
    """Run the CLI with its own streams: the in-process apps print their logs to sys.stdout."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def run(stack: LocalStack, *argv: str) -> tuple[int, str, str]:
    return invoke("--api-url", stack.url, *argv)


def logs_args(stack: LocalStack, *argv: str) -> list[str]:
    assert stack.moto_url is not None
    return ["logs", "--endpoint-url", stack.moto_url, "--table", stack.table_name, "--json", *argv]


class TimedWriter:
    """Records when each piece of text was written, to prove the answer streamed."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.monotonic(), text))
        return len(text)

    def flush(self) -> None:
        pass


def test_chat_streams_the_answer_to_the_terminal(cli_stack: LocalStack, cli_engine: ScriptedEngine) -> None:
    # Given a model that takes 0.1 s per token
    cli_engine.token_delay = 0.1
    out, err = TimedWriter(), TimedWriter()
    try:
        with ChatbotApi(cli_stack.url) as api:
            stream_answer(api, {"message": "one two three four five"}, out, err)  # type: ignore[arg-type]
    finally:
        cli_engine.token_delay = 0.0
    # Then the text arrived piece by piece, over the generation time, not in one write at the end
    text_writes = [(t, s) for t, s in out.writes if s.strip()]
    assert "".join(s for _, s in out.writes) == "echo: one two three four five\n"
    assert len(text_writes) >= 5
    assert text_writes[-1][0] - text_writes[0][0] >= 0.3


def test_chat_then_continue_then_show(cli_stack: LocalStack) -> None:
    code, out, err = run(cli_stack, "chat", "first question")
    assert (code, out) == (0, "echo: first question\n")
    conversation_id = err.split("conversation ", 1)[1].split(" ", 1)[0]

    code, out, _ = run(cli_stack, "chat", "--conversation", conversation_id, "follow up")
    assert (code, out) == (0, "echo: follow up\n")

    code, out, _ = run(cli_stack, "show", conversation_id, "--json")
    assert code == 0
    assert [m["content"] for m in json.loads(out)["messages"]] == [
        "first question",
        "echo: first question",
        "follow up",
        "echo: follow up",
    ]
    code, out, _ = run(cli_stack, "show", conversation_id)
    assert "# first question" in out and "assistant · " in out

    code, out, _ = run(cli_stack, "conversations")
    assert code == 0
    assert conversation_id in out and "first question" in out
    code, out, _ = run(cli_stack, "conversations", "--json")
    assert conversation_id in [c["id"] for c in json.loads(out)["items"]]


def test_json_answer_without_streaming(cli_stack: LocalStack) -> None:
    code, out, _ = run(cli_stack, "chat", "--json", "plain please")
    assert code == 0
    assert json.loads(out)["answer"] == "echo: plain please"


def test_an_answer_without_streaming_ends_with_the_same_usage_footer(cli_stack: LocalStack) -> None:
    code, out, err = run(cli_stack, "chat", "--no-stream", "plain please")
    assert (code, out) == (0, "echo: plain please\n")
    assert err.startswith("[conversation ") and " in" in err and " out tokens" in err and " ms]" in err


def test_max_tokens_on_a_compare_follow_up_without_its_lanes_is_refused(cli_stack: LocalStack) -> None:
    code, _, err = run(
        cli_stack, "compare", "--comparison", "01m910nsy3yxm4sgxzshcqdy00", "--max-tokens", "5", "q"
    )
    assert code != 0 and "--max-tokens on a follow-up needs its lanes restated" in err


def test_api_errors_are_clear_and_exit_non_zero(cli_stack: LocalStack) -> None:
    code, out, err = run(cli_stack, "show", UNKNOWN_ID)
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and "(not_found, HTTP 404)" in err
    code, _, err = run(cli_stack, "chat", "--model", "no.such-model", "hi")
    assert code == 1 and "HTTP 400" in err


def test_unreachable_api_is_reported() -> None:
    code, _, err = invoke("--api-url", "http://127.0.0.1:9", "conversations")
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err


@pytest.fixture(scope="module")
def calls(cli_stack: LocalStack) -> dict[str, str]:
    """Two conversations (one with two turns) and one throttled call."""
    assert cli_stack.runtime is not None
    with ChatbotApi(cli_stack.url) as api:
        a = api.chat({"message": "log a1"})["conversationId"]
        api.chat({"message": "log a2", "conversationId": a})
        b = api.chat({"message": "log b1"})["conversationId"]
        cli_stack.runtime.faults.throttle(50)
        try:
            with pytest.raises(ApiError, match="throttled"):
                api.chat({"message": "log b2", "conversationId": b})
        finally:
            cli_stack.runtime.faults.clear()
    return {"a": a, "b": b}


class TestLogs:
    def query(self, stack: LocalStack, *argv: str) -> list[dict[str, object]]:
        code, out, err = invoke(*logs_args(stack, *argv))
        assert code == 0, err
        result: list[dict[str, object]] = json.loads(out)
        return result

    def test_filter_by_conversation(self, cli_stack: LocalStack, calls: dict[str, str]) -> None:
        rows = self.query(cli_stack, "--conversation", calls["a"])
        assert [r["conversationId"] for r in rows] == [calls["a"], calls["a"]]
        assert str(rows[0]["createdAt"]) > str(rows[1]["createdAt"])  # newest first
        assert all(r["status"] == "complete" and r["model"] == "local.scripted" for r in rows)

    def test_filter_by_status(self, cli_stack: LocalStack, calls: dict[str, str]) -> None:
        rows = self.query(cli_stack, "--status", "throttled")
        assert [(r["conversationId"], r["errorCode"]) for r in rows] == [(calls["b"], "throttled")]

    def test_filter_by_user_and_time(self, cli_stack: LocalStack, calls: dict[str, str]) -> None:
        assert cli_stack.settings is not None
        mine = self.query(cli_stack, "--user", cli_stack.settings.dev_user_id, "--since", "10m")
        assert {calls["a"], calls["b"]} <= {r["conversationId"] for r in mine}
        assert self.query(cli_stack, "--user", "someone-else") == []
        assert self.query(cli_stack, "--until", "1h") == []
        assert len(self.query(cli_stack, "--limit", "2")) == 2

    def test_table_output_finds_the_running_stack_by_its_state_dir(
        self,
        cli_stack: LocalStack,
        calls: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.delenv("CHATBOT_TABLE_NAME", raising=False)
        monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
        code, out, _ = invoke("logs", "--state-dir", str(cli_stack.state_dir), "--conversation", calls["b"])
        assert code == 0
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["TIME", "(UTC)", "USER"]
        assert [line.split()[5] for line in lines[2:]] == ["throttled", "complete"]


def test_installed_console_script_and_repl(cli_stack: LocalStack, tmp_path: Path) -> None:
    # Given the `chatbot` script the project installs, with the API URL from the environment
    script = Path(sys.executable).with_name("chatbot")
    env = {"CHATBOT_API_URL": cli_stack.url, "PATH": "/usr/bin:/bin"}
    # When a session is piped in: two messages, then /quit
    result = subprocess.run(
        [str(script), "chat"],
        input="hello\nagain\n/quit\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
    )
    # Then both answers stream out and the second turn continues the first conversation
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo: hello\necho: again\n"
    footers = [line for line in result.stderr.splitlines() if line.startswith("[conversation ")]
    assert len(footers) == 2 and footers[0].split()[1] == footers[1].split()[1]

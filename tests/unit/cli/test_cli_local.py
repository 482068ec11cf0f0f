"""The CLI finds the running local stack through its endpoints file, and `logs --tail` on a
laptop says where the logs are instead of failing on missing AWS credentials."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli import main as cli_main
from cli.local import FALLBACK_API_URL, read_local_endpoints, resolve_api_url
from local_stack import ENDPOINTS_FILE


def write_endpoints(state_dir: Path, **fields: object) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    data = {"app": "http://127.0.0.1:43117", "pid": os.getpid(), "table": "t", "moto": "http://127.0.0.1:5"}
    data.update(fields)
    (state_dir / ENDPOINTS_FILE).write_text(json.dumps(data))


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(proc.stdout)


def test_api_url_precedence_flag_then_env_then_running_stack_then_default(tmp_path: Path) -> None:
    # Given a running stack that wrote its endpoints file on a port other than 8000
    write_endpoints(tmp_path)
    # Then the flag wins, then the environment, then the stack's own URL
    assert (
        resolve_api_url("https://x.test/api", tmp_path, {"CHATBOT_API_URL": "https://env.test"})[0]
        == "https://x.test/api"
    )
    assert resolve_api_url(None, tmp_path, {"CHATBOT_API_URL": "https://env.test"})[0] == "https://env.test"
    url, source = resolve_api_url(None, tmp_path, {})
    assert url == "http://127.0.0.1:43117"
    assert ENDPOINTS_FILE in source
    # and with no stack at all, `make run`'s default port
    assert resolve_api_url(None, tmp_path / "nothing", {}) == (FALLBACK_API_URL, "default")


def test_a_file_left_by_a_killed_stack_is_ignored(tmp_path: Path) -> None:
    write_endpoints(tmp_path, pid=dead_pid())
    assert read_local_endpoints(tmp_path) is None
    assert resolve_api_url(None, tmp_path, {})[0] == FALLBACK_API_URL
    (tmp_path / ENDPOINTS_FILE).write_text("[1, 2]")
    assert read_local_endpoints(tmp_path) is None


def test_commands_talk_to_the_running_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a local stack on port 43117, and no CHATBOT_API_URL
    write_endpoints(tmp_path)
    monkeypatch.setenv("CHATBOT_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CHATBOT_API_URL", raising=False)
    seen: list[str] = []

    class RecordingApi(cli_main.ChatbotApi):
        def __init__(self, base_url: str, **kwargs: object) -> None:
            seen.append(base_url)
            transport = httpx.MockTransport(
                lambda r: httpx.Response(200, json={"items": [], "nextCursor": None})
            )
            super().__init__(base_url, token=None, transport=transport)

    monkeypatch.setattr(cli_main, "ChatbotApi", RecordingApi)
    # When a command runs without --api-url
    status = cli_main.main(["conversations"], stdout=io.StringIO(), stderr=io.StringIO())
    # Then it went to the stack's URL, not to port 8000
    assert status == 0
    assert seen == ["http://127.0.0.1:43117"]


def test_logs_tail_on_a_laptop_says_where_the_logs_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a running local stack and no AWS credentials at all
    write_endpoints(tmp_path)
    (tmp_path / "moto.log").write_text("")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    out, err = io.StringIO(), io.StringIO()
    # When the logs are tailed
    status = cli_main.main(["logs", "--tail", "--state-dir", str(tmp_path)], stdout=out, stderr=err)
    # Then it explains where they are, instead of a credentials error
    assert status == 0
    note = err.getvalue()
    assert "http://127.0.0.1:43117" in note and "terminal where `make run` runs" in note
    assert str(tmp_path / "moto.log") in note
    assert "credentials" not in note.lower()

    # and with no stack running and no credentials, it says both, and fails
    err = io.StringIO()
    status = cli_main.main(["logs", "--tail", "--state-dir", str(tmp_path / "none")], stdout=out, stderr=err)
    assert status == 1
    assert "No local stack is running" in err.getvalue()
    assert "does not write to CloudWatch" in err.getvalue()


def test_no_stack_and_no_server_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATBOT_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CHATBOT_API_URL", raising=False)

    class Unreachable(cli_main.ChatbotApi):
        def __init__(self, base_url: str, **kwargs: object) -> None:
            def refuse(request: httpx.Request) -> httpx.Response:
                raise httpx.ConnectError("refused", request=request)

            super().__init__(base_url, token=None, transport=httpx.MockTransport(refuse))

    monkeypatch.setattr(cli_main, "ChatbotApi", Unreachable)
    err = io.StringIO()
    assert cli_main.main(["models"], stdout=io.StringIO(), stderr=err) == 1
    assert FALLBACK_API_URL in err.getvalue()
    assert "make run" in err.getvalue()

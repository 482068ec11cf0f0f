"""Real clients over every HTTP framing: the JS SDK v3 default client (HTTP/2), curl over HTTP/1.0,
HTTP/1.1 with `Connection: close`, h2c (prior knowledge and upgrade), chunked request bodies."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine

ROOT = Path(__file__).resolve().parents[3]
JS_CLIENT = Path(__file__).parent / "js" / "sdk_v3_client.mjs"
BODY = json.dumps({"messages": [{"role": "user", "content": [{"text": "Write three words."}]}]})
MODEL = "local.scripted"


def _curl(
    runtime: RunningRuntime, *flags: str, path: str = "converse-stream", body: str = BODY
) -> tuple[str, bytes]:
    """(HTTP version, body bytes) of one curl POST; curl fails (non-zero) on a framing error."""
    assert shutil.which("curl"), "curl is needed for the wire tests"
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail-with-body",
            "-D",
            "-",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            *flags,
            "--data-binary",
            body,
            f"{runtime.endpoint_url}/model/{MODEL}/{path}",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    head, _, payload = result.stdout.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 101"):  # h2c upgrade: the real response follows
        head, _, payload = payload.partition(b"\r\n\r\n")
    return head.split(b" ", 1)[0].decode(), payload


def _events(payload: bytes) -> list[str]:
    buffer = EventStreamBuffer()
    buffer.add_data(payload)
    return [message.headers[":event-type"] for message in buffer]


@pytest.mark.parametrize(
    ("flags", "version"),
    [
        (("--http1.0",), "HTTP/1.1"),  # answered without chunked framing, closed at the end
        (("-H", "Connection: close"), "HTTP/1.1"),
        (("--http2-prior-knowledge",), "HTTP/2"),
        (("-H", "Transfer-Encoding: chunked"), "HTTP/1.1"),
    ],
    ids=["http1.0", "connection-close", "h2c-prior-knowledge", "chunked-request"],
)
def test_stream_is_complete_over_every_framing(
    scripted_runtime: RunningRuntime, flags: tuple[str, ...], version: str
) -> None:
    # When a stream is read over this framing, Then every event arrives, ending with metadata
    got_version, payload = _curl(scripted_runtime, *flags)
    assert got_version == version
    events = _events(payload)
    assert events[0] == "messageStart" and events[-2:] == ["messageStop", "metadata"]
    assert events.count("contentBlockDelta") == 4  # "echo: Write three words."


def test_http10_stream_is_not_chunked(scripted_runtime: RunningRuntime) -> None:
    # An HTTP/1.0 client cannot read chunked encoding: the body is delimited by closing instead
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "--http1.0",
            "-i",
            "--raw",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
            BODY,
            f"{scripted_runtime.endpoint_url}/model/{MODEL}/converse-stream",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    head = result.stdout.partition(b"\r\n\r\n")[0].lower()
    assert b"transfer-encoding: chunked" not in head


def test_chunked_request_body_is_read(scripted_runtime: RunningRuntime) -> None:
    # Given a Converse body sent with Transfer-Encoding: chunked, Then it is read whole
    _, payload = _curl(scripted_runtime, "-H", "Transfer-Encoding: chunked", path="converse")
    assert json.loads(payload)["output"]["message"]["content"][0]["text"] == "echo: Write three words."


def test_h2c_upgrade(scripted_runtime: RunningRuntime) -> None:
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            f"{scripted_runtime.endpoint_url}/health",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout == "2"


def test_js_sdk_v3_default_client(private_runtime: Any) -> None:
    # Given the JS SDK's default client (HTTP/2; it sends GOAWAY right after each stream's headers)
    node_modules = ROOT / "node_modules" / "@aws-sdk" / "client-bedrock-runtime"
    assert shutil.which("node"), "node is needed for the JS SDK test"
    assert node_modules.is_dir(), "run `npm ci` at the repository root (make test does)"
    runtime = private_runtime(
        ScriptedEngine(token_delay=0.002), aliases={"anthropic.claude-3-haiku-20240307-v1:0": MODEL}
    )

    # When it calls Converse (3 in turn, 3 at once), ConverseStream (5 times),
    # InvokeModelWithResponseStream and CountTokens
    result = subprocess.run(
        ["node", str(JS_CLIENT), runtime.endpoint_url, MODEL],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    # Then every answer is whole
    assert seen["converseTexts"] == ["echo: Say hello to the JavaScript SDK."] * 6
    for stream in seen["streams"]:
        assert stream == {
            "first": "messageStart",
            "last": "metadata",
            "text": "echo: Say hello to the JavaScript SDK.",
        }
    assert seen["invokeTypes"][0] == "message_start" and seen["invokeTypes"][-1] == "message_stop"
    assert seen["inputTokens"] == 6

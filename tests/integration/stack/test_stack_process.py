"""`python -m local_stack` (what `make run` runs) as a real process: URLs printed, clean stop on signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from local_stack.runner import REPO_ROOT


def wait_for_line(
    process: subprocess.Popen[str], pattern: str, timeout: float = 60
) -> tuple[re.Match[str], str]:
    seen = ""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen += line
        match = re.search(pattern, line)
        if match:
            return match, seen
    raise AssertionError(f"no line matching {pattern!r}; output so far:\n{seen}")


def runner_command(state_dir: Path) -> list[str]:
    """The runner as `make run` starts it, with the scripted model on a free port."""
    return [
        sys.executable,
        "-m",
        "local_stack",
        "--port",
        "0",
        "--model",
        "scripted",
        "--state-dir",
        str(state_dir),
    ]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_runner_prints_its_urls_serves_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    # Given the runner started as `make run` starts it (scripted model, free port)
    command = runner_command(tmp_path)
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    try:
        # When it reports ready
        app, _ = wait_for_line(process, r"^App: (http://127\.0\.0\.1:\d+)/$")
        bedrock, _ = wait_for_line(process, r"^Bedrock endpoint: (http://127\.0\.0\.1:\d+)$")
        endpoints = json.loads((tmp_path / "endpoints.json").read_text())
        # Then the app and the runtime answer on the printed URLs
        assert httpx.get(app.group(1) + "/api/health").json() == {"status": "ok"}
        assert httpx.post(app.group(1) + "/api/chat", json={"message": "hi"}).json()["answer"] == "echo: hi"
        assert httpx.get(bedrock.group(1) + "/health").json()["status"] == "ready"
        # And a signal stops everything: exit 0, moto's child process gone, ports closed
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stdout is not None
    output = process.stdout.read()
    assert "Stopped." in output
    assert "Traceback" not in output
    deadline = time.monotonic() + 5
    while pid_alive(endpoints["motoPid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(endpoints["motoPid"])
    for url in (endpoints["app"], endpoints["moto"], endpoints["bedrock"]):
        host, port = url.removeprefix("http://").split(":")
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=1).close()
    assert not (tmp_path / "endpoints.json").exists()
    # A clean stop folds what was stored into the snapshot (local_stack/moto_snapshot.py)
    assert (tmp_path / "moto-snapshot.jsonl").stat().st_size > 0
    assert (tmp_path / "moto-recording.jsonl").read_text() == ""


def test_moto_child_exits_when_the_runner_is_killed(tmp_path: Path) -> None:
    # SIGKILL gives the runner no chance to clean up; the child notices its parent is gone.
    command = runner_command(tmp_path)
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_line(process, r"^App: ")
        moto_pid = json.loads((tmp_path / "endpoints.json").read_text())["motoPid"]
        process.kill()
        process.wait()
        deadline = time.monotonic() + 5
        while pid_alive(moto_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(moto_pid)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "local_stack",
                "--port",
                str(port),
                "--model",
                "scripted",
                "--state-dir",
                str(tmp_path),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr


def test_after_the_first_stop_signal_later_ones_are_ignored() -> None:
    # A signal to `make run`'s process group reaches the runner more than once (make passes its
    # own on); one arriving during the shutdown must not raise a second KeyboardInterrupt.
    from local_stack.__main__ import _raise_interrupt

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(KeyboardInterrupt):
            _raise_interrupt(signal.SIGTERM, None)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

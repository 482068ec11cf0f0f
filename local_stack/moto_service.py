"""moto in server mode for S3 and DynamoDB, with state kept across restarts.

The server runs in a child process (isolated state, a real restart when the runner restarts).
State lives in two files of the state directory:
- `moto-snapshot.jsonl`: every table, item, bucket and object as they were at the last clean stop
  or start (`local_stack.moto_snapshot`), loaded straight into moto's backends at start-up, so a
  restart costs time in proportion to what is stored, not to how many writes made it;
- `moto-recording.jsonl`: moto's own recorder, appending every request since that snapshot. A
  stack killed with SIGKILL loses nothing: the next start loads the snapshot, replays this tail
  over HTTP, then writes a new snapshot and truncates the tail. Read-only requests (and a torn last
  line left by a crash) are dropped before replaying.

Known limits (see local_stack/README.md):
- the tail is replayed in arrival order, not commit order: two concurrent conditional writes to
  the same item may replay in the other order;
- file bytes are stored base64 (about 4/3 of their size).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

from chatbot_common.resources import TTL_ATTRIBUTE, table_definition
from local_stack import moto_snapshot
from local_stack.moto_process import SNAPSHOT_PATH

LOCAL_REGION = "us-east-1"
# Dummy credentials: moto accepts any; real AWS rejects these, which is what we want in tests.
DUMMY_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
RECORDING_FILE = "moto-recording.jsonl"
SNAPSHOT_FILE = "moto-snapshot.jsonl"
LOG_FILE = "moto.log"

_READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}
_READ_ONLY_DYNAMODB_ACTIONS = {
    "BatchGetItem",
    "DescribeContinuousBackups",
    "DescribeEndpoints",
    "DescribeLimits",
    "DescribeTable",
    "DescribeTimeToLive",
    "GetItem",
    "ListTables",
    "ListTagsOfResource",
    "Query",
    "Scan",
    "TransactGetItems",
}


class MotoStartError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_read_only(entry: dict[str, Any]) -> bool:
    """True for a recorded request that cannot have changed moto's state."""
    url = str(entry.get("url", ""))
    path = url.split("://", 1)[-1].partition("/")[2]
    if path.startswith("moto-api/"):
        return True
    if str(entry.get("method", "")).upper() in _READ_ONLY_METHODS:
        return True
    headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
    target = headers.get("x-amz-target", "")
    if target.startswith("DynamoDB_"):
        return target.partition(".")[2] in _READ_ONLY_DYNAMODB_ACTIONS
    return False


def compact_recording(path: Path, snapshot: Path | None = None) -> tuple[int, int]:
    """Drop read-only and unreadable lines from a recording, in place. Returns (kept, dropped).

    With `snapshot`, a recording prefix that snapshot already absorbed (the process died between
    writing the snapshot and truncating the recording) is dropped too, so no write applies twice.
    """
    if not path.exists():
        return 0, 0
    kept: list[str] = []
    dropped = 0
    with path.open(encoding="utf-8") as source:
        lines = source.readlines()
    header = moto_snapshot.read_header(snapshot) if snapshot is not None else None
    absorbed = int(header.get("recording_lines", 0)) if header else 0
    if header and absorbed and moto_snapshot.recording_digest(lines[:absorbed]) == header["recording_digest"]:
        dropped += absorbed
        lines = lines[absorbed:]
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            dropped += 1  # a line torn by a crash mid-write
            continue
        if not isinstance(entry, dict) or is_read_only(entry):
            dropped += 1
            continue
        kept.append(json.dumps(entry))
    if dropped:
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        os.replace(tmp, path)
    return len(kept), dropped


class MotoServer:
    """A moto server child process on 127.0.0.1, recording to `<state_dir>/moto-recording.jsonl`."""

    def __init__(self, state_dir: Path, *, host: str = "127.0.0.1", persist: bool = True) -> None:
        self.state_dir = state_dir
        self.host = host
        self.persist = persist
        self.recording_path = state_dir / RECORDING_FILE
        self.snapshot_path = state_dir / SNAPSHOT_FILE
        self.replayed_requests = 0
        self.restored_items = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Spawn the server without waiting (it imports for a second or two; do other work meanwhile)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._log is None:
            self._log = (self.state_dir / LOG_FILE).open("wb")
        self.port = free_port(self.host)
        env = dict(os.environ)
        env["MOTO_RECORDER_FILEPATH"] = str(self.recording_path)
        env.pop("MOTO_ENABLE_RECORDING", None)
        command = [sys.executable, "-m", "local_stack.moto_process", str(os.getpid())]
        command += ["--host", self.host, "--port", str(self.port)]
        if self.persist:
            command += ["--snapshot", str(self.snapshot_path)]
        # A new session: the terminal's Ctrl-C reaches the runner only, which stops the apps first
        # and then moto, so no request is cut off half-recorded.
        self._process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until it listens (relaunching on a lost port race), then replay the recording."""
        for _attempt in range(3):
            if self._wait_listening(timeout):
                break
            self.launch()  # the free port was taken between choosing and binding it
        else:
            raise MotoStartError(f"moto server did not start; see {self.state_dir / LOG_FILE}")
        if self.persist:
            loaded = httpx.get(f"{self.endpoint_url}{SNAPSHOT_PATH}", timeout=timeout)
            loaded.raise_for_status()
            self.restored_items = int(loaded.json()["loadedItems"])
            self.replayed_requests, _ = compact_recording(self.recording_path, self.snapshot_path)
            if self.replayed_requests:
                self._call_recorder("replay-recording", timeout=max(60.0, self.replayed_requests / 20))
                self.save_snapshot()
            # Recording starts after the replay (the replay itself is never recorded) and after the
            # readiness probes, so only the stack's own traffic lands in the file.
            self._call_recorder("start-recording")

    def _wait_listening(self, timeout: float) -> bool:
        assert self._process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise MotoStartError(f"moto server did not listen within {timeout:.0f}s")

    def _call_recorder(self, action: str, timeout: float = 10.0) -> None:
        response = httpx.post(f"{self.endpoint_url}/moto-api/recorder/{action}", timeout=timeout)
        response.raise_for_status()

    def save_snapshot(self, timeout: float = 120.0) -> dict[str, Any]:
        """Fold the recording into the snapshot (the recorder must be stopped, nothing writing).

        Returns {"items": stored DynamoDB items, "absorbedRequests": recording lines folded in}.
        """
        response = httpx.post(f"{self.endpoint_url}{SNAPSHOT_PATH}", timeout=timeout)
        response.raise_for_status()
        return dict(response.json())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server; a persisted one first folds this run's writes into the snapshot."""
        if self.persist and self._process is not None and self._process.poll() is None:
            try:
                self._call_recorder("stop-recording")
                self.save_snapshot()
            except httpx.HTTPError:
                pass  # the recording still holds every write: the next start replays it
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=LOCAL_REGION,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            **DUMMY_CREDENTIALS,
        )

    def ensure_resources(self, table_name: str, bucket: str, cors_origins: list[str]) -> None:
        """Create the table and uploads bucket the CDK stack defines, if the replay did not."""
        dynamodb = self.client("dynamodb")
        try:
            dynamodb.describe_table(TableName=table_name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            dynamodb.create_table(**table_definition(table_name))
            dynamodb.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            s3.create_bucket(Bucket=bucket)
        # The browser posts uploads straight to the bucket (presigned POST), cross-origin locally.
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": cors_origins,
                        "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 300,
                    }
                ]
            },
        )

"""State across restarts of the local stack (a snapshot of current state, plus moto's recorder for
the writes since it, replayed after an unclean stop)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from local_stack import moto_snapshot
from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.moto_service import RECORDING_FILE, SNAPSHOT_FILE, compact_recording, is_read_only
from local_stack.runner import LocalStack, StackError


def scripted_stack(state_dir: Path, **kwargs: object) -> LocalStack:
    return LocalStack(port=0, state_dir=state_dir, engines=[ScriptedEngine()], **kwargs)  # type: ignore[arg-type]


def test_a_conversation_survives_a_restart(tmp_path: Path) -> None:
    # Given a conversation of two turns (JSON, then streamed)
    with scripted_stack(tmp_path) as stack:
        first = httpx.post(stack.url + "/api/chat", json={"message": "remember the word teal"}).json()
        conversation_id = first["conversationId"]
        body = {"message": "what word?", "conversationId": conversation_id}
        streamed = httpx.post(stack.url + "/api/chat", json=body, headers={"Accept": "text/event-stream"})
        assert streamed.status_code == 200
    # When the stack is stopped and started again on the same state dir
    with scripted_stack(tmp_path) as stack:
        # (a clean stop folded every write into the snapshot: nothing is left to replay)
        assert stack.restored_items > 0
        assert stack.replayed_requests == 0
        listed = httpx.get(stack.url + "/api/conversations").json()
        shown = httpx.get(f"{stack.url}/api/conversations/{conversation_id}").json()
        # ... and the conversation continues
        third = httpx.post(
            stack.url + "/api/chat", json={"message": "and now?", "conversationId": conversation_id}
        )
        assert stack.runtime is not None
        sent = stack.runtime.requests[-1]["messages"]
    # Then it is listed, with its messages, and the model receives the earlier turns
    assert [c["id"] for c in listed["items"]] == [conversation_id]
    assert [m["content"] for m in shown["messages"]] == [
        "remember the word teal",
        "echo: remember the word teal",
        "what word?",
        "echo: what word?",
    ]
    assert third.status_code == 200
    assert len(sent) == 5
    assert sent[0]["content"][0]["text"] == "remember the word teal"


def kill_moto(stack: LocalStack) -> None:
    """What a crash or `kill -9` of the stack does to moto: no snapshot at stop."""
    assert stack.moto is not None and stack.moto.pid is not None
    os.kill(stack.moto.pid, signal.SIGKILL)
    stack.moto._process.wait(timeout=10)  # type: ignore[union-attr]


def test_after_a_crash_the_writes_since_the_snapshot_are_replayed_once(tmp_path: Path) -> None:
    # Given a stack whose moto dies without a clean stop, after a write and a read
    with scripted_stack(tmp_path) as stack:
        first = httpx.post(stack.url + "/chat", json={"message": "hi"}).json()
        httpx.get(stack.url + "/conversations")
        entries = [json.loads(line) for line in (tmp_path / RECORDING_FILE).read_text().splitlines()]
        kill_moto(stack)
    assert any(is_read_only(e) for e in entries)  # reads are recorded while running...
    writes = [e for e in entries if not is_read_only(e)]
    # When it starts again
    with scripted_stack(tmp_path) as stack:
        replayed = stack.replayed_requests
        shown = httpx.get(f"{stack.url}/conversations/{first['conversationId']}").json()
    # Then only the writes were replayed, the conversation is back, and the tail was folded into the
    # snapshot (a second restart replays nothing and still has it)
    assert replayed == len(writes)
    assert [m["content"] for m in shown["messages"]] == ["hi", "echo: hi"]
    assert (tmp_path / RECORDING_FILE).read_text() == ""
    with scripted_stack(tmp_path) as stack:
        assert stack.replayed_requests == 0
        again = httpx.get(f"{stack.url}/conversations/{first['conversationId']}").json()
    assert again["messages"] == shown["messages"]


def test_a_recording_the_snapshot_already_absorbed_is_not_replayed_twice(tmp_path: Path) -> None:
    # Given a crash between writing the snapshot and truncating the recording it absorbed
    write = {
        "method": "POST",
        "url": "http://127.0.0.1:1/",
        "headers": {"X-Amz-Target": "DynamoDB_20120810.UpdateItem"},
    }
    later = {
        "method": "POST",
        "url": "http://127.0.0.1:1/",
        "headers": {"X-Amz-Target": "DynamoDB_20120810.PutItem"},
    }
    absorbed = [json.dumps(write) + "\n"]
    recording = tmp_path / RECORDING_FILE
    recording.write_text("".join(absorbed) + json.dumps(later) + "\n")
    snapshot = tmp_path / SNAPSHOT_FILE
    header = {"format": 1, "recording_digest": moto_snapshot.recording_digest(absorbed), "recording_lines": 1}
    snapshot.write_text(json.dumps(header) + "\n")
    # When the recording is prepared for replay
    kept, dropped = compact_recording(recording, snapshot)
    # Then only the write made after the snapshot remains
    assert (kept, dropped) == (1, 1)
    assert [json.loads(line) for line in recording.read_text().splitlines()] == [later]


def test_without_persistence_nothing_is_recorded(tmp_path: Path) -> None:
    with scripted_stack(tmp_path, persist=False) as stack:
        httpx.post(stack.url + "/chat", json={"message": "hi"})
    with scripted_stack(tmp_path, persist=False) as stack:
        assert httpx.get(stack.url + "/conversations").json()["items"] == []
    assert not (tmp_path / RECORDING_FILE).exists()


def test_one_stack_per_state_dir(tmp_path: Path) -> None:
    with scripted_stack(tmp_path), pytest.raises(StackError, match="Another local stack"):
        scripted_stack(tmp_path).start()


def test_a_torn_last_line_is_dropped_before_replay(tmp_path: Path) -> None:
    recording = tmp_path / RECORDING_FILE
    write = {
        "method": "POST",
        "url": "http://127.0.0.1:1/",
        "headers": {"X-Amz-Target": "DynamoDB_20120810.PutItem"},
    }
    read = {
        "method": "POST",
        "url": "http://127.0.0.1:1/",
        "headers": {"x-amz-target": "DynamoDB_20120810.Query"},
    }
    s3_get = {"method": "GET", "url": "http://127.0.0.1:1/bucket/key", "headers": {}}
    recording.write_text(
        "\n".join([json.dumps(write), json.dumps(read), json.dumps(s3_get), '{"method": "PO']) + "\n"
    )
    assert compact_recording(recording) == (1, 3)
    assert [json.loads(line) for line in recording.read_text().splitlines()] == [write]


def test_an_uploaded_file_survives_a_restart(tmp_path: Path) -> None:
    # Given a file uploaded the browser's way: reserve, then a presigned multipart POST to the bucket
    content = b"Meeting notes: ship the beta on Friday.\n" * 10
    request = {
        "filename": "notes.txt",
        "contentType": "text/plain",
        "size": len(content),
        "purpose": "document",
    }
    with scripted_stack(tmp_path) as stack:
        ticket = httpx.post(stack.url + "/api/uploads", json=request).json()
        posted = httpx.post(
            ticket["url"], data=ticket["fields"], files={"file": ("notes.txt", content, "text/plain")}
        )
        assert posted.status_code in (200, 201, 204), posted.text
    # When the stack restarts (the snapshot holds the object, bytes and metadata)
    with scripted_stack(tmp_path) as stack:
        status = httpx.get(f"{stack.url}/api/uploads/{ticket['uploadId']}").json()
        assert stack.moto is not None
        stored = (
            stack.moto.client("s3").get_object(Bucket=stack.uploads_bucket, Key=ticket["key"])["Body"].read()
        )
        head = stack.moto.client("s3").head_object(Bucket=stack.uploads_bucket, Key=ticket["key"])
    # Then the upload is still there, byte for byte, with its content type
    assert status["status"] == "ready", status
    assert stored == content
    assert head["ContentType"] == "text/plain"

"""Local stack restart: time to a ready moto server with stored state (goal: <= 5 s at 10,000 items).

    python -m bench.bench_stack

Fills a persisted moto server (the stack's own table definition) with chat-message-sized items and
a few S3 objects, then measures, each in a fresh child process:
1. a restart after a clean stop (the snapshot is loaded straight into moto's backends);
2. a restart after a crash (SIGKILL: the snapshot plus the writes since it, replayed over HTTP,
   then folded into a new snapshot), for a tail of `TAIL_WRITES` writes;
3. for reference, what the recorder alone (every write replayed, the previous design) costs for
   the same tail of writes.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

from chatbot_common.resources import PARTITION_KEY, SORT_KEY, table_definition
from local_stack.moto_service import MotoServer

ITEMS = 10_000
OBJECTS = 20
TAIL_WRITES = 1_000
GOAL_SECONDS = 5.0
TABLE = "chatbot-bench"
BUCKET = "chatbot-bench-uploads"


def _message_item(i: int) -> dict[str, dict[str, str]]:
    """An item shaped like a stored chat message (~600 bytes)."""
    return {
        PARTITION_KEY: {"S": f"USER#bench#CONV#{i // 50:05d}"},
        SORT_KEY: {"S": f"MSG#{i:08d}"},
        "kind": {"S": "message"},
        "role": {"S": "assistant" if i % 2 else "user"},
        "content": {"S": "A sentence of a plausible answer about the quarterly plan. " * 9},
        "createdAt": {"S": "2026-12-03T10:00:00.000Z"},
    }


def _fill(server: MotoServer, start: int, count: int) -> None:
    dynamodb = server.client("dynamodb")
    for batch in range(start, start + count, 25):
        requests = [
            {"PutRequest": {"Item": _message_item(i)}} for i in range(batch, min(batch + 25, start + count))
        ]
        dynamodb.batch_write_item(RequestItems={TABLE: requests})


def _timed_start(state_dir: Path) -> tuple[MotoServer, float]:
    server = MotoServer(state_dir)
    started = time.perf_counter()
    server.start(timeout=120)
    return server, time.perf_counter() - started


def _kill(server: MotoServer) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    server.persist = False  # nothing to fold: the process is gone
    server.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        server = MotoServer(state)
        server.start()
        server.client("dynamodb").create_table(**table_definition(TABLE))
        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for i in range(OBJECTS):
            s3.put_object(
                Bucket=BUCKET, Key=f"uploads/bench/{i}/file.txt", Body=b"x" * 50_000, ContentType="text/plain"
            )
        _fill(server, 0, ITEMS)
        server.stop()

        server, clean = _timed_start(state)
        restored = server.restored_items
        _fill(server, ITEMS, TAIL_WRITES * 25)  # TAIL_WRITES BatchWriteItem requests of 25 items
        _kill(server)
        server, crashed = _timed_start(state)
        replayed = server.replayed_requests
        server.stop()

    with tempfile.TemporaryDirectory() as tmp:
        # The previous design: no snapshot, every recorded write replayed over HTTP.
        state = Path(tmp)
        server = MotoServer(state)
        server.start()
        server.client("dynamodb").create_table(**table_definition(TABLE))
        _fill(server, 0, TAIL_WRITES * 25)
        _kill(server)
        (state / "moto-snapshot.jsonl").unlink(missing_ok=True)
        server, replay_only = _timed_start(state)
        replay_only_requests = server.replayed_requests
        server.stop()

    rows = [
        ("after a clean stop", f"{restored:,} (+{OBJECTS} objects)", 0, clean, f"<= {GOAL_SECONDS:.0f} s"),
        ("after SIGKILL (snapshot + tail)", f"{restored + TAIL_WRITES * 25:,}", replayed, crashed, ""),
        (
            "recorder only (previous design), same tail",
            f"{TAIL_WRITES * 25:,}",
            replay_only_requests,
            replay_only,
            "",
        ),
    ]
    print("| restart | stored items | replayed requests | time to ready | goal |")
    print("|---|---:|---:|---:|---|")
    for name, items, requests, seconds, goal in rows:
        print(f"| {name} | {items} | {requests:,} | {seconds:.2f} s | {goal} |")


if __name__ == "__main__":
    main()

"""Child-process entry point for moto's server: `python -m local_stack.moto_process PARENT_PID ARGS...`.

It runs `moto.server.main` and exits as soon as the parent process is gone, so a runner killed
with SIGKILL (or a crashed test session) never leaves a moto server behind.

With `--snapshot PATH` it loads that compact snapshot (`local_stack.moto_snapshot`) into moto's
backends before serving, and answers `POST /_local/snapshot` by writing the current state there and
truncating the recording it absorbed.

It also makes moto's DynamoDB TransactWriteItems cost what the transaction touches: moto deep-copies
every table a transaction names so it can roll back, which costs time in proportion to the whole
table (measured here: 2.5 ms on an empty table, 46 ms at 1,000 items, against about 1 ms for a
PutItem), and a chat turn is one or two transactions. Only the named items are snapshotted instead.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from local_stack import moto_snapshot

SNAPSHOT_PATH = "/_local/snapshot"


def _exit_when_orphaned(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto.dynamodb.models: tables are not deep-copied
    (their rollback is done by `_snapshot_rollback`); anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transaction_keys(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    found = []
    for entry in transact_items:
        op: Any = next(iter(entry.values()), {})
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        attrs = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in attrs or (table.range_key_attr and table.range_key_attr not in attrs):
            continue  # moto refuses the request itself
        range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        found.append((table, DynamoType(attrs[table.hash_key_attr]), range_value))
    return found


def _snapshot_rollback() -> None:
    from moto.dynamodb import models

    transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [
            (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
            for table, hash_key, range_key in _transaction_keys(self, transact_items)
        ]
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                elif item is None:
                    if hash_key in table.items:
                        table.items[hash_key].pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _TablesNotCopied  # type: ignore[assignment]


def _with_snapshot_endpoint(app: Any, snapshot: Path, loaded_items: int) -> Any:
    """Wrap moto's WSGI app: `POST /_local/snapshot` saves the state and truncates the recording;
    `GET /_local/snapshot` says how many items were loaded from the snapshot at start.

    Callers stop the recorder (and their own traffic) first, so nothing is written meanwhile.
    """
    from moto.moto_api import recorder

    def reply(start_response: Any, payload: dict[str, Any]) -> list[bytes]:
        body = json.dumps(payload).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != SNAPSHOT_PATH:
            return app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return reply(start_response, {"loadedItems": loaded_items})
        recording = Path(os.environ.get("MOTO_RECORDER_FILEPATH", "moto_recording"))
        lines = recording.read_text(encoding="utf-8").splitlines(keepends=True) if recording.exists() else []
        items = moto_snapshot.save(snapshot, absorbed_recording=lines)
        recorder.reset_recording()
        return reply(start_response, {"items": items, "absorbedRequests": len(lines)})

    return wsgi


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.moto_process")
    parser.add_argument("parent_pid", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--snapshot", type=Path, default=None)
    args = parser.parse_args(argv)
    threading.Thread(target=_exit_when_orphaned, args=(args.parent_pid,), daemon=True).start()

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    _snapshot_rollback()
    app: Any = DomainDispatcherApplication(create_backend_app)
    if args.snapshot is not None:
        items = 0
        if args.snapshot.exists():
            started = time.perf_counter()
            try:
                items = moto_snapshot.load(args.snapshot)
            except ValueError as exc:
                items = 0
                print(f"snapshot not loaded, starting empty: {exc}", flush=True)
            else:
                print(f"snapshot loaded: {items} items in {time.perf_counter() - started:.2f}s", flush=True)
        app = _with_snapshot_endpoint(app, args.snapshot, items)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

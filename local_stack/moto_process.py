"""Child-process entry point for moto's server: `python -m local_stack.moto_process PARENT_PID ARGS...`.

It runs `moto.server.main` and exits as soon as the parent process is gone, so a runner killed
with SIGKILL (or a crashed test session) never leaves a moto server behind.

It also makes moto's DynamoDB TransactWriteItems cost what the transaction touches: moto deep-copies
every table a transaction names so it can roll back, which costs time in proportion to the whole
table (measured here: 2.5 ms on an empty table, 46 ms at 1,000 items, against about 1 ms for a
PutItem), and a chat turn is one or two transactions. Only the named items are snapshotted instead.
"""

from __future__ import annotations

import copy
import os
import sys
import threading
import time
from typing import Any


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


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    parent_pid = int(args.pop(0))
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()

    from moto.server import main as moto_main

    _snapshot_rollback()
    moto_main(args)


if __name__ == "__main__":
    main()

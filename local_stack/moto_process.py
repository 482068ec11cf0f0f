"""Child-process entry point for moto's server: `python -m local_stack.moto_process PARENT_PID ARGS...`.

It runs `moto.server.main` and exits as soon as the parent process is gone, so a runner killed
with SIGKILL (or a crashed test session) never leaves a moto server behind.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def _exit_when_orphaned(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    parent_pid = int(args.pop(0))
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()

    from moto.server import main as moto_main

    moto_main(args)


if __name__ == "__main__":
    main()

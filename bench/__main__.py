"""`python -m bench [NAME ...]`: run the benchmarks and print their tables.

    python -m bench            # every bench/bench_*.py module
    python -m bench chat       # only bench_chat.py (several names allowed)
    python -m bench --list

Each module runs in a fresh interpreter, so one benchmark's imports and warm caches cannot
flatter the next one's start-up figures. Exit status is non-zero if any benchmark failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


def available() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the project's benchmarks.")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(available())}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(available()))
        return 0
    names = [name.removeprefix("bench_") for name in args.names] or available()
    unknown = [name for name in names if name not in available()]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
    failed = []
    for name in names:
        print(f"\n## bench_{name}\n", flush=True)
        started = time.perf_counter()
        code = subprocess.call(
            [sys.executable, "-c", f"import bench.bench_{name} as module; module.main()"], cwd=REPO_ROOT
        )
        print(f"\n(bench_{name}: {time.perf_counter() - started:.1f} s, exit {code})", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Lambda bundles: what each function ships, and how long its cold import takes.

    python -m bench bundles

Builds each bundle exactly as `cdk synth` does (local bundling, wheels for aarch64 CPython 3.13,
cached by content hash under .state/bundles), then reports unzipped and zipped size, file count,
the share of the limit, and the largest top-level entries.

Cold import: the same bundles built for this machine (``host_target()``, the rehearsal's) are
imported by a fresh python3.13 process, ``import <fn>.app`` then ``create_app()``'s module
imports, with the shipped bytecode and with every ``__pycache__`` removed. Lambda's /var/task is
read-only, so without shipped bytecode every cold start compiles again: the second case runs
with PYTHONDONTWRITEBYTECODE=1 to keep it that way across repetitions.

Chat app import breakdown (issue 16's goal: <= 1.0 s with bytecode on this machine): the shipped
host bundle alone on the path, ``python3.13 -X importtime -c "import lambda_chat.app"``,
IMPORTTIME_RUNS runs; the median of lambda_chat.app's cumulative time, and the top-level packages
whose own modules cost the most (summed self times, median over the runs) with the chain that
first imports each. Without a python3.13 here, the host interpreter imports the repository's sources instead
(labelled so).
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench import markdown_table
from cdk.bundling import (
    FunctionPackage,
    build_bundle,
    bundle_size_bytes,
    content_hash,
    host_target,
    target_interpreter,
)
from cdk.constants import LAMBDA_PYTHON_VERSION

FUNCTIONS = ("lambda_chat", "lambda_upload")
IMPORT_REPEATS = 3
IMPORTTIME_RUNS = 5
IMPORT_GOAL_SECONDS = 1.0
TOP_IMPORTS = 12
_IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
MB = 1024 * 1024


def _zipped_size(root: Path, target: Path) -> int:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root))
    return target.stat().st_size


def _largest_entries(root: Path, count: int = 5) -> list[tuple[str, int]]:
    sizes = []
    for entry in root.iterdir():
        size = entry.stat().st_size if entry.is_file() else bundle_size_bytes(entry)
        sizes.append((entry.name, size))
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:count]


def _import_seconds(interpreter: str, bundle: Path, module: str, *, write_bytecode: bool) -> float:
    """Wall time of one fresh process importing ``module`` from ``bundle`` (interpreter start-up
    subtracted by timing inside the process)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(bundle), "HOME": str(bundle)}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env |= {"CHATBOT_TABLE_NAME": "bench-table", "CHATBOT_UPLOADS_BUCKET": "bench-bucket"}
    out = subprocess.run(
        [interpreter, "-c", code], env=env, cwd=bundle, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def _bundle_env(bundle: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(bundle),
        "HOME": str(bundle),
        "PYTHONDONTWRITEBYTECODE": "1",
        "CHATBOT_TABLE_NAME": "bench-table",
        "CHATBOT_UPLOADS_BUCKET": "bench-bucket",
    }


def importtime_run(interpreter: str, path: Path, module: str) -> list[tuple[int, int, int, str]]:
    """One fresh ``-X importtime`` import of ``module`` with only ``path`` on sys.path: rows of
    (self us, cumulative us, nesting depth, module) in the order Python reports them (a module
    after the modules it imported)."""
    out = subprocess.run(
        [interpreter, "-X", "importtime", "-c", f"import {module}"],
        env=_bundle_env(path),
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        match = _IMPORTTIME_LINE.match(line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    return rows


def _by_package(rows: list[tuple[int, int, int, str]]) -> dict[str, tuple[int, str]]:
    """Per top-level package: (the summed self time of all its modules in us: what its own code
    costs, wherever it is imported from; the chain that first imports it)."""
    own: dict[str, int] = {}
    chains: dict[str, str] = {}
    for index, (self_us, _, depth, name) in enumerate(rows):
        package = name.split(".")[0]
        own[package] = own.get(package, 0) + self_us
        if package in chains:
            continue
        chain, level = [], depth
        for _, _, parent_depth, parent in rows[index + 1 :]:
            if parent_depth < level and parent.split(".")[0] != package:
                chain.append(parent)
                level = parent_depth
            elif parent_depth < level:
                level = parent_depth
        chains[package] = " <- ".join(chain[:3]) + (" ..." if len(chain) > 3 else "")
    return {package: (own[package], chains[package]) for package in own}


def importtime_report(tmp: Path, module: str = "lambda_chat.app") -> tuple[str, list[list[object]]]:
    """(headline, rows) of the chat app's import breakdown: see the module docstring."""
    interpreter = target_interpreter(LAMBDA_PYTHON_VERSION)
    if interpreter is not None:
        path = build_bundle(FunctionPackage("lambda_chat"), tmp / "importtime-lambda_chat", host_target())
        where = f"python{LAMBDA_PYTHON_VERSION}, shipped host bundle with its bytecode"
    else:
        interpreter, path = sys.executable, Path(__file__).resolve().parent.parent
        host = sys.version.split()[0]
        where = f"host python {host} on the repository (no python{LAMBDA_PYTHON_VERSION} here)"
    runs = [importtime_run(interpreter, path, module) for _ in range(IMPORTTIME_RUNS)]
    totals = [next(cum for _, cum, _, name in rows if name == module) / 1e6 for rows in runs]
    packages = [_by_package(rows) for rows in runs]

    def median_ms(package: str) -> float:
        return statistics.median(run.get(package, (0, ""))[0] for run in packages) / 1000

    ranked = sorted(packages[0], key=lambda package: -median_ms(package))[:TOP_IMPORTS]
    rows: list[list[object]] = [
        [package, f"{median_ms(package):.0f}", packages[0][package][1]] for package in ranked
    ]
    median = statistics.median(totals)
    verdict = "met" if median <= IMPORT_GOAL_SECONDS else "NOT met"
    headline = (
        f"import {module} (-X importtime, {where}): median {median:.2f} s "
        f"({min(totals):.2f}-{max(totals):.2f}, {IMPORTTIME_RUNS} runs); "
        f"goal <= {IMPORT_GOAL_SECONDS:.1f} s: {verdict}"
    )
    return headline, rows


def cold_import_rows(tmp: Path) -> list[list[object]]:
    interpreter = target_interpreter(LAMBDA_PYTHON_VERSION)
    if interpreter is None:
        return []
    rows: list[list[object]] = []
    for name in FUNCTIONS:
        shipped = build_bundle(FunctionPackage(name), tmp / f"host-{name}", host_target())
        bare = tmp / f"bare-{name}"
        shutil.copytree(shipped, bare, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        module = f"{name}.app"
        with_pyc = [
            _import_seconds(interpreter, shipped, module, write_bytecode=False) for _ in range(IMPORT_REPEATS)
        ]
        without = [
            _import_seconds(interpreter, bare, module, write_bytecode=False) for _ in range(IMPORT_REPEATS)
        ]
        rows.append(
            [
                name,
                f"{statistics.median(with_pyc):.2f} ({min(with_pyc):.2f}-{max(with_pyc):.2f})",
                f"{statistics.median(without):.2f} ({min(without):.2f}-{max(without):.2f})",
                f"{statistics.median(without) / statistics.median(with_pyc):.1f}x",
            ]
        )
    return rows


def main() -> None:
    rows = []
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in FUNCTIONS:
            package = FunctionPackage(name)
            started = time.perf_counter()
            out = build_bundle(package, Path(tmp) / name)
            build_seconds = time.perf_counter() - started
            unzipped = bundle_size_bytes(out)
            zipped = _zipped_size(out, Path(tmp) / f"{name}.zip")
            files = sum(1 for p in out.rglob("*") if p.is_file())
            rows.append(
                [
                    name,
                    f"{unzipped / MB:.1f}",
                    f"{zipped / MB:.1f}",
                    files,
                    f"{100 * unzipped / LAMBDA_UNZIPPED_LIMIT:.0f}%",
                    f"{build_seconds:.1f}",
                    content_hash(package)[:12],
                ]
            )
            top = ", ".join(f"{entry} {size / MB:.1f}" for entry, size in _largest_entries(out))
            details.append([name, top])
        imports = cold_import_rows(Path(tmp))
        importtime_headline, importtime_rows = importtime_report(Path(tmp))
    print(
        markdown_table(
            ["bundle", "unzipped MB", "zipped MB", "files", "of 250 MB limit", "build s", "content hash"],
            rows,
        )
    )
    print()
    print(markdown_table(["bundle", "largest entries (MB)"], details))
    print("\n(build s is near zero when .state/bundles already holds this content hash.)")
    if imports:
        print()
        print(
            markdown_table(
                [
                    "bundle (host build)",
                    f"cold import s, shipped bytecode (median, min-max of {IMPORT_REPEATS})",
                    "cold import s, no bytecode",
                    "slower without",
                ],
                imports,
            )
        )
    else:
        print(f"\n(cold import not measured: no python{LAMBDA_PYTHON_VERSION} here)")
    print()
    print(importtime_headline)
    print()
    print(
        markdown_table(
            ["package", "own import ms (median, all its modules)", "first imported by"], importtime_rows
        )
    )
    print("\n(-X importtime adds its own overhead: the figure is an upper bound of the plain import.)")


if __name__ == "__main__":
    main()

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
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
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


if __name__ == "__main__":
    main()

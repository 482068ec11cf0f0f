"""Lambda bundle sizes: what each function ships, against Lambda's 250 MB unzipped limit.

    python -m bench bundles

Builds each bundle exactly as `cdk synth` does (local bundling, wheels for aarch64 CPython 3.13,
cached by content hash under .state/bundles), then reports unzipped and zipped size, file count,
the share of the limit, and the largest top-level entries.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

from bench import markdown_table
from cdk.bundling import FunctionPackage, build_bundle, bundle_size_bytes, content_hash

FUNCTIONS = ("lambda_chat", "lambda_upload")
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
    print(
        markdown_table(
            ["bundle", "unzipped MB", "zipped MB", "files", "of 250 MB limit", "build s", "content hash"],
            rows,
        )
    )
    print()
    print(markdown_table(["bundle", "largest entries (MB)"], details))
    print("\n(build s is near zero when .state/bundles already holds this content hash.)")


if __name__ == "__main__":
    main()

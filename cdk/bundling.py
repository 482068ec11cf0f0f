"""Offline, Docker-free packaging of the Lambda functions.

Each function's asset holds: its pinned third-party dependencies installed for the Lambda
platform (wheels only, aarch64, the runtime's CPython), the shared ``chatbot_common`` package,
the function's own package, and ``run.sh`` at the root (the Web Adapter's startup command).

Bundles are cached by content hash under ``.state/bundles`` and the CDK asset hash is that same
hash, so a repeated synth neither reinstalls nor re-zips anything.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from cdk.constants import LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, LAMBDA_UV_PLATFORM

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_PACKAGE = "chatbot_common"
CACHE_DIR = REPO_ROOT / ".state" / "bundles"
# Bump when the bundle layout changes, so stale cached bundles are not reused.
BUNDLE_FORMAT = "2"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".mypy_cache", "requirements*.txt")


# Installed as transitive dependencies but never imported on the services' code paths, verified by
# tests/infrastructure/test_bundling.py (the app imports with them blocked). numpy comes with
# langchain-aws (its embeddings and vector stores, unused); zstandard with langsmith (trace upload
# compression, optional, and tracing is off). Together about 67 MB of the chat bundle.
PRUNED_FROM_BUNDLE: dict[str, tuple[str, ...]] = {
    "lambda_chat": ("numpy", "numpy.libs", "zstandard"),
}


@dataclass(frozen=True)
class FunctionPackage:
    """A Lambda's source package (``lambda_chat``) and its lock file."""

    name: str

    @property
    def pruned(self) -> tuple[str, ...]:
        return PRUNED_FROM_BUNDLE.get(self.name, ())

    @property
    def source_dir(self) -> Path:
        return REPO_ROOT / self.name

    @property
    def requirements(self) -> Path:
        return self.source_dir / "requirements.txt"

    @property
    def run_script(self) -> Path:
        return self.source_dir / "run.sh"


def install_command(requirements: Path, target: Path) -> list[str]:
    """The dependency install: wheels for the Lambda platform only, never a local build."""
    uv = Path(sys.executable).parent / "uv"
    platform_args = [
        "--only-binary=:all:",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "-r",
        str(requirements),
        "--target",
        str(target),
    ]
    if uv.exists():
        # uv's resolver honours the same flags and keeps a wheel cache across synths.
        return [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--python-platform",
            LAMBDA_UV_PLATFORM,
            "--no-compile",
            *platform_args,
        ]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        *platform_args,
    ]


def _tree_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def content_hash(package: FunctionPackage) -> str:
    """Hash of everything that ends up in the bundle: lock file, shared and own sources, layout."""
    digest = hashlib.sha256()
    digest.update(f"format={BUNDLE_FORMAT};py={LAMBDA_PYTHON_VERSION};{LAMBDA_PLATFORM}".encode())
    digest.update(f"pruned={','.join(package.pruned)}".encode())
    for root in (REPO_ROOT / SHARED_PACKAGE, package.source_dir):
        for path in _tree_files(root):
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def build_bundle(package: FunctionPackage, output_dir: Path) -> Path:
    """Build (or reuse from the cache) the bundle of ``package`` and copy it into ``output_dir``."""
    cached = CACHE_DIR / f"{package.name}-{content_hash(package)[:16]}"
    if not cached.is_dir():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{package.name}-", dir=CACHE_DIR))
        try:
            if package.requirements.is_file():
                subprocess.run(install_command(package.requirements, staging), check=True)
            # Dependencies' own test suites and caches are dead weight in a Lambda bundle.
            for junk in [*staging.rglob("__pycache__"), *staging.glob("*/**/tests")]:
                if junk.is_dir():
                    shutil.rmtree(junk, ignore_errors=True)
            prune(staging, package.pruned)
            shutil.copytree(REPO_ROOT / SHARED_PACKAGE, staging / SHARED_PACKAGE, ignore=_IGNORED)
            shutil.copytree(package.source_dir, staging / package.name, ignore=_IGNORED)
            run_script = staging / "run.sh"
            shutil.copy2(package.run_script, run_script)
            run_script.chmod(0o755)
            try:
                staging.rename(cached)
            except OSError:
                if not cached.is_dir():  # not a concurrent synth that finished first
                    raise
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    output_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(cached, output_dir, dirs_exist_ok=True, symlinks=True, copy_function=_link_or_copy)
    return output_dir


def _link_or_copy(source: str, target: str) -> object:
    """Hard links make staging a cached bundle nearly free; copy across file systems."""
    try:
        os.link(source, target)
        return target
    except OSError:
        return shutil.copy2(source, target)


def prune(root: Path, names: tuple[str, ...]) -> None:
    """Remove top-level packages (and their dist-info) that the function never imports."""
    for name in names:
        shutil.rmtree(root / name, ignore_errors=True)
        for info in root.glob(f"{name.replace('-', '_')}-*.dist-info"):
            shutil.rmtree(info, ignore_errors=True)


@jsii.implements(ILocalBundling)
class LocalPythonBundling:
    """CDK local bundling: runs on the synth machine, so Docker is never needed."""

    def __init__(self, package: FunctionPackage) -> None:
        self._package = package

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        build_bundle(self._package, Path(output_dir))
        return True


def function_code(package: FunctionPackage, *, skip_bundling: bool) -> lambda_.Code:
    """The asset for one function; ``skip_bundling`` gives the bare source folder (template tests)."""
    if skip_bundling:
        return lambda_.Code.from_asset(str(package.source_dir))
    return lambda_.Code.from_asset(
        str(package.source_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=content_hash(package),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("local-bundling-only"),
            local=LocalPythonBundling(package),
        ),
    )


def bundle_size_bytes(path: Path) -> int:
    """Unzipped size of a bundle directory (what counts against Lambda's 250 MB limit)."""
    return sum(os.path.getsize(p) for p in _tree_files(path))

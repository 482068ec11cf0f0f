"""Offline, Docker-free packaging of the Lambda functions.

Each function's asset holds: its pinned third-party dependencies installed for the Lambda
platform (wheels only, aarch64, the runtime's CPython), the shared ``chatbot_common`` package,
the function's own package, ``run.sh`` at the root (the Web Adapter's startup command), and
bytecode for all of it compiled by the runtime's Python version.

Why bytecode: Lambda's code directory (/var/task) is read-only, so without shipped ``.pyc``
files every cold start compiles every imported module again (importing the chat app took
3.0-3.3 s without bytecode against 1.4-1.6 s with it; ``make bench BENCH=bundles`` measures it).
The ``.pyc`` files use PEP 552's *unchecked-hash* mode: the interpreter trusts them without
stat-ing the source (deployment zips do not keep meaningful mtimes, and the code never changes
under a running function).

The same code path builds a bundle for this machine's platform (``host_target()``): that is what
the deploy rehearsal (rehearsal/) starts.

Bundles are cached by content hash under ``.state/bundles`` and the CDK asset hash is that same
hash, so a repeated synth neither reinstalls nor re-zips anything.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from cdk.constants import LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, LAMBDA_TASK_ROOT, LAMBDA_UV_PLATFORM

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_PACKAGE = "chatbot_common"
CACHE_DIR = REPO_ROOT / ".state" / "bundles"
# Bump when the bundle layout changes, so stale cached bundles are not reused.
BUNDLE_FORMAT = "3"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".mypy_cache", "requirements*.txt")


# Installed as transitive dependencies but never imported on the services' code paths, verified by
# tests/infrastructure/test_bundling.py (the app imports with them blocked). numpy comes with
# langchain-aws (its embeddings and vector stores, unused); zstandard with langsmith (trace upload
# compression, optional, and tracing is off). Together about 67 MB of the chat bundle.
PRUNED_FROM_BUNDLE: dict[str, tuple[str, ...]] = {
    "lambda_chat": ("numpy", "numpy.libs", "zstandard"),
}


@dataclass(frozen=True)
class BundleTarget:
    """Where a bundle will run: the CPython version and the wheel platform tags to install for.

    ``pip_platform`` is pip's ``--platform`` tag and ``uv_platform`` uv's ``--python-platform``
    name for the same thing (uv docs, "Resolution: platform-specific"). ``name`` keys the cache.
    """

    name: str
    python_version: str
    pip_platform: str
    uv_platform: str


# AWS Lambda's python3.13 runtime on arm64 (Amazon Linux 2023, glibc 2.34).
LAMBDA_TARGET = BundleTarget("lambda", LAMBDA_PYTHON_VERSION, LAMBDA_PLATFORM, LAMBDA_UV_PLATFORM)


def host_target() -> BundleTarget:
    """This machine's architecture with the Lambda runtime's Python version (deploy rehearsal).

    Wheels tagged up to manylinux_2_34 run on Lambda's glibc; the same bound keeps the host
    bundle's wheel choice as close to the deployed one as another architecture allows.
    """
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    return BundleTarget(
        f"host-{machine}",
        LAMBDA_PYTHON_VERSION,
        f"manylinux_2_34_{machine}",
        f"{machine}-manylinux_2_34",
    )


@functools.cache
def target_interpreter(python_version: str) -> str | None:
    """An interpreter of exactly ``python_version`` on this machine (to compile bytecode), or None.

    Tries this interpreter, ``python<version>`` on PATH, then pyenv's installed versions (a pyenv
    shim answers only for the active version), and asks each what it really is. Bytecode is
    version-specific (the ``cpython-313`` tag in ``__pycache__`` names), so no other will do.
    """
    candidates = [sys.executable, shutil.which(f"python{python_version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv_root.is_dir():
        candidates += [
            str(p / "bin" / f"python{python_version}") for p in sorted(pyenv_root.glob(f"{python_version}*"))
        ]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        try:
            result = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        version, _, executable = result.stdout.strip().partition("\n")
        if version == python_version:
            return executable or candidate
    return None


def compile_bytecode(root: Path, python_version: str) -> bool:
    """Compile every module under ``root`` with the target's Python (unchecked-hash .pyc).

    Paths inside the bytecode (tracebacks) read as ``/var/task/...``, where Lambda unpacks the
    bundle. Returns False, with a warning on stderr, when no interpreter of that version exists:
    the bundle still works, only its cold start is slower.
    """
    interpreter = target_interpreter(python_version)
    if interpreter is None:
        print(
            f"warning: no python{python_version} on this machine; the bundle ships without bytecode "
            "(slower cold starts). Install it (e.g. pyenv install) and synth again.",
            file=sys.stderr,
        )
        return False
    _compileall(interpreter, root)
    return True


def _compileall(interpreter: str, root: Path) -> None:
    result = subprocess.run(
        [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(root),
            "-p",
            LAMBDA_TASK_ROOT,
            str(root),
        ],
        capture_output=True,
        text=True,
    )
    # A dependency may ship non-Python files named *.py (templates, py2-only examples):
    # compileall reports them and exits 1, yet compiles everything else. Only a crash is fatal.
    if result.returncode not in (0, 1):
        raise RuntimeError(f"compileall failed: {result.stderr[-2000:]}")


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


def install_command(
    requirements: Path, target: Path, bundle_target: BundleTarget = LAMBDA_TARGET
) -> list[str]:
    """The dependency install: wheels for ``bundle_target``'s platform only, never a local build.

    Bytecode is compiled afterwards, by the target's own Python (``compile_bytecode``).
    """
    uv = Path(sys.executable).parent / "uv"
    platform_args = [
        "--only-binary=:all:",
        "--python-version",
        bundle_target.python_version,
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
            bundle_target.uv_platform,
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
        bundle_target.pip_platform,
        "--implementation",
        "cp",
        *platform_args,
    ]


def _tree_files(root: Path, *, with_bytecode: bool = False) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and (with_bytecode or ("__pycache__" not in path.parts and path.suffix != ".pyc"))
    )


def content_hash(package: FunctionPackage, bundle_target: BundleTarget = LAMBDA_TARGET) -> str:
    """Hash of everything that ends up in the bundle: lock file, shared and own sources, layout."""
    digest = hashlib.sha256()
    digest.update(
        f"format={BUNDLE_FORMAT};py={bundle_target.python_version};{bundle_target.pip_platform}".encode()
    )
    digest.update(f"pruned={','.join(package.pruned)}".encode())
    # Whether bytecode can be compiled changes the bundle, so it changes the hash.
    digest.update(f"bytecode={target_interpreter(bundle_target.python_version) is not None}".encode())
    for root in (REPO_ROOT / SHARED_PACKAGE, package.source_dir):
        for path in _tree_files(root):
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def build_bundle(
    package: FunctionPackage, output_dir: Path, bundle_target: BundleTarget = LAMBDA_TARGET
) -> Path:
    """Build (or reuse from the cache) the bundle of ``package`` and copy it into ``output_dir``.

    ``bundle_target`` is the Lambda runtime for deploys; the deploy rehearsal passes
    ``host_target()`` to run the very same bundle layout on this machine.
    """
    digest = content_hash(package, bundle_target)[:16]
    suffix = "" if bundle_target == LAMBDA_TARGET else f"-{bundle_target.name}"
    cached = CACHE_DIR / f"{package.name}-{digest}{suffix}"
    if not cached.is_dir():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{package.name}-", dir=CACHE_DIR))
        try:
            if package.requirements.is_file():
                subprocess.run(install_command(package.requirements, staging, bundle_target), check=True)
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
            compile_bytecode(staging, bundle_target.python_version)
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

    def __init__(self, package: FunctionPackage, bundle_target: BundleTarget = LAMBDA_TARGET) -> None:
        self._package = package
        self._target = bundle_target

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        build_bundle(self._package, Path(output_dir), self._target)
        return True


def function_code(
    package: FunctionPackage, *, skip_bundling: bool, bundle_target: BundleTarget = LAMBDA_TARGET
) -> lambda_.Code:
    """The asset for one function; ``skip_bundling`` gives the bare source folder (template tests).

    ``bundle_target`` is the Lambda runtime, or ``host_target()`` for the deploy rehearsal.
    """
    if skip_bundling:
        return lambda_.Code.from_asset(str(package.source_dir))
    return lambda_.Code.from_asset(
        str(package.source_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=content_hash(package, bundle_target),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("local-bundling-only"),
            local=LocalPythonBundling(package, bundle_target),
        ),
    )


def bundle_size_bytes(path: Path) -> int:
    """Unzipped size of a bundle directory (what counts against Lambda's 250 MB limit)."""
    return sum(os.path.getsize(p) for p in _tree_files(path, with_bytecode=True))

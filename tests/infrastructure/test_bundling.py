"""Packaging: wheels for the Lambda platform only, own deps per function, size far below 250 MB."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cdk.bundling import (
    REPO_ROOT,
    FunctionPackage,
    build_bundle,
    bundle_size_bytes,
    install_command,
    target_interpreter,
)
from cdk.constants import LAMBDA_PYTHON_VERSION

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
ELF_MACHINE_AARCH64 = 183


def test_install_command_takes_only_wheels_for_the_lambda_platform(tmp_path: Path) -> None:
    command = install_command(Path("lambda_chat/requirements.txt"), tmp_path)
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == LAMBDA_PYTHON_VERSION
    assert any("aarch64" in arg for arg in command)
    assert command[command.index("--target") + 1] == str(tmp_path)


@pytest.mark.parametrize("name", ["lambda_chat", "lambda_upload"])
def test_lock_files_are_fully_pinned_and_hash_free(name: str) -> None:
    lines = [
        line.strip()
        for line in FunctionPackage(name).requirements.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    for line in lines:
        assert "==" in line and "--hash" not in line, line


def test_upload_bundle_does_not_carry_the_chat_dependencies() -> None:
    upload = FunctionPackage("lambda_upload").requirements.read_text()
    for heavy in ("langchain-aws", "pypdf", "pillow", "numpy"):
        assert f"{heavy}==" not in upload


def _third_party_imports(*packages: str) -> set[str]:
    names: set[str] = set()
    for package in packages:
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "__future__"}


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    return int.from_bytes(header[18:20], "little")


_NEEDS_UV = pytest.mark.skipif(
    shutil.which("uv", path=str(Path(sys.executable).parent)) is None and os.environ.get("CI") is None,
    reason="needs uv (make install) to build a real bundle",
)


@pytest.fixture(scope="module")
def lambda_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both real bundles, built by the very bundling `cdk synth` runs (cached by content hash)."""
    out = tmp_path_factory.mktemp("bundles")
    return {
        name: build_bundle(FunctionPackage(name), out / name) for name in ("lambda_chat", "lambda_upload")
    }


@_NEEDS_UV
@pytest.mark.parametrize(
    ("name", "other"), [("lambda_chat", "lambda_upload"), ("lambda_upload", "lambda_chat")]
)
def test_real_bundle_is_complete_for_aarch64_and_far_below_the_limit(
    lambda_bundles: dict[str, Path], name: str, other: str
) -> None:
    out = lambda_bundles[name]
    # Then: the Web Adapter's startup script sits at the root, executable
    run_script = out / "run.sh"
    assert run_script.is_file() and os.access(run_script, os.X_OK)
    factory = {"lambda_chat": "serve_app", "lambda_upload": "create_app"}[name]
    assert f"{name}.app:{factory}" in run_script.read_text()
    # the shared package and the function's own package are there, not the other function's
    assert (out / "chatbot_common" / "settings.py").is_file()
    assert (out / name / "__init__.py").is_file()
    assert not (out / other).exists()
    for pruned in FunctionPackage(name).pruned:
        assert not (out / pruned).exists(), pruned
    # every third-party module the code imports resolves inside the bundle (the upload bundle
    # once lacked charset-normalizer, which chatbot_common/uploads.py imports at start-up)
    present = {p.name.removesuffix(".py") for p in out.iterdir()}
    missing = _third_party_imports(name, "chatbot_common") - present - {name, "chatbot_common"}
    assert not missing, missing
    # native code is built for the Lambda's arm64 CPython
    (core,) = (out / "pydantic_core").glob("_pydantic_core.cpython-313-aarch64-linux-gnu.so")
    assert _elf_machine(core) == ELF_MACHINE_AARCH64
    # and the whole is far below Lambda's 250 MB unzipped limit
    assert bundle_size_bytes(out) < 0.8 * LAMBDA_UNZIPPED_LIMIT


PYC_FLAG_HASH_BASED = 0b01
PYC_FLAG_CHECK_SOURCE = 0b10


@_NEEDS_UV
@pytest.mark.skipif(target_interpreter(LAMBDA_PYTHON_VERSION) is None, reason="needs python3.13 to compile")
@pytest.mark.parametrize("name", ["lambda_chat", "lambda_upload"])
def test_bundle_ships_unchecked_hash_bytecode_for_the_runtime_python(
    lambda_bundles: dict[str, Path], name: str
) -> None:
    # Lambda's /var/task is read-only: without shipped bytecode every cold start recompiles.
    out = lambda_bundles[name]
    tag = "cpython-" + LAMBDA_PYTHON_VERSION.replace(".", "")
    sources = [p for p in (out / name).rglob("*.py")] + [p for p in (out / "pydantic").rglob("*.py")]
    assert sources
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        assert pyc.is_file(), source
    sample = out / name / "__pycache__" / f"app.{tag}.pyc"
    header = sample.read_bytes()[:16]
    # PEP 552: flags word after the magic number; hash-based and not checked against the source
    flags = int.from_bytes(header[4:8], "little")
    assert flags & PYC_FLAG_HASH_BASED and not flags & PYC_FLAG_CHECK_SOURCE
    # and the magic number is the runtime interpreter's
    interpreter = target_interpreter(LAMBDA_PYTHON_VERSION)
    assert interpreter is not None
    magic = subprocess.run(
        [interpreter, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert header[:4].hex() == magic


@pytest.mark.parametrize("name", ["lambda_chat", "lambda_upload"])
def test_app_imports_without_the_pruned_packages(name: str) -> None:
    # Given the packages the bundle leaves out, blocked from import
    pruned = [module for module in FunctionPackage(name).pruned if "." not in module]
    script = (
        "import sys\n"
        f"for module in {pruned!r}:\n"
        "    sys.modules[module] = None\n"
        f"import {name}.app\n"
        f"{name}.app.create_app\n"
    )
    # When the service's app module is imported in a fresh interpreter
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHATBOT_TABLE_NAME": "t-table", "CHATBOT_UPLOADS_BUCKET": "t-bucket"},
    )
    # Then it imports: nothing on its import path needs them
    assert result.returncode == 0, result.stderr[-2000:]

"""Packaging: wheels for the Lambda platform only, own deps per function, size far below 250 MB."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cdk.bundling import REPO_ROOT, FunctionPackage, build_bundle, bundle_size_bytes, install_command
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


@pytest.mark.skipif(
    shutil.which("uv", path=str(Path(sys.executable).parent)) is None and os.environ.get("CI") is None,
    reason="needs uv (make install) to build a real bundle",
)
def test_real_chat_bundle_is_complete_for_aarch64_and_far_below_the_limit(tmp_path: Path) -> None:
    # When: the very bundling `cdk synth` runs (cached by content hash under .state/bundles)
    out = build_bundle(FunctionPackage("lambda_chat"), tmp_path / "bundle")

    # Then: the Web Adapter's startup script sits at the root, executable
    run_script = out / "run.sh"
    assert run_script.is_file() and os.access(run_script, os.X_OK)
    assert "lambda_chat.app:create_app" in run_script.read_text()
    # the shared package and the function's own package are there
    assert (out / "chatbot_common" / "settings.py").is_file()
    assert (out / "lambda_chat" / "__init__.py").is_file()
    assert not (out / "lambda_upload").exists()
    for pruned in FunctionPackage("lambda_chat").pruned:
        assert not (out / pruned).exists(), pruned
    # every third-party module the code imports resolves inside the bundle
    present = {p.name.removesuffix(".py") for p in out.iterdir()}
    missing = (
        _third_party_imports("lambda_chat", "chatbot_common") - present - {"lambda_chat", "chatbot_common"}
    )
    assert not missing, missing
    # native code is built for the Lambda's arm64 CPython
    (core,) = (out / "pydantic_core").glob("_pydantic_core.cpython-313-aarch64-linux-gnu.so")
    assert _elf_machine(core) == ELF_MACHINE_AARCH64
    # and the whole is far below Lambda's 250 MB unzipped limit
    assert bundle_size_bytes(out) < 0.8 * LAMBDA_UNZIPPED_LIMIT


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

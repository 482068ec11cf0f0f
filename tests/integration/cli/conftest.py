"""A local stack with the scripted model for the CLI tests (one start for the package)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.runner import LocalStack


@pytest.fixture(scope="package")
def cli_engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture(scope="package")
def cli_stack(tmp_path_factory: pytest.TempPathFactory, cli_engine: ScriptedEngine) -> Iterator[LocalStack]:
    state_dir = tmp_path_factory.mktemp("cli-stack")
    with LocalStack(port=0, state_dir=state_dir, engines=[cli_engine], persist=False) as stack:
        yield stack

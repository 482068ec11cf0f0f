"""A local stack with the scripted model, shared by the stack tests (one start per package)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.runner import LocalStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_dir: Path = tmp_path_factory.mktemp("stack-state")
    with LocalStack(port=0, state_dir=state_dir, engines=[ScriptedEngine()]) as running:
        yield running


@pytest.fixture
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client

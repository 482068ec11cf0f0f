"""One rehearsal per session: synth with host bundles, moto, scripted Bedrock, functions, gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cdk.bundling import target_interpreter
from cdk.constants import LAMBDA_PYTHON_VERSION
from rehearsal.stack import Rehearsal


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    if target_interpreter(LAMBDA_PYTHON_VERSION) is None:
        pytest.skip(f"the rehearsal runs the bundles on python{LAMBDA_PYTHON_VERSION}, absent here")
    with Rehearsal(tmp_path_factory.mktemp("rehearsal")) as running:
        yield running

"""Building the apps neither reads nor changes the process environment: the runner builds
`Settings` itself and hands the apps clients with its endpoints and dummy credentials."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.runner import LocalStack


def test_a_stack_leaves_the_environment_as_it_found_it(tmp_path: Path) -> None:
    # Given the process environment before a stack starts
    before = dict(os.environ)

    # When a stack runs and answers a chat turn through moto and the local runtime
    with LocalStack(port=0, state_dir=tmp_path, engines=[ScriptedEngine()], persist=False) as stack:
        during = dict(os.environ)
        response = httpx.post(stack.url + "/chat", json={"message": "hello"}, timeout=30)
        assert stack.settings is not None and stack.clients is not None
        assert stack.settings.local_mode and stack.settings.table_name == stack.table_name
        assert stack.clients.dynamodb.meta.endpoint_url == stack.moto_url

    # Then the turn worked and the environment never changed
    assert response.status_code == 200, response.text
    assert during == before
    assert dict(os.environ) == before

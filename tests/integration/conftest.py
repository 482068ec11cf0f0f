"""Shared fixtures for integration tests (local stack on 127.0.0.1; never real AWS).

Each section is owned by the engineer of that part; add yours below the existing ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.bedrock_runtime import EmbeddedEngine, RunningRuntime, ScriptedEngine, serve_in_thread

# --- Local Bedrock runtime -------------------------------------------------------------------
# `scripted_runtime`: fast, deterministic echo model `local.scripted` (see ScriptedEngine).
# `embedded_runtime`: the real SmolLM2-135M model `local.smollm2-135m-instruct` (mark tests
# `@pytest.mark.model`). Both are session-scoped and shared: read `rt.requests[-1]` rather than
# counting, and clear any fault you inject (`rt.faults.clear()`).

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def dummy_aws_env() -> Iterator[None]:
    """Dummy credentials and region for the session, so no test can reach a real AWS account."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in DUMMY_AWS_ENV.items():
            mp.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            mp.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def scripted_runtime(dummy_aws_env: None) -> Iterator[RunningRuntime]:
    runtime = serve_in_thread([ScriptedEngine()], host="127.0.0.1", port=0)
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def embedded_runtime(dummy_aws_env: None) -> Iterator[RunningRuntime]:
    runtime = serve_in_thread([EmbeddedEngine(ctx_size=4096, parallel=2)], host="127.0.0.1", port=0)
    if not runtime.wait_ready(timeout=120):
        runtime.stop()
        pytest.fail(f"embedded model did not load: {runtime.engines[0].load_error}")
    yield runtime
    runtime.stop()


@pytest.fixture
def bedrock_endpoint_env(scripted_runtime: RunningRuntime, monkeypatch: pytest.MonkeyPatch) -> RunningRuntime:
    """Point boto3 / langchain-aws at the scripted runtime through the standard endpoint variables."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", scripted_runtime.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", scripted_runtime.endpoint_url)
    return scripted_runtime

"""`chatbot chat` against the default local stack (embedded SmolLM2-135M)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from cli.main import main
from local_stack.bedrock_runtime import DEFAULT_MODEL_ID
from local_stack.runner import LocalStack

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_dir = tmp_path_factory.mktemp("cli-embedded")
    with LocalStack(
        port=0, state_dir=state_dir, persist=False, settings_overrides={"max_output_tokens": 32}
    ) as stack:
        yield stack


def test_cli_chat_prints_the_embedded_models_answer(embedded_stack: LocalStack) -> None:
    out, err = io.StringIO(), io.StringIO()
    # (greedy decoding: a sampled answer could be empty)
    argv = ["--api-url", embedded_stack.url, "chat", "-t", "0", "Say hello."]
    code = main(argv, stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert out.getvalue().strip()
    assert f"· {DEFAULT_MODEL_ID} ·" in err.getvalue()

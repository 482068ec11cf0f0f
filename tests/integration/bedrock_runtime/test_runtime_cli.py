"""`python -m local_stack.bedrock_runtime` starts, listens at once and serves models."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from .conftest import user


@pytest.fixture
def cli_process(tmp_path: os.PathLike[str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    missing_model = os.path.join(os.fspath(tmp_path), "missing.gguf")
    command = [sys.executable, "-m", "local_stack.bedrock_runtime", "--port", "0", "--scripted"]
    command += ["--model-path", missing_model, "--alias", "amazon.nova-lite-v1:0=local.scripted"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert match, "the CLI did not print its URL"
        yield process, match.group(0)
    finally:
        process.terminate()
        process.wait(10)


def test_cli_serves_scripted_model_and_reports_load_failure(
    cli_process: tuple[subprocess.Popen[str], str],
) -> None:
    _, url = cli_process
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    response = client.converse(modelId="us.amazon.nova-lite-v1:0", messages=[user("from the cli")])
    assert response["output"]["message"]["content"][0]["text"] == "echo: from the cli"

    # The missing GGUF file shows up in /health instead of crashing the server.
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(url + "/health", timeout=5) as answer:
            health = json.loads(answer.read())
        if health["status"] != "loading" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert health["status"] == "failed"
    embedded = next(m for m in health["models"] if m["modelId"] == "local.missing")
    assert "Model file not found" in embedded["error"]
    with pytest.raises(client.exceptions.ModelNotReadyException):
        boto3.client(
            "bedrock-runtime",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
            config=Config(retries={"total_max_attempts": 1}),
        ).converse(modelId="local.missing", messages=[user("x")])

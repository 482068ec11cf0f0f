"""Builds the CDK app: one stack per stage, with cdk-nag AwsSolutions as a validation plugin."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cdk.bundling import LAMBDA_TARGET, host_target
from cdk.config import ChatbotConfig
from cdk.constants import CONTEXT_BUNDLE_TARGET, CONTEXT_SKIP_BUNDLING, STACK_ID_PREFIX
from cdk.stack import ChatbotStack


def stack_id(stage: str) -> str:
    return f"{STACK_ID_PREFIX}-{stage}"


CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def default_context() -> dict[str, Any]:
    """cdk.json's context, so `python app.py` and the CDK CLI synthesize the same thing."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def build_app(
    overrides: dict[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[App, ChatbotStack]:
    """The app and its stack: cdk.json context, then `-c` values from the CLI, then ``overrides``."""
    app = App(context=default_context(), post_cli_context=overrides, outdir=outdir)
    config = ChatbotConfig.from_node(app.node)
    skip = app.node.try_get_context(CONTEXT_SKIP_BUNDLING)
    skip_bundling = skip in (True, "true", "1")
    # "host": bundles for this machine (the deploy rehearsal); anything else deploys to Lambda.
    target = app.node.try_get_context(CONTEXT_BUNDLE_TARGET)
    bundle_target = host_target() if target == "host" else LAMBDA_TARGET
    # Environment-agnostic unless the CLI supplies an account/region: synth stays offline.
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    stack = ChatbotStack(
        app,
        stack_id(config.stage),
        config=config,
        skip_bundling=skip_bundling,
        bundle_target=bundle_target,
        env=env,
        description=f"Serverless Amazon Bedrock chatbot ({config.stage})",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack

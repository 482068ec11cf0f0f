"""Synthesize the stack once per session (bundling skipped) and share its template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdk.app_factory import build_app
from cdk.config import ChatbotConfig
from cdk.constants import CONTEXT_SKIP_BUNDLING


@dataclass
class Synthesized:
    template: Template
    resources: dict[str, dict[str, Any]]
    config: ChatbotConfig
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    """Full synth, cdk-nag plugin included: a nag violation raises here."""
    app, stack = build_app({CONTEXT_SKIP_BUNDLING: "true", **context}, outdir=str(outdir))
    assembly = app.synth()
    template_json = assembly.get_stack_artifact(stack.artifact_id).template
    return Synthesized(
        template=Template.from_json(template_json),
        resources=template_json["Resources"],
        config=stack.config,
        outdir=outdir,
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-out"))

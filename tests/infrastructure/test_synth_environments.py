"""Synthesize as `cdk deploy` does (account and region set), and lint every template with cfn-lint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from cdk.constants import WEB_ADAPTER_REGIONS
from cdk.functions import UnsupportedRegionError
from tests.infrastructure.conftest import Synthesized, synthesize

ACCOUNT = "123456789012"
# cfn-lint findings acknowledged, each with its reason (anything else fails the test).
ACKNOWLEDGED_LINT = {
    # CDK adds DependsOn on a function's role next to the GetAtt on it, on purpose: the role's
    # separate policy resource must exist before the function (aws-cdk issue 3045); harmless.
    "W3005": "CDK's explicit DependsOn on roles that a GetAtt already implies",
}


def _synth_in(tmp: Path, region: str, **context: object) -> Synthesized:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDK_DEFAULT_ACCOUNT", ACCOUNT)
        mp.setenv("CDK_DEFAULT_REGION", region)
        return synthesize(tmp, **context)


@pytest.fixture(scope="module", params=["us-east-1", "eu-west-1"])
def synthesized_in_region(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Synthesized]]:
    region: str = request.param
    yield region, _synth_in(tmp_path_factory.mktemp(f"cdk-{region}"), region)


def test_synth_with_account_and_region_passes_cdk_nag(synthesized_in_region: tuple[str, Synthesized]) -> None:
    region, synthesized = synthesized_in_region
    # Given `cdk deploy`'s environment (CDK_DEFAULT_ACCOUNT/REGION set by the CLI), synth ran the
    # AwsSolutions plugin (a violation raises) and made an environment-specific template
    template = json.loads(next(synthesized.outdir.glob("*.template.json")).read_text())
    layers = [
        layer
        for fn in template["Resources"].values()
        if fn["Type"] == "AWS::Lambda::Function" and fn["Properties"].get("Handler") == "run.sh"
        for layer in fn["Properties"].get("Layers", [])
    ]
    assert layers
    # the region is known: no deploy-time region rule is needed, the layer ARN names the region
    assert "WebAdapterLayerRegion" not in template.get("Rules", {})
    assert all("LambdaAdapterLayerArm64" in json.dumps(layer) for layer in layers)
    assert len(layers) == 2
    # and resources that name the region carry it literally
    assert f"-{ACCOUNT}-{region}" in json.dumps(template["Resources"])


def test_a_region_without_the_web_adapter_layer_fails_synth_with_the_reason(tmp_path: Path) -> None:
    assert "me-south-1" not in WEB_ADAPTER_REGIONS
    with pytest.raises(UnsupportedRegionError, match="webAdapterLayerArn"):
        _synth_in(tmp_path, "me-south-1")


def test_an_environment_agnostic_template_refuses_unsupported_regions_at_deploy(
    synthesized: Synthesized,
) -> None:
    template = json.loads(next(synthesized.outdir.glob("*.template.json")).read_text())
    rule = template["Rules"]["WebAdapterLayerRegion"]
    (assertion,) = rule["Assertions"]
    regions, region_ref = assertion["Assert"]["Fn::Contains"]
    assert set(regions) == WEB_ADAPTER_REGIONS and region_ref == {"Ref": "AWS::Region"}
    assert "webAdapterLayerArn" in assertion["AssertDescription"]


def _assert_lint_clean(outdir: Path, regions: list[str]) -> None:
    templates = list(outdir.glob("*.template.json"))
    assert templates
    for template in templates:
        findings = lint_file(template, config=ManualArgs(regions=regions))
        errors = [f"{f.rule.id} {f.path_string}: {f.message}" for f in findings if f.rule.id.startswith("E")]
        assert not errors, errors
        unacknowledged = [
            f"{f.rule.id} {f.path_string}: {f.message}"
            for f in findings
            if f.rule.id not in ACKNOWLEDGED_LINT
        ]
        assert not unacknowledged, unacknowledged


def test_cfn_lint_environment_agnostic_template(synthesized: Synthesized) -> None:
    # Linted for several regions: resource types and properties must exist in each.
    _assert_lint_clean(synthesized.outdir, ["us-east-1", "eu-west-1", "ap-northeast-1"])


def test_cfn_lint_environment_specific_template(synthesized_in_region: tuple[str, Synthesized]) -> None:
    region, synthesized = synthesized_in_region
    _assert_lint_clean(synthesized.outdir, [region])

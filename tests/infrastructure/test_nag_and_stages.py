"""cdk-nag AwsSolutions runs as a validation plugin and passes; stages deploy side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from cdk.app_factory import stack_id
from cdk.config import ChatbotConfig
from chatbot_common.snapstart import BEFORE_CHECKPOINT_PATH
from tests.infrastructure.conftest import Synthesized, synthesize


def test_synth_with_the_nag_plugin_reports_no_violation(synthesized: Synthesized) -> None:
    # Given the session synth (which would have raised on a violation), the report, if written,
    # concludes success for the AwsSolutions plugin.
    report = synthesized.outdir / "validation-report.json"
    if report.exists():
        for plugin in json.loads(report.read_text())["pluginReports"]:
            assert plugin["violations"] == [], plugin["pluginName"]


def test_every_acknowledgement_names_an_aws_solutions_rule_and_a_reason(synthesized: Synthesized) -> None:
    metadata_files = list(synthesized.outdir.glob("*.metadata.json"))
    acknowledged: dict[str, str] = {}
    for path in metadata_files:
        for entries in json.loads(path.read_text()).values():
            for entry in entries:
                if entry.get("type") == "aws:cdk:acknowledged-rules":
                    acknowledged.update(entry["data"])
    assert len(acknowledged) >= 10
    for rule, reason in acknowledged.items():
        assert rule.startswith("AwsSolutions::AwsSolutions-"), rule
        assert len(reason) >= 60, (rule, reason)
    # never a blanket acknowledgement of IAM5 (cdk-nag 3 needs one per finding anyway)
    assert "AwsSolutions::AwsSolutions-IAM5" not in acknowledged


def test_nag_plugin_is_live_a_wildcard_grant_fails_synth(tmp_path: Path) -> None:
    # Given an app with the same plugin and an unacknowledged wildcard grant
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["bedrock:*"], resources=["*"]))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # When / Then
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def test_prod_stage_is_a_separate_stack_that_keeps_its_data(tmp_path: Path) -> None:
    prod = synthesize(tmp_path, stage="prod", snapStart="true")
    (table,) = prod.of_type("AWS::DynamoDB::Table").values()
    assert table["Properties"]["TableName"] == "chatbot-prod"
    assert table["DeletionPolicy"] == "Retain"
    (pool,) = prod.of_type("AWS::Cognito::UserPool").values()
    assert pool["DeletionPolicy"] == "Retain"
    assert not prod.of_type("Custom::S3AutoDeleteObjects")
    assert stack_id("prod") != stack_id("dev")
    # SnapStart, when turned on, snapshots the published versions the API invokes through aliases.
    functions = [
        f for f in prod.of_type("AWS::Lambda::Function").values() if f["Properties"]["Handler"] == "run.sh"
    ]
    assert len(functions) == 2
    for fn in functions:
        assert fn["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert fn["Properties"]["FunctionName"].startswith("chatbot-prod-")
    # and the adapter calls the chat app's warm-up before each snapshot (the upload app has none)
    hooks = {
        fn["Properties"]["FunctionName"]: (
            fn["Properties"]["Environment"]["Variables"].get("AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH"),
            fn["Properties"]["Environment"]["Variables"].get("CHATBOT_SNAPSTART_HOOKS"),
        )
        for fn in functions
    }
    assert hooks == {
        "chatbot-prod-chat": (BEFORE_CHECKPOINT_PATH, "true"),
        "chatbot-prod-upload": (None, None),
    }


def test_dev_stage_cleans_up_after_itself(synthesized: Synthesized) -> None:
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["TableName"] == f"chatbot-{synthesized.config.stage}"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "Prod!"}, "stage"),
        ({"defaultModel": "unknown.model-v1"}, "defaultModel"),
        ({"allowedModels": []}, "allowedModels"),
    ],
)
def test_bad_configuration_fails_at_synth(context: dict, message: str) -> None:
    app = App(context={"stage": "dev", **context})
    with pytest.raises(ValueError, match=message):
        ChatbotConfig.from_node(app.node)

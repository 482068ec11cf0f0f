"""Least privilege: no action wildcards in our grants, Bedrock only the invoke actions on the models."""

from __future__ import annotations

from aws_cdk import App, Stack

from cdk.functions import BEDROCK_INVOKE_ACTIONS, BEDROCK_LIST_ACTIONS, bedrock_model_arns
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.helpers import as_list, flat, policy_statements

# Policies CDK generates for its own deploy-time helpers (acknowledged in cdk/nag.py): they are
# the only place an action wildcard may appear.
CDK_HELPERS = ("CustomCDKBucketDeployment", "CustomS3AutoDeleteObjectsCustomResourceProvider")


def _model_arns(model_ids: tuple[str, ...]) -> list[str]:
    """bedrock_model_arns as the template renders them (pseudo parameters resolved)."""
    scope = Stack(App(), "Resolve")
    return [flat(scope.resolve(arn)) for arn in bedrock_model_arns(model_ids)]


def _is_cdk_helper(holder: str, statement: dict) -> bool:
    principal = flat(statement.get("Principal", ""))
    return holder.startswith(CDK_HELPERS) or any(name in principal for name in CDK_HELPERS)


def test_no_statement_grants_bedrock_star_or_a_bare_star_action(synthesized: Synthesized) -> None:
    for holder, statement in policy_statements(synthesized.resources):
        for action in as_list(statement["Action"]):
            assert action != "*", holder
            assert not action.lower().startswith("bedrock:*"), holder
            if statement["Effect"] == "Allow":
                assert not action.endswith(":*"), (holder, action)


def test_our_grants_name_every_action_exactly(synthesized: Synthesized) -> None:
    wildcard_holders = set()
    for holder, statement in policy_statements(synthesized.resources):
        if statement["Effect"] != "Allow":
            continue
        if any("*" in action for action in as_list(statement["Action"])):
            wildcard_holders.add(holder)
            assert _is_cdk_helper(holder, statement), (holder, statement["Action"])
    # The functions' policies are among those checked and carry no wildcard.
    assert not any("Functions" in holder for holder in wildcard_holders)


def test_bedrock_access_is_the_two_invoke_actions_on_configured_models(synthesized: Synthesized) -> None:
    bedrock_statements = [
        statement
        for _, statement in policy_statements(synthesized.resources)
        if any(action.startswith("bedrock:") for action in as_list(statement["Action"]))
    ]
    invoke = [s for s in bedrock_statements if "bedrock:InvokeModel" in as_list(s["Action"])]
    listing = [s for s in bedrock_statements if "bedrock:ListFoundationModels" in as_list(s["Action"])]
    assert not any("bedrock:InvokeModel" in as_list(s["Action"]) for s in listing)
    assert len(invoke) == 1 and len(listing) == 1 and len(bedrock_statements) == 2

    (statement,) = invoke
    assert sorted(as_list(statement["Action"])) == sorted(BEDROCK_INVOKE_ACTIONS)
    resources = sorted(flat(r) for r in as_list(statement["Resource"]))
    assert "*" not in resources
    expected = sorted(_model_arns(synthesized.config.allowed_models))
    assert resources == expected
    for model_id in synthesized.config.allowed_models:
        assert any(r.endswith(f"inference-profile/{model_id}") for r in resources), model_id
    for resource in resources:
        assert ":foundation-model/" in resource or ":inference-profile/" in resource

    # The list actions alone, on "*" (they accept no narrower resource).
    assert sorted(as_list(listing[0]["Action"])) == sorted(BEDROCK_LIST_ACTIONS)
    assert as_list(listing[0]["Resource"]) == ["*"]


def test_cross_region_profile_grants_the_base_model_in_any_region() -> None:
    arns = _model_arns(("us.amazon.nova-lite-v1:0", "amazon.titan-text-lite-v1"))
    assert "arn:${AWS::Partition}:bedrock:*::foundation-model/amazon.nova-lite-v1:0" in arns
    assert (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/us.amazon.nova-lite-v1:0"
        in arns
    )
    assert "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.titan-text-lite-v1" in arns
    assert not any("*::foundation-model/amazon.titan" in a for a in arns)


def test_upload_function_may_only_put_under_uploads(synthesized: Synthesized) -> None:
    ours = [
        statement
        for holder, statement in policy_statements(synthesized.resources)
        if "s3:PutObject" in as_list(statement["Action"])
        and statement["Effect"] == "Allow"
        and holder.startswith("Functions")
    ]
    assert ours, "the upload function needs s3:PutObject to sign presigned POSTs"
    for statement in ours:
        for resource in as_list(statement["Resource"]):
            # The chat function may write only the extracted-text cache next to each upload.
            assert flat(resource).endswith(("/uploads/*", "/uploads/*/.extracted.json")), resource

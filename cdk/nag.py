"""cdk-nag AwsSolutions acknowledgements, each with the reason it is acceptable here.

cdk-nag 3.x acknowledges findings one by one (``Rule[Finding]``), so wildcard resources are
listed individually: a new wildcard added later fails synth until someone writes its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

from cdk.config import split_model_id

if TYPE_CHECKING:
    from cdk.stack import ChatbotStack

BUCKET_DEPLOYMENT_PREFIX = "Custom::CDKBucketDeployment"


# The plugin-qualified form the validation report asks for ("Acknowledge with 'AwsSolutions::...'").
PLUGIN_PREFIX = "AwsSolutions::"


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PLUGIN_PREFIX}{rule}", reason=reason))


def _ref(stack: Stack, element: IConstruct | None) -> str:
    """cdk-nag's rendering of ``Fn::GetAtt [<logical id>, Arn]`` in a finding id."""
    assert isinstance(element, CfnElement)
    return f"<{stack.resolve(element.logical_id)}.Arn>"


def acknowledge_findings(stack: ChatbotStack) -> None:
    """Every acknowledged AwsSolutions finding in the stack, with its reason."""
    table_arn = _ref(stack, stack.storage.table.node.default_child)
    uploads_arn = _ref(stack, stack.storage.uploads_bucket.node.default_child)
    for fn in (stack.functions.chat, stack.functions.upload):
        _ack(
            fn.role,
            f"AwsSolutions-IAM5[Resource::{table_arn}/index/*]",
            "Queries go through the table's own GSI (gsi1); index/* names only this table's indexes.",
        )
        _ack(
            fn.role,
            f"AwsSolutions-IAM5[Resource::{uploads_arn}/uploads/*]",
            "Object keys are uploads/<user>/<upload id>/<name>, created at run time; the grant is "
            "limited to that prefix of this one bucket.",
        )
        _ack(
            fn.function,
            "AwsSolutions-L1",
            "Pinned to Python 3.13 on purpose: the bundle's wheels are built for exactly this "
            "interpreter, and 3.12/3.13 are the Python runtimes documented for Lambda SnapStart.",
        )

    chat_role = stack.functions.chat.role
    _ack(
        chat_role,
        f"AwsSolutions-IAM5[Resource::{uploads_arn}/uploads/*/.extracted.json]",
        "The chat function caches a document's extracted text next to its upload "
        "(uploads/<user>/<upload id>/.extracted.json); it may write that one name and nothing else.",
    )
    for model_id in stack.config.allowed_models:
        geography, base = split_model_id(model_id)
        if geography is None:
            continue
        _ack(
            chat_role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{base}]",
            f"Cross-region inference profile {model_id} serves requests from the base model in any "
            "region of its geography; IAM must allow that model in each of them. Only this model.",
        )
    _ack(
        chat_role,
        "AwsSolutions-IAM5[Resource::*]",
        "bedrock:ListFoundationModels and ListInferenceProfiles (GET /models) support no "
        "resource-level permissions. The invoke actions are limited to the configured models' "
        "ARNs in a separate statement.",
    )

    api = stack.api.rest_api
    _ack(
        api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level role API Gateway needs to write execution logs; AWS's managed policy is "
        "the documented, log-only policy for it.",
    )
    _ack(
        api,
        "AwsSolutions-APIG3",
        "No WAF: a web ACL bills monthly whether or not anyone chats, against the no-idle-cost goal. "
        "Every route but /health needs a Cognito token and the stage is throttled.",
    )
    health_get = api.root.get_resource("health")
    assert health_get is not None
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        _ack(
            health_get,
            rule,
            'GET /health is public by design (readiness probe, answers {"status": "ok"} and '
            "reads no data); every other method uses the Cognito authorizer (tested).",
        )

    distribution = stack.web.distribution
    assert distribution is not None
    _ack(
        distribution,
        "AwsSolutions-CFR1",
        "A chatbot for a team's own users; who may use it is decided by Cognito, not geography.",
    )
    _ack(
        distribution,
        "AwsSolutions-CFR2",
        "No WAF: a web ACL bills monthly whether or not anyone chats. The only dynamic path (/api) "
        "is authenticated and throttled at API Gateway.",
    )
    _ack(
        distribution,
        "AwsSolutions-CFR3",
        "Standard logging needs an ACL-enabled log bucket. API calls are logged by API Gateway "
        "access logs (JSON); static asset hits carry no user data.",
    )
    _ack(
        distribution,
        "AwsSolutions-CFR4",
        "The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes "
        "the security policy (a minimum TLS version needs a custom domain and ACM certificate). "
        "Browsers negotiate TLS 1.2+ anyway; the API origin leg is TLS 1.2 only.",
    )

    pool = stack.auth.user_pool
    _ack(
        pool,
        "AwsSolutions-COG2",
        f"MFA is '{stack.config.mfa}' (TOTP) and set per deployment in cdk.json (mfa: required "
        "enforces it); sign-up is admin-only unless selfSignUp is turned on.",
    )
    _ack(
        pool,
        "AwsSolutions-COG8",
        "The Plus feature plan bills per monthly active user for threat protection; the Essentials "
        "plan with a strict password policy and admin-created users fits a team chatbot.",
    )

    # The BucketDeployment custom resource (created by CDK at stack level) copies the built web
    # client into the web bucket at deploy time. Its code and policy are CDK's.
    deployment = next(
        (child for child in stack.node.children if child.node.id.startswith(BUCKET_DEPLOYMENT_PREFIX)),
        None,
    )
    if deployment is None:
        return
    web_bucket_arn = _ref(stack, stack.web.bucket.node.default_child)
    reason_copy = (
        "CDK's BucketDeployment handler copies the web client from the CDK assets bucket into the web "
        "bucket and prunes old files; CDK generates this policy, scoped to those two buckets."
    )
    for finding in (
        "AwsSolutions-IAM5[Action::s3:GetBucket*]",
        "AwsSolutions-IAM5[Action::s3:GetObject*]",
        "AwsSolutions-IAM5[Action::s3:List*]",
        "AwsSolutions-IAM5[Action::s3:Abort*]",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
        "<AWS::Region>/*]",
        f"AwsSolutions-IAM5[Resource::{web_bucket_arn}/*]",
    ):
        _ack(deployment, finding, reason_copy)
    _ack(
        deployment,
        "AwsSolutions-IAM5[Resource::*]",
        "cloudfront:CreateInvalidation after the copy; CloudFront invalidation takes no narrower "
        "resource in CDK's generated policy. Runs only during deployments.",
    )
    _ack(
        deployment,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "CDK's BucketDeployment handler role; the managed policy only lets it write its own logs.",
    )
    _ack(
        deployment,
        "AwsSolutions-L1",
        "The BucketDeployment handler's runtime is chosen and tested by the CDK version in use; "
        "upgrading aws-cdk-lib upgrades it.",
    )

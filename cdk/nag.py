"""cdk-nag AwsSolutions acknowledgement helpers; each construct acknowledges its own findings.

cdk-nag 3.x acknowledges findings one by one (``Rule[Finding]``), so wildcard resources are
listed individually: a new wildcard added later fails synth until someone writes its reason.
This module knows nothing of the stack or its constructs (no import cycle): constructs call
``acknowledge`` on themselves or on the children they create.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Token, Validations
from constructs import IConstruct

# The plugin-qualified form the validation report asks for ("Acknowledge with 'AwsSolutions::...'").
PLUGIN_PREFIX = "AwsSolutions::"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (``"AwsSolutions-IAM5[Resource::...]"``) on ``scope``."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PLUGIN_PREFIX}{rule}", reason=reason))


def arn_ref(element: IConstruct | None) -> str:
    """cdk-nag's rendering of ``Fn::GetAtt [<logical id>, Arn]`` in a finding id."""
    assert isinstance(element, CfnElement)
    return f"<{Stack.of(element).resolve(element.logical_id)}.Arn>"


def pseudo(stack: Stack, name: str) -> str:
    """A pseudo parameter as cdk-nag renders it: the literal value in an environment-specific
    stack (``cdk deploy`` sets CDK_DEFAULT_ACCOUNT/REGION), ``<AWS::Name>`` otherwise.

    ``name`` is ``AccountId``, ``Region`` or ``Partition``.
    """
    value = {"AccountId": stack.account, "Region": stack.region, "Partition": stack.partition}[name]
    return f"<AWS::{name}>" if Token.is_unresolved(value) else value

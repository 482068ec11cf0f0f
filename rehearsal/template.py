"""Reading a synthesized CloudFormation template the way CloudFormation would resolve it.

``Resolver`` turns intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Sub without
variables maps) into strings for one pretend account and region; anything it cannot resolve
raises ``Unresolvable`` so a rehearsal never starts with a silently wrong value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REHEARSAL_ACCOUNT = "123456789012"
REHEARSAL_REGION = "us-east-1"


class Unresolvable(ValueError):
    """An intrinsic function or reference the rehearsal cannot turn into a value."""


@dataclass
class Template:
    """One synthesized stack: its resources and where its assets are in the cloud assembly."""

    body: dict[str, Any]
    assembly_dir: Path
    stack_name: str

    @classmethod
    def load(cls, assembly_dir: Path) -> Template:
        """The single stack template in a cloud assembly directory (``cdk.out``)."""
        (path,) = sorted(assembly_dir.glob("*.template.json"))
        return cls(json.loads(path.read_text()), assembly_dir, path.name.removesuffix(".template.json"))

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body["Resources"])

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def asset_dir(self, s3_key: Any) -> Path:
        """The staged asset directory for a function's ``Code.S3Key`` (``<hash>.zip``)."""
        if not isinstance(s3_key, str) or not s3_key.endswith(".zip"):
            raise Unresolvable(f"not a file asset key: {s3_key!r}")
        manifest = json.loads((self.assembly_dir / f"{self.stack_name}.assets.json").read_text())
        entry = manifest["files"][s3_key.removesuffix(".zip")]
        return self.assembly_dir / entry["source"]["path"]


@dataclass
class Resolver:
    """Resolves intrinsics against a template; ``attributes`` supplies Fn::GetAtt values the
    rehearsal provides (e.g. the distribution's domain name is the gateway's host)."""

    template: Template
    account: str = REHEARSAL_ACCOUNT
    region: str = REHEARSAL_REGION
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def pseudo(self, name: str) -> str:
        values = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.template.stack_name,
        }
        if name not in values:
            raise Unresolvable(f"pseudo parameter {name}")
        return values[name]

    def physical_id(self, logical_id: str) -> str:
        """What ``Ref`` gives for a resource: its explicit name where it has one."""
        resources = self.template.resources
        if logical_id not in resources:
            raise Unresolvable(f"Ref to unknown resource {logical_id}")
        resource = resources[logical_id]
        props = resource.get("Properties", {})
        name_property = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Logs::LogGroup": "LogGroupName",
        }.get(resource["Type"])
        if name_property and name_property in props:
            return self.resolve(props[name_property])
        # Generated names: stable and recognisable ("Chatbot-dev-UserPool...").
        if resource["Type"] == "AWS::Cognito::UserPool":
            return f"{self.region}_{logical_id[:9]}"
        return f"{self.template.stack_name}-{logical_id}".lower()[:63]

    def get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        if attribute == "Arn":
            resource_type = self.template.resources[logical_id]["Type"]
            service = resource_type.split("::")[1].lower()
            return f"arn:aws:{service}:{self.region}:{self.account}:{self.physical_id(logical_id)}"
        raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        """Strings, lists and dicts with every intrinsic replaced by its value."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.pseudo(arg) if arg.startswith("AWS::") else self.physical_id(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(self.resolve(item)) for item in items)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise Unresolvable(f"{key} is not supported by the rehearsal")
        return {k: self.resolve(v) for k, v in value.items()}

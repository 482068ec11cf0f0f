"""Small readers over a synthesized CloudFormation template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def api_paths(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Logical id of each AWS::ApiGateway::Resource (and the root marker) to its full path."""
    parts = {
        logical_id: (res["Properties"]["PathPart"], res["Properties"]["ParentId"])
        for logical_id, res in resources.items()
        if res["Type"] == "AWS::ApiGateway::Resource"
    }

    def path_of(logical_id: str) -> str:
        part, parent = parts[logical_id]
        parent_ref = parent.get("Ref") if isinstance(parent, dict) else None
        prefix = path_of(parent_ref) if parent_ref in parts else ""
        return f"{prefix}/{part}"

    return {logical_id: path_of(logical_id) for logical_id in parts}


def methods(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(HTTP method, path, properties) of every AWS::ApiGateway::Method."""
    paths = api_paths(resources)
    for res in resources.values():
        if res["Type"] != "AWS::ApiGateway::Method":
            continue
        props = res["Properties"]
        resource_ref = props["ResourceId"]
        ref = resource_ref.get("Ref") if isinstance(resource_ref, dict) else None
        path = paths.get(ref, "/") if ref else "/"
        yield props["HttpMethod"], path, props


def policy_statements(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id of the holder, statement) for every identity and resource policy statement."""
    for logical_id, res in resources.items():
        props = res.get("Properties", {})
        documents: list[dict[str, Any]] = []
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        elif res["Type"] == "AWS::IAM::Role":
            documents.extend(p["PolicyDocument"] for p in props.get("Policies", []))
        elif res["Type"] in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            documents.append(props["PolicyDocument"])
        elif res["Type"] == "AWS::CloudFormation::CustomResource" or res["Type"].startswith("Custom::"):
            continue
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def flat(value: Any) -> str:
    """A CloudFormation expression as one comparable string (tokens kept as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        return separator.join(flat(item) for item in items)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return json.dumps(value, sort_keys=True)

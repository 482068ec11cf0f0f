from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from lambda_chat.tools.mcp_servers import AuthHeader, AwsSecretSource, namespaced_name, parse_mcp_servers
from lambda_chat.tools.registry import TOOL_NAME


def test_server_entries_parse_from_the_deployers_json() -> None:
    servers = parse_mcp_servers(
        json.dumps(
            [
                {"name": "wiki", "url": "https://mcp.example.com/mcp"},
                {
                    "name": "tickets",
                    "url": "https://tickets.example.com/mcp",
                    "authHeader": {
                        "name": "Authorization",
                        "secretArn": "arn:aws:secretsmanager:eu-west-1:1:secret:t",
                    },
                },
                {"name": "local", "url": "http://127.0.0.1:8123/mcp", "timeoutSeconds": 5},
            ]
        )
    )

    assert [s.name for s in servers] == ["wiki", "tickets", "local"]
    assert servers[1].auth_header is not None and servers[1].auth_header.secret_arn.endswith(":t")
    assert servers[2].timeout_seconds == 5
    assert parse_mcp_servers("") == [] and parse_mcp_servers(None) == []


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"name": "x", "url": "http://mcp.example.com/mcp"}, "https"),
        ({"name": "x", "url": "https://user:pw@mcp.example.com/mcp"}, "credentials"),
        ({"name": "x", "url": "ftp://mcp.example.com"}, "http(s)"),
        ({"name": "has_underscore", "url": "https://a.example"}, "pattern"),
        ({"name": "x", "url": "https://a.example", "authHeader": {"name": "Authorization"}}, "exactly one"),
        (
            {
                "name": "x",
                "url": "https://a.example",
                "authHeader": {"name": "A", "ssmParameter": "p", "secretArn": "s"},
            },
            "exactly one",
        ),
        (
            {
                "name": "x",
                "url": "https://a.example",
                "authHeader": {"name": "Bad Header", "ssmParameter": "p"},
            },
            "header",
        ),
        ({"name": "x", "url": "https://a.example", "surprise": 1}, "Extra inputs"),
    ],
)
def test_bad_entries_are_refused_naming_the_problem(entry: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        parse_mcp_servers([entry])


def test_server_names_are_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        parse_mcp_servers(
            [{"name": "a", "url": "https://a.example"}, {"name": "a", "url": "https://b.example"}]
        )


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ("search", "wiki__search"),
        ("get-page", "wiki__get-page"),
        ("files/read.text", "wiki__files_read_text"),
    ],
)
def test_tool_names_are_namespaced_and_made_valid(tool: str, expected: str) -> None:
    assert namespaced_name("wiki", tool, set()) == expected


def test_long_or_colliding_names_stay_valid_unique_and_stable() -> None:
    server = "a" * 24
    long_one = namespaced_name(server, "x" * 80, set())
    long_two = namespaced_name(server, "x" * 81, set())
    taken = {namespaced_name("wiki", "files/read", set())}
    collided = namespaced_name("wiki", "files.read", taken)

    assert all(TOOL_NAME.match(n) for n in (long_one, long_two, collided))
    assert len(long_one) == 64 and long_one != long_two
    assert long_one == namespaced_name(server, "x" * 80, set())
    assert collided.startswith("wiki__files_read_") and collided not in taken


def test_header_values_come_from_ssm_or_secrets_manager_once() -> None:
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        ssm.put_parameter(Name="/chatbot/mcp/wiki", Value="key-123", Type="SecureString")
        arn = secrets.create_secret(Name="tickets", SecretString="Bearer abc")["ARN"]
        source = AwsSecretSource(ssm, secrets)

        from_ssm = source.header_value(AuthHeader(name="X-Api-Key", ssmParameter="/chatbot/mcp/wiki"))
        from_secret = source.header_value(AuthHeader(name="Authorization", secretArn=arn))
        ssm.put_parameter(Name="/chatbot/mcp/wiki", Value="rotated", Type="SecureString", Overwrite=True)
        cached = source.header_value(AuthHeader(name="X-Api-Key", ssmParameter="/chatbot/mcp/wiki"))

    assert (from_ssm, from_secret, cached) == ("key-123", "Bearer abc", "key-123")

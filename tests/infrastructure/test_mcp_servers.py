"""cdk.json `mcpServers`: the chat Lambda gets the list and may read exactly the named secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdk.config import ChatbotConfig
from tests.infrastructure.conftest import Synthesized, synthesize
from tests.infrastructure.helpers import as_list, flat, policy_statements

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tickets"
SEARCH_KEY = {"name": "X-Api-Key", "ssmParameter": "/chatbot/mcp/search"}
SERVERS = [
    {"name": "wiki", "url": "https://mcp.example.com/mcp"},
    {
        "name": "tickets",
        "url": "https://t.example.com/mcp",
        "authHeader": {"name": "Authorization", "secretArn": SECRET},
    },
    {"name": "search", "url": "https://s.example.com/mcp", "authHeader": SEARCH_KEY},
]


def _env(synthesized: Synthesized, service: str) -> dict[str, str]:
    for fn in synthesized.of_type("AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if env.get("POWERTOOLS_SERVICE_NAME") == service:
            return dict(env)
    raise AssertionError(f"no {service} function")


def test_listed_servers_reach_the_chat_lambda_with_reads_of_exactly_their_secrets(tmp_path: Path) -> None:
    synthesized = synthesize(tmp_path, mcpServers=json.dumps(SERVERS))
    assert json.loads(_env(synthesized, "chat")["CHATBOT_MCP_SERVERS"]) == SERVERS
    assert "CHATBOT_MCP_SERVERS" not in _env(synthesized, "upload")
    statements = [s for _, s in policy_statements(synthesized.resources)]
    reads = {
        action: [flat(r) for r in as_list(s["Resource"])]
        for s in statements
        for action in as_list(s["Action"])
        if action in ("ssm:GetParameter", "secretsmanager:GetSecretValue")
    }
    assert reads["secretsmanager:GetSecretValue"] == [SECRET, f"{SECRET}-??????"]
    [parameter] = reads["ssm:GetParameter"]
    assert parameter.endswith(":parameter/chatbot/mcp/search") and "*" not in parameter


def test_no_servers_no_secret_reads(synthesized: Synthesized) -> None:
    actions = {a for _, s in policy_statements(synthesized.resources) for a in as_list(s["Action"])}
    assert not actions & {"ssm:GetParameter", "secretsmanager:GetSecretValue"}
    assert "CHATBOT_MCP_SERVERS" not in _env(synthesized, "chat")


def test_a_server_the_chat_would_refuse_fails_synth() -> None:
    with pytest.raises(ValueError, match="mcpServers"):
        ChatbotConfig.model_validate({"mcpServers": [{"name": "bad_name", "url": "http://example.com/mcp"}]})

"""MCP servers as tool sources against a real MCP server on 127.0.0.1 (streamable HTTP)."""

from __future__ import annotations

import json
import socket

import pytest

from lambda_chat.domain.ports import ChatMessage, ModelRequest
from lambda_chat.tools.agent_loop import AgentRun, LoopDone, ToolResultEvent, run_to_completion
from lambda_chat.tools.mcp_servers import AuthHeader, McpServerConfig, McpToolSource
from lambda_chat.tools.registry import ToolCall, ToolContext, ToolRegistry
from local_stack.moto_service import free_port
from tests.async_support import run_coroutine
from tests.integration.tools.conftest import API_KEY, RunningMcp, start_mcp
from tests.unit.tools.fakes import ScriptedToolModel, end, text, tool_use

CONTEXT = ToolContext(user_id="alice")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class StaticSecrets:
    def __init__(self, value: str) -> None:
        self.value = value
        self.asked: list[AuthHeader] = []

    def header_value(self, header: AuthHeader) -> str:
        self.asked.append(header)
        return self.value


def config(name: str, url: str, **extra: object) -> McpServerConfig:
    return McpServerConfig.model_validate({"name": name, "url": url, "timeoutSeconds": 5, **extra})


def call(registry: ToolRegistry, name: str, value: dict[str, object]):
    return run_coroutine(registry.run(ToolCall("c", name, value), CONTEXT))


def test_discovered_tools_are_namespaced_described_and_callable(mcp_server: RunningMcp) -> None:
    source = McpToolSource([config("demo", mcp_server.url)])
    source.discover()

    tools, notices = source.current()

    assert notices == []
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"demo__add", "demo__lookup_city-population"}
    assert by_name["demo__add"].description == "Add two integers."
    assert by_name["demo__add"].input_schema["required"] == ["a", "b"]
    assert by_name["demo__add"].source == "demo"
    registry = ToolRegistry(tools)
    assert call(registry, "demo__add", {"a": 2, "b": 40}).text == "42"
    assert call(registry, "demo__lookup_city-population", {"city": "Oslo"}).text == "Oslo: 709,037"


def test_a_server_side_tool_error_and_schema_checks_are_results(mcp_server: RunningMcp) -> None:
    source = McpToolSource([config("demo", mcp_server.url)])
    source.discover()
    registry = ToolRegistry(source.current()[0])

    failed = call(registry, "demo__lookup_city-population", {"city": "Atlantis"})
    invalid = call(registry, "demo__add", {"a": "two"})

    assert failed.status == "error" and "lookup.city-population" in failed.text
    assert invalid.status == "error" and "Invalid input for demo__add" in invalid.text


def test_the_agent_loop_calls_an_mcp_tool(mcp_server: RunningMcp) -> None:
    source = McpToolSource([config("demo", mcp_server.url)])
    source.discover()
    registry = ToolRegistry(source.current()[0])
    model = ScriptedToolModel(
        [
            [*tool_use(0, "m1", "demo__add", {"a": 20, "b": 22}), *end("tool_use")],
            lambda request: [text("The sum is 42."), *end("end_turn")],
        ]
    )
    request = ModelRequest(model_id="m", messages=[ChatMessage.text("user", "20+22 via the server?")])

    events = run_to_completion(AgentRun(model, registry, request, CONTEXT, enabled=registry.names()))

    result = next(e for e in events if isinstance(e, ToolResultEvent)).outcome
    assert (result.name, result.status, result.text) == ("demo__add", "success", "42")
    assert next(e for e in events if isinstance(e, LoopDone)).text == "The sum is 42."
    assert model.requests[1].messages[2].content[0]["toolResult"]["content"] == [{"text": "42"}]


def test_the_auth_header_is_read_from_the_secret_source(keyed_mcp_server: RunningMcp) -> None:
    header = {"authHeader": {"name": "X-Api-Key", "ssmParameter": "/chatbot/mcp/demo"}}
    secrets = StaticSecrets(API_KEY)
    with_key = McpToolSource([config("keyed", keyed_mcp_server.url, **header)], secrets)
    wrong_key = McpToolSource([config("keyed", keyed_mcp_server.url, **header)], StaticSecrets("nope"))
    no_source = McpToolSource([config("keyed", keyed_mcp_server.url, **header)])
    for source in (with_key, wrong_key, no_source):
        source.discover()

    tools, notices = with_key.current()
    assert {t.name for t in tools} == {"keyed__add", "keyed__lookup_city-population"} and notices == []
    assert call(ToolRegistry(tools), "keyed__add", {"a": 1, "b": 1}).text == "2"
    assert secrets.asked[0].ssm_parameter == "/chatbot/mcp/demo"
    assert wrong_key.current()[0] == [] and "could not be reached" in wrong_key.current()[1][0]
    assert no_source.current()[0] == [] and "credentials could not be read" in no_source.current()[1][0]


def test_a_server_down_is_left_out_with_a_notice_and_discovered_again_later(mcp_server: RunningMcp) -> None:
    clock = Clock()
    late_port = free_port()
    source = McpToolSource(
        [config("demo", mcp_server.url), config("late", f"http://127.0.0.1:{late_port}/mcp")],
        retry_after_seconds=30,
        clock=clock,
    )
    source.discover()

    tools, notices = source.current()
    assert {t.source for t in tools} == {"demo"}
    assert notices == ["The tools of late are unavailable: the server could not be reached."]

    late = start_mcp(late_port)
    try:
        clock.now += 10  # not due yet: the cached answer stands
        assert {t.source for t in source.current()[0]} == {"demo"}
        clock.now += 30
        tools, notices = source.current()
        assert {t.source for t in tools} == {"demo", "late"} and notices == []
    finally:
        late.stop()


def test_a_call_that_cannot_reach_its_server_refreshes_discovery() -> None:
    clock = Clock()
    running = start_mcp()
    source = McpToolSource([config("flaky", running.url)], retry_after_seconds=30, clock=clock)
    source.discover()
    registry = ToolRegistry(source.current()[0])
    running.stop()

    outcome = call(registry, "flaky__add", {"a": 1, "b": 2})

    assert outcome.status == "error" and "could not be reached" in outcome.text
    tools, notices = source.current()  # rediscovered at once: the server is gone, so it is left out
    assert tools == [] and notices == ["The tools of flaky are unavailable: the server could not be reached."]
    restarted = start_mcp(running.port)
    try:
        clock.now += 31
        assert [t.name for t in source.current()[0]] == ["flaky__add", "flaky__lookup_city-population"]
    finally:
        restarted.stop()


def test_tool_results_are_text_the_model_reads(mcp_server: RunningMcp) -> None:
    source = McpToolSource([config("demo", mcp_server.url)])
    source.discover()
    registry = ToolRegistry(source.current()[0])

    block = call(registry, "demo__add", {"a": 3, "b": 4}).result_block()

    assert json.dumps(block) == json.dumps(
        {"toolResult": {"toolUseId": "c", "content": [{"text": "7"}], "status": "success"}}
    )


@pytest.mark.timeout(30)
def test_a_server_that_never_answers_is_left_out_within_the_start_up_budget(mcp_server: RunningMcp) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        source = McpToolSource([config("demo", mcp_server.url), config("silent", url, timeoutSeconds=120)])

        source.discover(budget_seconds=0.5)

        tools, notices = source.current()
        assert {t.source for t in tools} == {"demo"}
        assert notices == ["The tools of silent are unavailable: the server could not be reached."]
    finally:
        silent.close()

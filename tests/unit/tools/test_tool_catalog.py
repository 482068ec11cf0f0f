from __future__ import annotations

from lambda_chat.domain.ports import ChatMessage, ModelRequest
from lambda_chat.tools.agent_loop import AgentRun, run_to_completion, tool_calls_summary
from lambda_chat.tools.mcp_servers import McpServerConfig, McpToolSource
from lambda_chat.tools.registry import ToolContext
from lambda_chat.tools.tool_catalog import ToolCatalog, builtin_tools
from tests.unit.tools.fakes import ScriptedToolModel, end, text, tool_use


def test_builtins_are_listed_and_on_by_default() -> None:
    snapshot = ToolCatalog(builtin_tools(None)).snapshot()

    assert snapshot.registry.names() == ["current_time", "calculator"]
    assert snapshot.default_enabled() == ["current_time", "calculator"] and snapshot.notices == ()


def test_an_unreachable_mcp_server_adds_a_notice_not_tools(monkeypatch) -> None:
    source = McpToolSource([McpServerConfig(name="wiki", url="http://127.0.0.1:9/mcp")])

    async def refuse(*args: object) -> list[object]:
        raise ConnectionError("refused")

    monkeypatch.setattr(source, "_list_tools", refuse)

    snapshot = ToolCatalog(builtin_tools(None), source).snapshot()

    assert snapshot.registry.names() == ["current_time", "calculator"]
    assert snapshot.notices == ("The tools of wiki are unavailable: the server could not be reached.",)


def test_tool_calls_summary_is_the_json_forms_tool_calls() -> None:
    registry = ToolCatalog(builtin_tools(None)).snapshot().registry
    model = ScriptedToolModel(
        [
            [*tool_use(0, "t1", "calculator", {"expression": "2**10 + 1"}), *end("tool_use")],
            [text("1025"), *end("end_turn")],
        ]
    )
    request = ModelRequest(model_id="m", messages=[ChatMessage.text("user", "compute")])

    events = run_to_completion(
        AgentRun(model, registry, request, ToolContext(user_id="u"), enabled=registry.names())
    )

    assert tool_calls_summary(events) == [
        {
            "id": "t1",
            "name": "calculator",
            "input": {"expression": "2**10 + 1"},
            "status": "success",
            "output": '{"expression":"2**10 + 1","result":"1025"}',
            "step": 1,
        }
    ]

"""Tool use through POST /chat on the local stack: the scripted model's `#call NAME {json}` cues
drive the real agent loop over langchain-aws and the ConverseStream wire; an MCP tool comes from
a real MCP server (the SDK's MCPServer) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lambda_chat.app import create_app
from tests.integration.chat.conftest import ChatStack, chat_settings, identity_headers, serve, sse_events
from tests.integration.tools.conftest import RunningMcp, start_mcp

TOKYO = 'What time is it in Tokyo?\n#call current_time {"timezone": "Asia/Tokyo"}'


def _sse(api: httpx.Client, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with api.stream("POST", "/chat", json=body, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        return list(sse_events(response))


def _requests_mentioning(stack: ChatStack, text: str) -> list[dict[str, Any]]:
    """Model requests holding `text` in any message (tool steps end with a toolResult message)."""
    return [r for r in stack.runtime.requests if text in json.dumps(r["messages"])]


def test_a_time_question_through_current_time_over_sse_is_stored_and_replayed(
    chat_stack: ChatStack, api: httpx.Client
) -> None:
    # When the model calls current_time (SSE)
    events = _sse(api, {"message": TOKYO})
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done"
    assert kinds.index("tool_use") < kinds.index("tool_result") < kinds.index("delta")
    use = next(d for k, d in events if k == "tool_use")
    assert (use["name"], use["input"]) == ("current_time", {"timezone": "Asia/Tokyo"})
    result = next(d for k, d in events if k == "tool_result")
    assert result["status"] == "success" and "Asia/Tokyo" in result["output"]
    answer = "".join(d["text"] for k, d in events if k == "delta")
    assert "Asia/Tokyo" in answer  # the scripted model answers `result: <the tool's output>`
    # Then the second model call carried the toolUse and its toolResult, with toolConfig
    [first, second] = _requests_mentioning(chat_stack, "What time is it in Tokyo?")[-2:]
    assert "toolConfig" in first and "toolConfig" in second
    assert [list(b) for b in second["messages"][-1]["content"]] == [["toolResult"]]
    # And GET /conversations/{id} shows the tool steps between question and answer
    conversation_id = events[0][1]["conversationId"]
    stored = api.get(f"/conversations/{conversation_id}").json()["messages"]
    assert [(m["role"], m["toolStep"]) for m in stored] == [
        ("user", False), ("assistant", True), ("user", True), ("assistant", False)
    ]  # fmt: skip
    assert stored[1]["blocks"][-1]["toolUse"]["name"] == "current_time"
    # And the next turn (JSON) replays them as valid Converse
    follow = api.post("/chat", json={"conversationId": conversation_id, "message": "And the weekday?"})
    assert follow.status_code == 200, follow.text
    [replayed] = chat_stack.requests_for("And the weekday?")
    blocks = [next(iter(b)) for m in replayed["messages"] for b in m["content"]]
    assert blocks.count("toolUse") == 1 and blocks.count("toolResult") == 1
    assert "toolConfig" in replayed


def test_two_tools_in_one_step_and_a_tool_error_in_the_json_form(api: httpx.Client) -> None:
    message = (
        'Two things.\n#call calculator {"expression": "2**10 + 1"}\n'
        '#call current_time {"timezone": "Mars/Olympus_Mons"}'
    )
    response = api.post("/chat", json={"message": message})
    assert response.status_code == 200, response.text
    calls = response.json()["toolCalls"]
    assert [(c["name"], c["status"], c["step"]) for c in calls] == [
        ("calculator", "success", 1), ("current_time", "error", 1)
    ]  # fmt: skip
    assert "1025" in calls[0]["output"] and "Mars/Olympus_Mons" in calls[1]["output"]


def test_tools_are_refused_by_name_and_can_be_switched_off_per_conversation(
    chat_stack: ChatStack, api: httpx.Client
) -> None:
    refused = api.post("/chat", json={"message": "hi", "tools": ["no_such_tool", "calculator"]})
    assert refused.status_code == 400 and "no_such_tool" in refused.json()["error"]["message"]
    created = api.post("/chat", json={"message": "plain question one"}).json()
    patched = api.patch(f"/conversations/{created['conversationId']}", json={"tools": []})
    assert patched.status_code == 200 and patched.json()["tools"] == []
    api.post("/chat", json={"conversationId": created["conversationId"], "message": "plain question two"})
    [request] = chat_stack.requests_for("plain question two")
    assert "toolConfig" not in request
    bad = api.patch(f"/conversations/{created['conversationId']}", json={"tools": ["nope"]})
    assert bad.status_code == 400


@pytest.fixture(scope="module")
def mcp_app(chat_stack: ChatStack) -> Iterator[str]:
    running: RunningMcp = start_mcp()
    servers = json.dumps([{"name": "demo", "url": running.url}])
    base_url, server, thread = serve(create_app(chat_settings(mcp_servers=servers)))
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)
    running.stop()


def test_an_mcp_tool_is_listed_enabled_and_called(mcp_app: str, user: str) -> None:
    with httpx.Client(base_url=mcp_app, headers=identity_headers(user), timeout=30) as api:
        listed = api.get("/tools").json()
        names = [t["name"] for t in listed["tools"]]
        assert {"current_time", "calculator", "demo__add"} <= set(names)
        assert "demo__add" not in listed["defaultEnabled"]  # the built-ins are on by default
        response = api.post(
            "/chat",
            json={"message": 'Add them.\n#call demo__add {"a": 2, "b": 40}', "tools": ["demo__add"]},
        )
        assert response.status_code == 200, response.text
        [call] = response.json()["toolCalls"]
        assert (call["name"], call["status"], call["output"]) == ("demo__add", "success", "42")
        assert "42" in response.json()["answer"]

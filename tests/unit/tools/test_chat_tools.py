"""Chat turns with tool use, end to end over the domain with fakes: the agent loop wired into
ChatService and its TurnRecorder (what is streamed, stored, replayed and recorded)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from chatbot_common.errors import InvalidInput
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatConfig, ChatService, TurnInput, aggregate_turn
from lambda_chat.domain.events import set_stop_signal
from lambda_chat.domain.ports import ModelRequest
from lambda_chat.tools.model_stream import ToolModelRequest
from lambda_chat.tools.registry import Tool, ToolContext
from lambda_chat.tools.tool_catalog import ToolCatalog, builtin_tools
from lambda_chat.tools.tool_history import pairing_problems
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeStore
from tests.unit.tools.fakes import ScriptedToolModel, end, text, tool_use

ALICE = "alice"
NOON_UTC = 1_764_504_000.0  # 2025-11-30T12:00:00Z


def _service(model: ScriptedToolModel, *extra: Tool) -> tuple[ChatService, FakeStore]:
    store = FakeStore()
    catalog = ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID)
    tools = ToolCatalog([*builtin_tools(None, clock=lambda: NOON_UTC), *extra])
    return ChatService(store, model, catalog, ChatConfig(), tools=tools), store


def _answer(request: ModelRequest) -> list[Any]:
    last = request.messages[-1].content
    results = [b["toolResult"]["content"][0]["text"] for b in last if "toolResult" in b]
    return [text("result: " + " | ".join(results)), *end("end_turn", 30, 6)]


def test_a_time_question_is_answered_through_current_time_and_stored_as_tool_steps() -> None:
    # Given a model that calls current_time for Tokyo, then answers from the result
    model = ScriptedToolModel(
        [
            [text("Let me check. "), *tool_use(1, "t1", "current_time", {"timezone": "Asia/Tokyo"}),
             *end("tool_use", 20, 9)],
            _answer,
        ]
    )  # fmt: skip
    chat, store = _service(model)
    # When the turn runs
    events = list(chat.start_turn(ALICE, TurnInput(message="What time is it in Tokyo?")))
    # Then the events show the call, its result, then the answer
    names = [e.name for e in events]
    assert names[:2] == ["meta", "delta"]
    assert names.index("tool_use") < names.index("tool_result") < len(names) - 3
    assert names[-2:] == ["usage", "done"]
    use = next(e.data for e in events if e.name == "tool_use")
    assert (use["name"], use["input"]) == ("current_time", {"timezone": "Asia/Tokyo"})
    result = next(e.data for e in events if e.name == "tool_result")
    assert result["status"] == "success" and "21:00" in result["output"]
    usage = next(e.data for e in events if e.name == "usage")
    assert (usage["inputTokens"], usage["outputTokens"]) == (50, 15)  # both steps' tokens
    # And the second model call carried the toolUse and its toolResult, with toolConfig
    second = model.requests[1]
    assert isinstance(second, ToolModelRequest) and second.tool_config is not None
    assert pairing_problems(second.messages) == []
    # And the conversation holds question, toolUse step, toolResult step, answer
    [(_, conversation_id)] = store.conversations
    stored = store.all_messages(ALICE, conversation_id)
    assert [(m.role, m.tool_step) for m in stored] == [
        ("user", False), ("assistant", True), ("user", True), ("assistant", False)
    ]  # fmt: skip
    assert stored[1].content == "Let me check. "
    assert stored[1].blocks[1]["toolUse"]["input"] == {"timezone": "Asia/Tokyo"}
    assert stored[2].blocks[0]["toolResult"]["toolUseId"] == "t1"
    assert stored[3].content.startswith("result: ") and stored[3].usage is not None
    assert stored[3].usage.input_tokens == 50
    # And each model call has its call record, with its step number and own tokens
    assert [(c.step, c.input_tokens, c.stop_reason) for c in store.calls] == [
        (1, 20, "tool_use"), (2, 30, "end_turn")
    ]  # fmt: skip


def test_the_json_form_lists_tool_calls_with_their_output() -> None:
    model = ScriptedToolModel(
        [
            [*tool_use(0, "a", "calculator", {"expression": "2**10 + 1"}),
             *tool_use(1, "b", "current_time", {"timezone": "Mars/Olympus_Mons"}), *end("tool_use")],
            _answer,
        ]
    )  # fmt: skip
    chat, _ = _service(model)
    result = aggregate_turn(chat.start_turn(ALICE, TurnInput(message="Two things at once")))
    # Two tools in one step, in call order; the unknown zone is an error result, not a failure
    assert [(c["id"], c["name"], c["status"], c["step"]) for c in result.tool_calls] == [
        ("a", "calculator", "success", 1), ("b", "current_time", "error", 1)
    ]  # fmt: skip
    assert "1025" in result.tool_calls[0]["output"]
    assert "1025" in result.answer and result.stop_reason == "end_turn"


def test_the_next_turn_replays_the_tool_steps_as_valid_converse() -> None:
    model = ScriptedToolModel(
        [[*tool_use(0, "t1", "calculator", {"expression": "6*7"}), *end("tool_use")], _answer]
    )
    chat, _ = _service(model)
    first = aggregate_turn(chat.start_turn(ALICE, TurnInput(message="six times seven?")))
    model.steps = [[text("You are welcome."), *end("end_turn")]]
    model.requests.clear()
    chat.run_turn(ALICE, TurnInput(message="thanks", conversation_id=first.conversation_id))
    [request] = model.requests
    assert pairing_problems(request.messages) == []
    assert [m.role for m in request.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert request.messages[1].content[0]["toolUse"]["name"] == "calculator"
    assert isinstance(request, ToolModelRequest) and request.tool_config is not None


def test_tools_switched_off_for_a_turn_send_earlier_tool_steps_as_text() -> None:
    model = ScriptedToolModel(
        [[*tool_use(0, "t1", "calculator", {"expression": "6*7"}), *end("tool_use")], _answer]
    )
    chat, _ = _service(model)
    first = aggregate_turn(chat.start_turn(ALICE, TurnInput(message="six times seven?")))
    model.steps = [[text("ok"), *end("end_turn")]]
    model.requests.clear()
    chat.run_turn(ALICE, TurnInput(message="again", conversation_id=first.conversation_id, tools=()))
    [request] = model.requests
    assert isinstance(request, ToolModelRequest) and request.tool_config is None
    blocks = [b for m in request.messages for b in m.content]
    assert all("toolUse" not in b and "toolResult" not in b for b in blocks)
    assert any("[Called tool calculator" in str(b.get("text")) for b in blocks)


def test_unknown_tool_names_and_a_bad_tool_choice_are_refused_before_anything_is_stored() -> None:
    chat, store = _service(ScriptedToolModel([[text("hi"), *end("end_turn")]]))
    with pytest.raises(InvalidInput, match="no_such_tool"):
        chat.start_turn(ALICE, TurnInput(message="hi", tools=("calculator", "no_such_tool")))
    with pytest.raises(InvalidInput, match="toolChoice"):
        chat.start_turn(ALICE, TurnInput(message="hi", tools=("calculator",), tool_choice="current_time"))
    assert store.conversations == {} and store.calls == []


def test_the_step_limit_ends_with_an_answer_without_tools() -> None:
    calls = [[*tool_use(0, f"t{i}", "calculator", {"expression": "1+1"}), *end("tool_use")] for i in range(6)]
    model = ScriptedToolModel([*calls, [text("Enough."), *end("end_turn")]])
    chat, store = _service(model)
    events = list(chat.start_turn(ALICE, TurnInput(message="loop forever")))
    notices = [e.data["code"] for e in events if e.name == "notice"]
    assert notices == ["step_limit"]
    done = events[-1]
    assert done.name == "done" and done.data["stepLimitReached"] is True
    last = model.requests[-1]
    assert isinstance(last, ToolModelRequest) and last.tool_config is None
    assert len(store.calls) == 7 and [c.step for c in store.calls] == list(range(1, 8))


def test_stop_during_a_tool_step_cancels_the_tool_and_keeps_whole_steps() -> None:
    started = threading.Event()

    async def hang(arguments: dict[str, Any], context: ToolContext) -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    slow = Tool("slow_lookup", "Looks something up slowly", {"type": "object"}, hang)
    model = ScriptedToolModel([[*tool_use(0, "t1", "slow_lookup", {}), *end("tool_use")], _answer])
    chat, store = _service(model, slow)
    stop = threading.Event()
    set_stop_signal(stop)  # what the HTTP layer does in its worker thread
    try:
        events = chat.start_turn(ALICE, TurnInput(message="look it up", tools=("slow_lookup",)))
    finally:
        set_stop_signal(None)
    threading.Thread(target=lambda: (started.wait(5), stop.set()), daemon=True).start()
    names = [e.name for e in events]
    # Then the tool was cancelled at once, the model not called again, and the turn is stopped
    assert names[-1] == "done" and len(model.requests) == 1
    [(_, conversation_id)] = store.conversations
    stored = store.all_messages(ALICE, conversation_id)
    assert [(m.role, m.tool_step, m.status) for m in stored] == [
        ("user", False, "complete"), ("assistant", True, "complete"), ("user", True, "complete"),
        ("assistant", False, "stopped"),
    ]  # fmt: skip
    assert stored[2].blocks[0]["toolResult"]["status"] == "error"


def test_a_model_too_small_for_tools_is_offered_none_unless_they_are_named() -> None:
    # Given the embedded SmolLM2-135M, whose profile offers it no tools by default
    smollm2 = "local.smollm2-135m-instruct"
    model = ScriptedToolModel([[text("Hello!"), *end("end_turn")]])
    store = FakeStore()
    catalog = ModelCatalog(FakeDirectory((MODEL_ID, smollm2)), default_model_id=MODEL_ID)
    tools = ToolCatalog(builtin_tools(None, clock=lambda: NOON_UTC))
    chat = ChatService(store, model, catalog, ChatConfig(), tools=tools)
    # When a conversation that chose no tools is answered by it, then a turn names one
    aggregate_turn(chat.start_turn(ALICE, TurnInput(message="hello", model=smollm2)))
    aggregate_turn(chat.start_turn(ALICE, TurnInput(message="2+2?", model=smollm2, tools=["calculator"])))
    # And another model gets the built-ins as before
    aggregate_turn(chat.start_turn(ALICE, TurnInput(message="hello")))
    # Then the first request carried no toolConfig, the named tool was offered, the default kept
    configs = [r.tool_config for r in model.requests]  # type: ignore[attr-defined]
    assert configs[0] is None
    assert [t["toolSpec"]["name"] for t in configs[1]["tools"]] == ["calculator"]
    assert {t["toolSpec"]["name"] for t in configs[2]["tools"]} == {"current_time", "calculator"}

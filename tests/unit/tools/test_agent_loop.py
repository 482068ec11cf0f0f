from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from chatbot_common.errors import Throttled, UpstreamError
from lambda_chat.domain.ports import ChatMessage, ModelRequest
from lambda_chat.domain.retry import RetryPolicy
from lambda_chat.tools.agent_loop import (
    AgentConfig,
    AgentRun,
    LoopDone,
    Notice,
    StepDone,
    TextDelta,
    ToolResultEvent,
    ToolUseEvent,
    run_to_completion,
)
from lambda_chat.tools.builtins import calculator_tool, current_time_tool
from lambda_chat.tools.model_stream import (
    InputTooLong,
    ToolModelChunk,
    ToolModelRequest,
    ToolsUnsupported,
    ToolUseStart,
)
from lambda_chat.tools.registry import Tool, ToolContext, ToolError, ToolLimits, ToolRegistry
from lambda_chat.tools.tool_history import has_tool_blocks, pairing_problems
from tests.unit.tools.fakes import ScriptedToolModel, end, text, tool_use

CONTEXT = ToolContext(user_id="alice", conversation_id="c1")
EMPTY_OBJECT = {"type": "object", "properties": {}}


def builtins() -> ToolRegistry:
    return ToolRegistry([current_time_tool(clock=lambda: 0.0), calculator_tool()])


def start(model: ScriptedToolModel, registry: ToolRegistry | None = None, **kwargs: Any) -> AgentRun:
    registry = registry or builtins()
    request = ModelRequest(
        model_id="m", messages=[ChatMessage.text("user", "What time is it in Tokyo?")], system="be brief"
    )
    kwargs.setdefault("enabled", registry.names())
    return AgentRun(model, registry, request, CONTEXT, **kwargs)


def of(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_a_time_question_is_answered_through_current_time() -> None:
    model = ScriptedToolModel(
        [
            [
                text("Let me check. "),
                *tool_use(1, "tu-1", "current_time", {"timezone": "Asia/Tokyo"}),
                *end("tool_use"),
            ],
            lambda request: [text("It is 09:00 in Tokyo."), *end("end_turn", 30, 7)],
        ]
    )

    events = run_to_completion(start(model))

    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "TextDelta", "ToolUseEvent", "ToolResultEvent", "StepDone", "TextDelta", "StepDone", "LoopDone",
    ]  # fmt: skip
    use = of(events, ToolUseEvent)[0]
    assert (use.tool_use_id, use.name, use.input, use.step) == (
        "tu-1",
        "current_time",
        {"timezone": "Asia/Tokyo"},
        1,
    )
    result = of(events, ToolResultEvent)[0]
    assert result.outcome.status == "success" and '"utcOffset":"+09:00"' in result.outcome.text
    assert result.stream_event().data["preview"].startswith('{"timezone":"Asia/Tokyo"')
    done = of(events, LoopDone)[0]
    assert (done.steps, done.stop_reason, done.step_limit_reached) == (2, "end_turn", False)
    assert (done.input_tokens, done.output_tokens, done.text) == (40, 12, "It is 09:00 in Tokyo.")
    # The second call replays the tool step as valid Converse, with toolConfig.
    second = model.requests[1]
    assert isinstance(second, ToolModelRequest) and second.tool_config is not None
    assert [m.role for m in second.messages] == ["user", "assistant", "user"]
    assert second.messages[1].content == [
        {"text": "Let me check. "},
        {"toolUse": {"toolUseId": "tu-1", "name": "current_time", "input": {"timezone": "Asia/Tokyo"}}},
    ]
    assert second.messages[2].content[0]["toolResult"]["toolUseId"] == "tu-1"
    assert pairing_problems(second.messages) == []
    assert second.system == "be brief"


def test_step_events_carry_the_messages_to_store() -> None:
    model = ScriptedToolModel(
        [
            [*tool_use(0, "a", "calculator", {"expression": "6*7"}), *end("tool_use", 11, 3)],
            [text("42"), *end("end_turn")],
        ]
    )

    steps = of(run_to_completion(start(model)), StepDone)

    assert [(s.step, s.input_tokens, s.output_tokens, s.stop_reason) for s in steps] == [
        (1, 11, 3, "tool_use"),
        (2, 10, 5, "end_turn"),
    ]
    assert steps[0].tool_results is not None and steps[1].tool_results is None
    assert steps[0].outcomes[0].text == '{"expression":"6*7","result":"42"}'
    assert steps[1].assistant.content == [{"text": "42"}]
    assert steps[0].stream_event().name == "step"


def test_two_tools_in_one_step_run_concurrently_and_answer_in_call_order() -> None:
    # Each tool waits until the other has started: only a concurrent run finishes (else timeout).
    started = {"first": asyncio.Event(), "second": asyncio.Event()}
    loops: list[asyncio.AbstractEventLoop] = []

    def waiting(name: str, other: str) -> Tool:
        async def run(arguments: dict[str, Any], context: ToolContext) -> str:
            loops.append(asyncio.get_running_loop())
            started[name].set()
            await started[other].wait()
            return f"{name} done"

        return Tool(name=name, description=name, input_schema=EMPTY_OBJECT, run=run)

    registry = ToolRegistry(
        [waiting("first", "second"), waiting("second", "first")], limits=ToolLimits(timeout_seconds=2)
    )
    model = ScriptedToolModel(
        [
            [*tool_use(0, "u1", "first", {}), *tool_use(1, "u2", "second", {}), *end("tool_use")],
            [text("ok"), *end("end_turn")],
        ]
    )

    events = run_to_completion(start(model, registry))

    assert [e.outcome.status for e in of(events, ToolResultEvent)] == ["success", "success"]
    results = model.requests[1].messages[2].content
    assert [b["toolResult"]["toolUseId"] for b in results] == ["u1", "u2"]
    assert [b["toolResult"]["content"][0]["text"] for b in results] == ["first done", "second done"]
    assert loops[0] is loops[1]


def test_tool_errors_unknown_tools_and_bad_input_are_results_the_model_reads() -> None:
    async def failing(arguments: dict[str, Any], context: ToolContext) -> str:
        raise ToolError("The service is down")

    registry = builtins().with_tools(
        [Tool(name="flaky", description="d", input_schema=EMPTY_OBJECT, run=failing)]
    )
    model = ScriptedToolModel(
        [
            [
                *tool_use(0, "e1", "flaky", {}),
                *tool_use(1, "e2", "teleport", {"to": "Mars"}),
                *tool_use(2, "e3", "calculator", {"expr": "1+1"}),
                *tool_use(3, "e4", "current_time", {"timezone": "Mars/Olympus_Mons"}),
                *end("tool_use"),
            ],
            [text("Sorry."), *end("end_turn")],
        ]
    )

    events = run_to_completion(start(model, registry))

    outcomes = {e.outcome.tool_use_id: e.outcome for e in of(events, ToolResultEvent)}
    assert {k: o.status for k, o in outcomes.items()} == {
        "e1": "error",
        "e2": "error",
        "e3": "error",
        "e4": "error",
    }
    assert outcomes["e1"].text == "The service is down"
    assert "no tool named 'teleport'" in outcomes["e2"].text
    assert "Invalid input for calculator" in outcomes["e3"].text
    assert "Unknown time zone" in outcomes["e4"].text
    sent = model.requests[1].messages[2].content
    assert [b["toolResult"]["status"] for b in sent] == ["error"] * 4
    assert of(events, LoopDone)[0].text == "Sorry."


def test_input_cut_off_mid_json_is_an_error_result() -> None:
    model = ScriptedToolModel(
        [
            [*tool_use(0, "cut", "calculator", '{"expression": "1+', stop=False), *end("max_tokens")],
            [text("ok"), *end("end_turn")],
        ]
    )

    events = run_to_completion(start(model))

    use = of(events, ToolUseEvent)[0]
    result = of(events, ToolResultEvent)[0].outcome
    assert use.input == {} and result.status == "error" and "not a complete JSON object" in result.text
    assert pairing_problems(model.requests[1].messages) == []


def test_a_block_without_stop_ends_when_the_next_one_starts() -> None:
    model = ScriptedToolModel(
        [
            [
                *tool_use(0, "a", "calculator", {"expression": "1+1"}, stop=False),
                *tool_use(1, "b", "calculator", {"expression": "2+2"}, stop=False),
                *end("tool_use"),
            ],
            [text("4 and 2"), *end("end_turn")],
        ]
    )

    events = run_to_completion(start(model))

    uses = of(events, ToolUseEvent)
    assert [(u.tool_use_id, u.input) for u in uses] == [
        ("a", {"expression": "1+1"}),
        ("b", {"expression": "2+2"}),
    ]
    # "a" is reported as soon as "b" starts, before b's input arrives.
    assert events.index(uses[0]) < events.index(uses[1])


def test_the_step_limit_forces_a_final_answer_without_tools() -> None:
    always_calls = [*tool_use(0, "x", "calculator", {"expression": "1+1"}), *end("tool_use")]
    model = ScriptedToolModel([always_calls, always_calls, [text("Final answer."), *end("end_turn")]])

    events = run_to_completion(start(model, config=AgentConfig(max_steps=2)))

    assert len(model.requests) == 3
    final = model.requests[2]
    assert isinstance(final, ToolModelRequest) and final.tool_config is None
    assert not has_tool_blocks(final.messages)  # rewritten as text: Bedrock refuses them without toolConfig
    assert "[Called tool calculator" in final.messages[1].content[0]["text"]
    notices = of(events, Notice)
    assert [n.code for n in notices] == ["step_limit"]
    done = of(events, LoopDone)[0]
    assert (done.step_limit_reached, done.stop_reason, done.steps, done.text) == (
        True,
        "end_turn",
        3,
        "Final answer.",
    )


def test_tool_choice_applies_to_the_first_step_only() -> None:
    model = ScriptedToolModel(
        [
            [*tool_use(0, "x", "calculator", {"expression": "2"}), *end("tool_use")],
            [text("2"), *end("end_turn")],
        ]
    )

    run_to_completion(start(model, tool_choice="calculator"))

    configs = [r.tool_config for r in model.requests]  # type: ignore[attr-defined]
    assert configs[0]["toolChoice"] == {"tool": {"name": "calculator"}}
    assert configs[1]["toolChoice"] == {"auto": {}}


def test_no_enabled_tools_is_a_plain_turn_and_old_tool_blocks_become_text() -> None:
    history = [
        ChatMessage.text("user", "time?"),
        ChatMessage("assistant", [{"toolUse": {"toolUseId": "o", "name": "current_time", "input": {}}}]),
        ChatMessage(
            "user", [{"toolResult": {"toolUseId": "o", "content": [{"text": "noon"}], "status": "success"}}]
        ),
        ChatMessage.text("assistant", "Noon."),
        ChatMessage.text("user", "thanks"),
    ]
    model = ScriptedToolModel([[text("welcome"), *end("end_turn")]])
    run = AgentRun(model, builtins(), ModelRequest(model_id="m", messages=history), CONTEXT, enabled=[])

    events = run_to_completion(run)

    sent = model.requests[0]
    assert sent.tool_config is None and not has_tool_blocks(sent.messages)  # type: ignore[attr-defined]
    assert of(events, LoopDone)[0].text == "welcome"


def test_a_model_without_tool_use_answers_without_tools_and_a_notice() -> None:
    def answer(request: ModelRequest) -> list[ToolModelChunk]:
        if request.tool_config is not None:  # type: ignore[attr-defined]
            raise ToolsUnsupported("This model doesn't support tool use.")
        return [text("Plain answer."), *end("end_turn")]

    model = ScriptedToolModel([answer])

    events = run_to_completion(start(model))

    assert [n.code for n in of(events, Notice)] == ["tools_unsupported"]
    assert of(events, LoopDone)[0].text == "Plain answer."
    assert model.requests[-1].tool_config is None  # type: ignore[attr-defined]


def _fits(most_messages: int) -> Any:
    """A model whose context window holds `most_messages` messages: more is Bedrock's refusal."""

    def answer(request: ModelRequest) -> list[ToolModelChunk]:
        if len(request.messages) > most_messages:
            raise InputTooLong("The model rejected the request: Input is too long for requested model.")
        return [text("Short answer."), *end("end_turn")]

    return answer


def _turns(count: int) -> list[ChatMessage]:
    history: list[ChatMessage] = []
    for n in range(count):
        history += [ChatMessage.text("user", f"question {n}"), ChatMessage.text("assistant", f"answer {n}")]
    return history


def test_an_input_too_long_for_the_model_is_sent_again_with_fewer_earlier_turns() -> None:
    # Given four earlier turns and a model that reads at most three messages (its tokenizer
    # counted more than the history's estimate), with a cache checkpoint after the last answer
    history = [*_turns(4), ChatMessage.text("user", "and now?")]
    request = ModelRequest(model_id="m", messages=history, cache_after_messages=(7,))
    model = ScriptedToolModel([_fits(3)])
    # When the turn runs
    events = run_to_completion(AgentRun(model, builtins(), request, CONTEXT, enabled=[]))
    # Then the older half of the earlier turns is left out, then half again, until it fits
    assert [len(r.messages) for r in model.requests] == [9, 5, 3]
    sent = model.requests[-1]
    assert [m.content[0]["text"] for m in sent.messages] == ["question 3", "answer 3", "and now?"]
    assert sent.cache_after_messages == (1,)  # still after "answer 3"
    # And the user is told once, however often the history was shortened
    assert [n.code for n in of(events, Notice)] == ["history_shortened"]
    assert "leaves out its older messages" in of(events, Notice)[0].message
    assert of(events, LoopDone)[0].text == "Short answer."


def test_a_shortened_history_never_splits_a_tool_use_from_its_result() -> None:
    # Given earlier turns where the first one used a tool (toolUse, then its toolResult)
    history = [
        ChatMessage.text("user", "time?"),
        ChatMessage(
            role="assistant", content=[{"toolUse": {"toolUseId": "t1", "name": "calculator", "input": {}}}]
        ),
        ChatMessage(role="user", content=[{"toolResult": {"toolUseId": "t1", "content": [{"text": "1"}]}}]),
        ChatMessage.text("assistant", "It is one."),
        *_turns(1),
        ChatMessage.text("user", "and now?"),
    ]
    model = ScriptedToolModel([_fits(6)])
    run = AgentRun(model, builtins(), ModelRequest(model_id="m", messages=history), CONTEXT, enabled=[])
    # When it is too long once
    run_to_completion(run)
    # Then the cut falls where a turn starts (never on the toolResult message) and pairs hold
    sent = model.requests[-1].messages
    assert [m.content[0].get("text") for m in sent] == ["question 0", "answer 0", "and now?"]
    assert pairing_problems(sent) == []


def test_a_question_alone_too_long_for_the_model_is_the_models_refusal() -> None:
    # Given no earlier turns to leave out
    model = ScriptedToolModel([_fits(0)])
    # Then the refusal reaches the caller as a 400 naming the message, after one call
    with pytest.raises(InputTooLong, match=r"^message: too long for m to read at once"):
        run_to_completion(start(model, enabled=[]))
    assert len(model.requests) == 1


def test_throttling_before_anything_arrives_is_retried_with_the_policy() -> None:
    sleeps: list[float] = []
    throttled: list[str] = []
    model = ScriptedToolModel(
        [
            [*tool_use(0, "x", "calculator", {"expression": "1"}), *end("tool_use")],
            Throttled("slow down"),
            [text("done"), *end("end_turn")],
        ]
    )
    policy = RetryPolicy(max_attempts=3, sleep=sleeps.append, rand=lambda: 0.5)

    events = run_to_completion(start(model, retry=policy, on_throttle=lambda r: throttled.append(r.model_id)))

    assert of(events, LoopDone)[0].text == "done"
    assert len(model.requests) == 3 and sleeps == [0.125] and throttled == ["m"]


def test_a_failure_after_output_is_raised_with_the_step_that_failed() -> None:
    def partly(request: ModelRequest) -> list[ToolModelChunk]:
        def chunks():
            yield text("half")
            raise Throttled("late")

        return chunks()  # type: ignore[return-value]

    model = ScriptedToolModel(
        [[*tool_use(0, "x", "calculator", {"expression": "1"}), *end("tool_use")], partly]
    )
    run = start(model, retry=RetryPolicy(max_attempts=3, sleep=lambda s: None))
    seen: list[Any] = []

    with pytest.raises(Throttled):
        for event in run.events():
            seen.append(event)

    assert run.step == 2 and len(model.requests) == 2
    assert isinstance(seen[-1], TextDelta) and seen[-1].text == "half"


def test_other_model_errors_propagate() -> None:
    model = ScriptedToolModel([UpstreamError("broken")])

    with pytest.raises(UpstreamError):
        run_to_completion(start(model, retry=RetryPolicy(sleep=lambda s: None)))


def test_closing_during_the_model_stream_closes_it() -> None:
    model = ScriptedToolModel([[text("a"), text("b"), text("c"), *end("end_turn")]])
    events = start(model).events()

    assert isinstance(next(events), TextDelta)
    events.close()

    assert model.closed == [True]


def test_closing_during_a_tool_step_cancels_running_tools() -> None:
    cancelled = threading.Event()

    async def hang(arguments: dict[str, Any], context: ToolContext) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    async def quick(arguments: dict[str, Any], context: ToolContext) -> str:
        return "quick"

    registry = ToolRegistry(
        [
            Tool(name="hang", description="d", input_schema=EMPTY_OBJECT, run=hang),
            Tool(name="quick", description="d", input_schema=EMPTY_OBJECT, run=quick),
        ]
    )
    model = ScriptedToolModel(
        [[*tool_use(0, "h", "hang", {}), *tool_use(1, "q", "quick", {}), *end("tool_use")]]
    )
    events = start(model, registry).events()

    first_result = next(e for e in events if isinstance(e, ToolResultEvent))
    assert first_result.outcome.name == "quick"
    events.close()

    assert cancelled.wait(2) and len(model.requests) == 1


def test_a_stop_event_set_elsewhere_ends_a_tool_step() -> None:
    stop = threading.Event()

    async def hang(arguments: dict[str, Any], context: ToolContext) -> str:
        stop.set()  # the user presses stop while the tool runs
        await asyncio.sleep(30)
        return "never"

    registry = ToolRegistry([Tool(name="hang", description="d", input_schema=EMPTY_OBJECT, run=hang)])
    model = ScriptedToolModel([[*tool_use(0, "h", "hang", {}), *end("tool_use")]])

    events = run_to_completion(start(model, registry, cancel=stop))

    assert of(events, ToolResultEvent)[0].outcome.status == "error"
    assert of(events, LoopDone)[0].stopped and len(model.requests) == 1


def test_too_many_calls_in_one_step_are_refused_beyond_the_limit() -> None:
    calls = [c for i in range(4) for c in tool_use(i, f"c{i}", "calculator", {"expression": str(i)})]
    model = ScriptedToolModel([[*calls, *end("tool_use")], [text("ok"), *end("end_turn")]])

    events = run_to_completion(start(model, config=AgentConfig(max_calls_per_step=2)))

    statuses = {e.outcome.tool_use_id: e.outcome.status for e in of(events, ToolResultEvent)}
    assert statuses == {"c0": "success", "c1": "success", "c2": "error", "c3": "error"}
    assert len(model.requests[1].messages[2].content) == 4


def test_stream_events_have_the_sse_shapes() -> None:
    model = ScriptedToolModel(
        [
            [*tool_use(0, "t", "calculator", {"expression": "2**10 + 1"}), *end("tool_use")],
            [text("1025"), *end("end_turn")],
        ]
    )

    events = run_to_completion(start(model))

    forwarded = [e.stream_event() for e in events if e.stream_event() is not None]
    use = next(f for f in forwarded if f.name == "tool_use")
    result = next(f for f in forwarded if f.name == "tool_result")
    assert use.data == {"id": "t", "name": "calculator", "input": {"expression": "2**10 + 1"}, "step": 1}
    assert {k: result.data[k] for k in ("id", "name", "status")} == {
        "id": "t",
        "name": "calculator",
        "status": "success",
    }
    assert "1025" in result.data["preview"]
    assert [f.name for f in forwarded].count("delta") == 1


def test_tool_use_start_alone_still_gets_a_result() -> None:
    model = ScriptedToolModel(
        [
            [ToolModelChunk(tool_part=ToolUseStart(0, "s", "current_time")), *end("tool_use")],
            [text("ok"), *end("end_turn")],
        ]
    )

    events = run_to_completion(start(model))

    assert of(events, ToolUseEvent)[0].input == {}
    assert of(events, ToolResultEvent)[0].outcome.status == "success"  # {} is valid: default zone UTC


@pytest.mark.timeout(20)
def test_a_timed_out_blocking_tool_does_not_hold_the_turn() -> None:
    gate = threading.Event()

    async def blocking(arguments: dict[str, Any], context: ToolContext) -> str:
        await asyncio.to_thread(gate.wait)  # a slow S3 read, say: the thread cannot be interrupted
        return "late"

    registry = ToolRegistry(
        [Tool(name="slow", description="d", input_schema=EMPTY_OBJECT, run=blocking)],
        limits=ToolLimits(timeout_seconds=0.05),
    )
    model = ScriptedToolModel(
        [[*tool_use(0, "s", "slow", {}), *end("tool_use")], [text("ok"), *end("end_turn")]]
    )
    try:
        events = run_to_completion(start(model, registry))

        assert not gate.is_set()  # the loop finished while the tool's thread still runs
        assert "did not answer" in of(events, ToolResultEvent)[0].outcome.text
        assert of(events, LoopDone)[0].text == "ok"
    finally:
        gate.set()

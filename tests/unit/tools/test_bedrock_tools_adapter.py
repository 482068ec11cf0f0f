"""The adapter translations, run through a real ChatBedrockConverse over a recording client that
answers with ConverseStream events (no network): what reaches Bedrock, and what comes back."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from langchain_aws import ChatBedrockConverse
from langchain_core.language_models.chat_models import _format_for_tracing

from lambda_chat.adapters.bedrock_tools import (
    is_input_too_long,
    is_tool_support_error,
    stream_keywords,
    to_langchain_messages,
    tool_model_chunks,
)
from lambda_chat.domain.ports import ChatMessage
from lambda_chat.tools.agent_loop import AgentRun, LoopDone, ToolResultEvent, ToolUseEvent, run_to_completion
from lambda_chat.tools.builtins import current_time_tool
from lambda_chat.tools.model_stream import ToolModelRequest, ToolUseDelta, ToolUseStart, ToolUseStop
from lambda_chat.tools.registry import ToolContext, ToolRegistry

TOOL_CONFIG = {
    "tools": [
        {
            "toolSpec": {
                "name": "current_time",
                "description": "time",
                "inputSchema": {"json": {"type": "object", "properties": {"time_zone": {"type": "string"}}}},
            }
        }
    ],
    "toolChoice": {"auto": {}},
}


def tool_use_events(tool_use_id: str, name: str, pieces: list[str], index: int = 1) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": tool_use_id, "name": name}},
                "contentBlockIndex": index,
            }
        }
    ]
    events += [
        {"contentBlockDelta": {"delta": {"toolUse": {"input": p}}, "contentBlockIndex": index}}
        for p in pieces
    ]
    events.append({"contentBlockStop": {"contentBlockIndex": index}})
    return events


def text_events(text: str, index: int = 0) -> list[dict[str, Any]]:
    return [
        {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": index}},
        {"contentBlockStop": {"contentBlockIndex": index}},
    ]


def ending(stop_reason: str) -> list[dict[str, Any]]:
    return [
        {"messageStop": {"stopReason": stop_reason}},
        {
            "metadata": {
                "usage": {"inputTokens": 12, "outputTokens": 4, "totalTokens": 16},
                "metrics": {"latencyMs": 5},
            }
        },
    ]


class RecordingRuntime:
    """A bedrock-runtime client stand-in: records converse_stream calls, answers scripted events."""

    def __init__(self, answers: list[list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    def converse_stream(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        events = [{"messageStart": {"role": "assistant"}}, *self.answers[len(self.calls) - 1]]
        return {"stream": iter(events)}


class LangchainBedrockModel:
    """The ChatModel phase 2 builds into BedrockChatModel, reduced to the translations."""

    def __init__(self, runtime: RecordingRuntime) -> None:
        self.llm = ChatBedrockConverse(
            model="anthropic.claude-3-haiku-20240307-v1:0",
            region_name="us-east-1",
            provider="anthropic",
            disable_streaming=False,
            client=runtime,
            bedrock_client=object(),
        )

    def stream(self, request: Any):
        yield from tool_model_chunks(
            self.llm.stream(to_langchain_messages(request), **stream_keywords(request))
        )


def test_tool_blocks_reach_bedrock_unchanged_with_the_tool_config() -> None:
    runtime = RecordingRuntime([[*text_events("ok"), *ending("end_turn")]])
    request = ToolModelRequest(
        model_id="m",
        system="sys",
        messages=[
            ChatMessage.text("user", "time?"),
            ChatMessage(
                "assistant",
                [
                    {"text": "checking"},
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "current_time",
                            "input": {"time_zone": "Asia/Tokyo"},
                        }
                    },
                ],
            ),
            ChatMessage(
                "user",
                [
                    {
                        "toolResult": {
                            "toolUseId": "t1",
                            "content": [{"text": '{"utc_offset":"+09:00"}'}],
                            "status": "error",
                        }
                    }
                ],
            ),
            ChatMessage.text("assistant", "It is 9."),
            ChatMessage.text("user", "thanks"),
        ],
        tool_config=TOOL_CONFIG,
    )

    list(LangchainBedrockModel(runtime).stream(request))

    sent = runtime.calls[0]
    assert sent["toolConfig"] == TOOL_CONFIG  # property names inside inputSchema untouched
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert sent["messages"][1]["content"] == [
        {"text": "checking"},
        {"toolUse": {"toolUseId": "t1", "input": {"time_zone": "Asia/Tokyo"}, "name": "current_time"}},
    ]
    result = sent["messages"][2]["content"][0]["toolResult"]
    assert (result["toolUseId"], result["status"]) == ("t1", "error")
    assert result["content"] == [{"text": '{"utc_offset":"+09:00"}'}]
    assert sent["system"] == [{"text": "sys"}]


def test_text_only_messages_travel_as_strings_and_reach_bedrock_as_the_same_blocks() -> None:
    # Given a history of plain text turns, the newest question carrying the cache checkpoint
    runtime = RecordingRuntime([[*text_events("ok"), *ending("end_turn")]])
    history = [ChatMessage.text("user" if i % 2 == 0 else "assistant", f"message {i}") for i in range(9)]
    request = ToolModelRequest(model_id="m", system="sys", messages=history, cache_after_messages=(8,))
    # When it is converted for langchain and streamed
    messages = to_langchain_messages(request)
    list(LangchainBedrockModel(runtime).stream(request))
    # Then each one-text-block message is a string, so langchain-core's tracing copies none of them
    assert [m.content for m in messages[1:-1]] == [f"message {i}" for i in range(8)]
    traced = _format_for_tracing(messages)
    assert all(t is m for t, m in zip(traced[1:-1], messages[1:-1], strict=True))
    # and Bedrock gets the same Converse blocks as before: one text block each, the checkpoint kept
    sent = runtime.calls[0]["messages"]
    assert [m["content"] for m in sent[:-1]] == [[{"text": f"message {i}"}] for i in range(8)]
    assert sent[-1]["content"] == [{"text": "message 8"}, {"cachePoint": {"type": "default"}}]


def test_streamed_tool_use_becomes_start_deltas_and_stop() -> None:
    runtime = RecordingRuntime(
        [
            [
                *text_events("Let me look."),
                *tool_use_events("tu-9", "current_time", ['{"time_z', 'one": "UTC"}']),
                *ending("tool_use"),
            ]
        ]
    )
    request = ToolModelRequest(
        model_id="m", messages=[ChatMessage.text("user", "time?")], tool_config=TOOL_CONFIG
    )

    chunks = list(LangchainBedrockModel(runtime).stream(request))

    parts = [c.tool_part for c in chunks if c.tool_part is not None]
    assert parts == [
        ToolUseStart(1, "tu-9", "current_time"),
        ToolUseDelta(1, '{"time_z'),
        ToolUseDelta(1, 'one": "UTC"}'),
        ToolUseStop(1),
    ]
    assert "".join(c.text for c in chunks) == "Let me look."
    assert [c.stop_reason for c in chunks if c.stop_reason] == ["tool_use"]
    assert [(c.input_tokens, c.output_tokens) for c in chunks if c.input_tokens] == [(12, 4)]


def test_two_tool_blocks_each_end_when_the_next_starts() -> None:
    runtime = RecordingRuntime(
        [
            [
                *tool_use_events("a", "x", ['{"n": 1}'], index=0),
                *tool_use_events("b", "y", ['{"n": 2}'], index=1),
                *ending("tool_use"),
            ]
        ]
    )
    request = ToolModelRequest(
        model_id="m", messages=[ChatMessage.text("user", "go")], tool_config=TOOL_CONFIG
    )

    parts = [c.tool_part for c in LangchainBedrockModel(runtime).stream(request) if c.tool_part is not None]

    assert parts == [
        ToolUseStart(0, "a", "x"),
        ToolUseDelta(0, '{"n": 1}'),
        ToolUseStop(0),
        ToolUseStart(1, "b", "y"),
        ToolUseDelta(1, '{"n": 2}'),
        ToolUseStop(1),
    ]


def test_the_agent_loop_runs_end_to_end_over_langchain() -> None:
    runtime = RecordingRuntime(
        [
            [*tool_use_events("tu-1", "current_time", ['{"timezone": "Asia/Tokyo"}']), *ending("tool_use")],
            [*text_events("It is morning in Tokyo."), *ending("end_turn")],
        ]
    )
    registry = ToolRegistry([current_time_tool(clock=lambda: 0.0)])
    request = ToolModelRequest(model_id="m", messages=[ChatMessage.text("user", "Time in Tokyo?")])
    run = AgentRun(
        LangchainBedrockModel(runtime), registry, request, ToolContext(user_id="u"), enabled=["current_time"]
    )

    events = run_to_completion(run)

    assert [e.name for e in events if isinstance(e, ToolUseEvent)] == ["current_time"]
    assert "+09:00" in next(e for e in events if isinstance(e, ToolResultEvent)).outcome.text
    assert next(e for e in events if isinstance(e, LoopDone)).text == "It is morning in Tokyo."
    second = runtime.calls[1]
    assert second["messages"][1]["content"][0]["toolUse"]["input"] == {"timezone": "Asia/Tokyo"}
    assert second["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "tu-1"
    assert "toolConfig" in second


def test_tool_support_errors_are_recognised() -> None:
    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "ConverseStream")

    assert is_tool_support_error(error("ValidationException", "This model doesn't support tool use."))
    assert is_tool_support_error(
        error("ValidationException", "This model doesn't support tool use in streaming mode.")
    )
    assert is_tool_support_error(
        error("ValidationException", "This model doesn't support the toolConfig.toolChoice.any field.")
    )
    assert not is_tool_support_error(error("ValidationException", "Input is too long for requested model."))
    assert not is_tool_support_error(error("ThrottlingException", "tool use"))
    assert not is_tool_support_error(ValueError("support tool use"))


def test_input_too_long_errors_are_recognised() -> None:
    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "ConverseStream")

    assert is_input_too_long(error("ValidationException", "Input is too long for requested model."))
    # Anthropic's models through Bedrock; inside the event stream the code is lower camel case
    assert is_input_too_long(
        error(
            "validationException",
            "The model returned the following errors: prompt is too long: 200049 tokens > 200000 maximum",
        )
    )
    assert not is_input_too_long(error("ValidationException", "This model doesn't support tool use."))
    assert not is_input_too_long(error("ValidationException", "maxTokens exceeds the model limit"))
    assert not is_input_too_long(error("ThrottlingException", "Input is too long"))
    assert not is_input_too_long(ValueError("Input is too long"))

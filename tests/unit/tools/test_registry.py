from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chatbot_common.errors import InvalidInput
from lambda_chat.tools.registry import (
    Tool,
    ToolCall,
    ToolContext,
    ToolError,
    ToolLimits,
    ToolOutput,
    ToolRegistry,
)
from tests.async_support import run_coroutine

CONTEXT = ToolContext(user_id="alice")
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 1}, "days": {"type": "integer", "maximum": 7}},
    "required": ["city"],
    "additionalProperties": False,
}


def make_tool(
    name: str = "weather", behaviour: Any = None, calls: list[dict[str, Any]] | None = None
) -> Tool:
    async def run(arguments: dict[str, Any], context: ToolContext) -> ToolOutput:
        if calls is not None:
            calls.append(arguments)
        if isinstance(behaviour, BaseException):
            raise behaviour
        if callable(behaviour):
            return await behaviour(arguments)
        return behaviour if behaviour is not None else f"sunny in {arguments['city']}"

    return Tool(name=name, description=f"{name} tool", input_schema=SCHEMA, run=run)


def run_call(registry: ToolRegistry, name: str, value: Any, enabled: list[str] | None = None):
    return run_coroutine(registry.run(ToolCall("tu-1", name, value), CONTEXT, enabled=enabled))


def test_tool_config_lists_enabled_tools_as_converse_tool_specs() -> None:
    registry = ToolRegistry([make_tool("weather"), make_tool("news")])

    config = registry.tool_config(["news"])

    assert config == {
        "tools": [
            {"toolSpec": {"name": "news", "description": "news tool", "inputSchema": {"json": SCHEMA}}}
        ],
        "toolChoice": {"auto": {}},
    }


def test_tool_choice_any_and_named_tool() -> None:
    registry = ToolRegistry([make_tool("weather"), make_tool("news")])

    assert registry.tool_config(["weather", "news"], "any")["toolChoice"] == {"any": {}}  # type: ignore[index]
    assert registry.tool_config(["weather"], "weather")["toolChoice"] == {"tool": {"name": "weather"}}  # type: ignore[index]
    with pytest.raises(InvalidInput, match="toolChoice"):
        registry.tool_config(["weather"], "news")


def test_no_enabled_tool_means_no_tool_config() -> None:
    assert ToolRegistry([make_tool()]).tool_config([]) is None


def test_unknown_tool_names_are_refused_naming_each() -> None:
    registry = ToolRegistry([make_tool("weather")])

    with pytest.raises(InvalidInput) as caught:
        registry.require(["weather", "nope", "also_nope"])

    assert "nope" in caught.value.message and "also_nope" in caught.value.message
    assert caught.value.status == 400


@pytest.mark.parametrize("name", ["", "has space", "dots.not.allowed", "x" * 65, "ünïcode"])
def test_names_bedrock_refuses_are_refused_at_registration(name: str) -> None:
    with pytest.raises(ValueError, match="tool name"):
        make_tool(name)


def test_a_schema_that_is_not_an_object_schema_is_refused() -> None:
    async def run(arguments: dict[str, Any], context: ToolContext) -> str:
        return ""

    with pytest.raises(ValueError, match="object"):
        Tool(name="t", description="d", input_schema={"type": "string"}, run=run)
    with pytest.raises(ValueError, match="invalid input schema"):
        Tool(name="t", description="d", input_schema={"type": "object", "properties": 3}, run=run)


def test_valid_input_runs_the_implementation() -> None:
    calls: list[dict[str, Any]] = []
    registry = ToolRegistry([make_tool(calls=calls)])

    outcome = run_call(registry, "weather", {"city": "Oslo"})

    assert outcome.status == "success" and outcome.text == "sunny in Oslo"
    assert calls == [{"city": "Oslo"}]
    assert outcome.result_block() == {
        "toolResult": {"toolUseId": "tu-1", "content": [{"text": "sunny in Oslo"}], "status": "success"}
    }


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({}, "'city' is a required property"),
        ({"city": "Oslo", "days": 30}, "30 is greater than the maximum of 7"),
        ({"city": "Oslo", "extra": 1}, "Additional properties"),
        ("Oslo", "must be a JSON object"),
    ],
)
def test_input_failing_the_schema_is_an_error_result_and_nothing_runs(value: Any, fragment: str) -> None:
    calls: list[dict[str, Any]] = []
    registry = ToolRegistry([make_tool(calls=calls)])

    outcome = run_call(registry, "weather", value)

    assert outcome.status == "error"
    assert outcome.text.startswith("Invalid input for weather") and fragment in outcome.text
    assert calls == []


def test_unknown_or_disabled_tool_is_an_error_result_listing_what_exists() -> None:
    registry = ToolRegistry([make_tool("weather"), make_tool("news")])

    unknown = run_call(registry, "stocks", {"city": "x"})
    disabled = run_call(registry, "news", {"city": "x"}, enabled=["weather"])

    assert unknown.status == "error" and "'stocks'" in unknown.text and "weather, news" in unknown.text
    assert disabled.status == "error" and "Available tools: weather." in disabled.text


def test_tool_error_message_reaches_the_model_and_other_failures_do_not_leak() -> None:
    told = run_call(ToolRegistry([make_tool(behaviour=ToolError("No such city"))]), "weather", {"city": "x"})
    crashed = run_call(
        ToolRegistry([make_tool(behaviour=KeyError("secret internals"))]), "weather", {"city": "x"}
    )

    assert (told.status, told.text) == ("error", "No such city")
    assert (
        crashed.status == "error" and "failed unexpectedly" in crashed.text and "secret" not in crashed.text
    )


def test_a_tool_that_hangs_times_out() -> None:
    async def hang(arguments: dict[str, Any]) -> str:
        await asyncio.sleep(30)
        return "never"

    registry = ToolRegistry([make_tool(behaviour=hang)], limits=ToolLimits(timeout_seconds=0.05))

    outcome = run_call(registry, "weather", {"city": "x"})

    assert outcome.status == "error" and "did not answer within 0.05 s" in outcome.text


def test_output_is_capped_with_a_note_and_json_output_is_compact() -> None:
    big = ToolRegistry([make_tool(behaviour="x" * 5_000)], limits=ToolLimits(max_output_chars=1_000))
    structured = ToolRegistry([make_tool(behaviour={"temp": 21, "unit": "°C"})])

    capped = run_call(big, "weather", {"city": "x"})
    as_json = run_call(structured, "weather", {"city": "x"})

    assert len(capped.text) == 1_000 and capped.truncated and capped.output_chars == 5_000
    assert "first 1,000 of 5,000 characters" in capped.text
    assert as_json.text == '{"temp":21,"unit":"°C"}'


def test_preview_is_one_short_line() -> None:
    outcome = run_call(
        ToolRegistry([make_tool(behaviour="line one\n\nline   two " + "y" * 500)]), "weather", {"city": "x"}
    )

    preview = outcome.preview(40)

    assert "\n" not in preview and len(preview) == 40 and preview.startswith("line one line two")


def test_describe_lists_tools_for_get_tools() -> None:
    described = ToolRegistry([make_tool("weather")]).describe()

    assert described == [
        {
            "name": "weather",
            "title": None,
            "description": "weather tool",
            "inputSchema": SCHEMA,
            "source": "builtin",
        }
    ]


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="Two tools"):
        ToolRegistry([make_tool("weather"), make_tool("weather")])

"""Schema-valid instances for the scripted model's structured output, and its prompt cache."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from local_stack.bedrock_runtime.exceptions import ValidationException
from local_stack.bedrock_runtime.prompt import _cache_point, build_prompt
from local_stack.bedrock_runtime.prompt_cache import PrefixCache
from local_stack.bedrock_runtime.structured import example_instance

SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "object",
        "properties": {"a": {"type": "string", "maxLength": 3}, "b": {"type": "number", "minimum": 2.5}},
    },
    {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 4}, "minItems": 3, "maxItems": 3},
    {"type": ["null", "boolean"]},
    {"enum": ["red", "green"]},
    {"const": {"fixed": True}},
    {"oneOf": [{"type": "string", "format": "date"}, {"type": "integer"}]},
    {
        "allOf": [
            {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
            {"properties": {"y": {"type": "integer"}}, "required": ["y"]},
        ]
    },
    {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/node"}},
        "required": ["node"],
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 12}},
                "required": ["name"],
            }
        },
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_example_instance_is_valid(schema: dict[str, Any]) -> None:
    jsonschema.validate(example_instance(schema, "Paris"), schema)


def test_unresolvable_ref() -> None:
    with pytest.raises(ValidationException, match="does not resolve"):
        example_instance({"$ref": "#/$defs/missing"})


def _prompt(system: str, question: str) -> Any:
    return build_prompt(
        "m",
        {
            "system": [{"text": system}, {"cachePoint": {"type": "default"}}],
            "messages": [{"role": "user", "content": [{"text": question}]}],
        },
    )


def test_prefix_cache_write_then_read_then_expire() -> None:
    now = [0.0]
    cache = PrefixCache(clock=lambda: now[0])
    words = lambda p: len(p.prefix_text.split())  # noqa: E731
    first = _prompt("one two three", "q1")
    usage = cache.use(first.cache_points, words)
    assert (usage.read_tokens, usage.write_tokens) == (0, 3)
    now[0] = 100.0
    second = _prompt("one two three", "q2")
    usage = cache.use(second.cache_points, words)
    assert (usage.read_tokens, usage.write_tokens) == (3, 0)
    now[0] = 100.0 + 301  # past the 5-minute TTL since the last hit
    usage = cache.use(second.cache_points, words)
    assert (usage.read_tokens, usage.write_tokens) == (0, 3)


def test_one_hour_ttl() -> None:
    prompt = build_prompt(
        "m",
        {
            "system": [{"text": "s"}, {"cachePoint": {"type": "default", "ttl": "1h"}}],
            "messages": [{"role": "user", "content": [{"text": "q"}]}],
        },
    )
    assert prompt.cache_points[0].ttl_seconds == 3600


def test_different_tools_make_a_different_prefix() -> None:
    def prompt(tool: str) -> Any:
        spec = {"toolSpec": {"name": tool, "description": "d", "inputSchema": {"json": {"type": "object"}}}}
        return build_prompt(
            "m",
            {
                "toolConfig": {"tools": [spec]},
                "system": [{"text": "s"}, {"cachePoint": {"type": "default"}}],
                "messages": [{"role": "user", "content": [{"text": "q"}]}],
            },
        )

    assert prompt("a").cache_points[0].key != prompt("b").cache_points[0].key


def test_lookback_points_key_each_message_end_prefix_as_a_cache_point_would() -> None:
    # Given a conversation with a cache point after its last message (and non-ASCII text)
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": [{"text": f"message {i} é"}]}
        for i in range(9)
    ]
    messages[-1]["content"].append({"cachePoint": {"type": "default"}})
    body = {"messages": messages, "system": [{"text": "Be brief."}]}
    # When the prompt is built
    prompt = build_prompt("m", body)
    # Then there is one lookback point per message end, keyed like a cache point on that prefix
    point = prompt.cache_points[-1]
    same_prompt_with_cut_at = [
        build_prompt("m", {**body, "messages": [*messages[: i + 1]]}) for i in range(len(messages))
    ]
    assert len(prompt.cache_lookback) == len(messages)
    for lookback, shorter in zip(prompt.cache_lookback, same_prompt_with_cut_at, strict=True):
        assert point.prefix_text.startswith(lookback.prefix_text)
        assert len(lookback.prefix_text) <= len(point.prefix_text)
        assert lookback.prefix_text == "\n".join([shorter.system, *(t.text for t in shorter.turns)])
        assert lookback.key == _cache_point("m[]", lookback.prefix_text, {}).key  # model id + no tools
    assert prompt.cache_lookback[-1].key == point.key

"""Structured output (`outputConfig.textFormat` with a JSON schema) for engines that cannot follow it
on their own.

The embedded model is constrained by llama.cpp itself: the schema goes in the request's
`json_schema`, which llama.cpp compiles to a GBNF grammar (its `json-schema-to-grammar`). The
scripted model answers `example_instance(schema)`, a deterministic instance that `jsonschema`
accepts for the JSON Schema subset Bedrock documents for structured output (objects, arrays,
strings, numbers, booleans, null, enum, const, anyOf/oneOf, local `$ref`).
"""

from __future__ import annotations

from typing import Any

from local_stack.bedrock_runtime.exceptions import ValidationException

_MAX_DEPTH = 32


def example_instance(schema: dict[str, Any], hint: str = "") -> Any:
    """A value valid against `schema`; strings are `hint` (or "example") fitted to length limits.

    Raises `ValidationException` for a schema that is not a JSON Schema object or uses a `$ref`
    that does not resolve inside it.
    """
    if not isinstance(schema, dict):
        raise ValidationException("The outputConfig.textFormat JSON schema must be an object.")
    return _instance(schema, schema, hint or "example", 0)


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#"):
        raise ValidationException(f"Only local $ref values are supported locally: {ref!r}.")
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise ValidationException(f"The $ref {ref!r} does not resolve inside the schema.")
    return node


def _instance(schema: Any, root: dict[str, Any], hint: str, depth: int) -> Any:
    if depth > _MAX_DEPTH or schema is True or not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _instance(_resolve(root, schema["$ref"]), root, hint, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combiner in ("anyOf", "oneOf"):
        if schema.get(combiner):
            return _instance(schema[combiner][0], root, hint, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            part = _resolve(root, part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
            merged = {
                **merged,
                **part,
                "properties": {**merged.get("properties", {}), **part.get("properties", {})},
                "required": [*merged.get("required", []), *part.get("required", [])],
            }
        return _instance(merged, root, hint, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        out = {name: _instance(props.get(name, {}), root, hint, depth + 1) for name in required}
        for _ in range(int(schema.get("minProperties", 0)) - len(out)):
            out[f"field{len(out) + 1}"] = hint
        return out
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        prefix = schema.get("prefixItems") or []
        items = [_instance(p, root, hint, depth + 1) for p in prefix[:count]]
        items += [
            _instance(schema.get("items", {}), root, hint, depth + 1) for _ in range(count - len(items))
        ]
        return items
    if kind in ("integer", "number"):
        low: float = schema.get("minimum", schema.get("exclusiveMinimum", 0)) or 0
        value = low + (1 if "exclusiveMinimum" in schema else 0)
        high = schema.get("maximum")
        if high is not None and value > high:
            value = high
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = hint
    if "format" in schema:
        text = {
            "date": "2026-01-01",
            "date-time": "2026-01-01T00:00:00Z",
            "email": "user@example.com",
            "uri": "https://example.com",
            "uuid": "00000000-0000-0000-0000-000000000000",
        }.get(schema["format"], text)
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text.ljust(low, "x")
    return text[: int(high)] if high is not None else text

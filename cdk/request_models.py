"""API Gateway request models, derived from the apps' own pydantic request schemas.

One source of truth for each request contract: the app validates a body with its pydantic model,
and API Gateway validates the same body, before the Lambda runs, with a JSON Schema generated
from that model. API Gateway models are JSON Schema draft 4 ("Data models for REST APIs" in the
API Gateway developer guide), while pydantic emits draft 2020-12, so the few constructs that
differ are rewritten here: ``anyOf [X, null]`` becomes ``type: [X, "null"]``, numeric
``exclusiveMinimum``/``exclusiveMaximum`` become draft 4's boolean form, ``$defs`` are inlined,
and ``title``/``default`` (annotations the validator ignores) are dropped.

``additionalProperties: false`` (a request model that refuses unknown fields) is dropped too: the
app refuses an unknown field with a 400 naming it, while API Gateway's refusal can only say "the
request body does not match the API contract" (a gateway response template substitutes
variables without escaping, so its validation error text, which holds quotes, cannot be put in a
JSON string). Types, required fields and ranges stay checked at the gateway.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

DRAFT4 = "http://json-schema.org/draft-04/schema#"


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _inline(definitions[name], definitions)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default", "$defs") or (key == "additionalProperties" and value is False):
            continue
        if key == "properties":
            out[key] = {name: _inline(prop, definitions) for name, prop in value.items()}
            continue
        out[key] = _inline(value, definitions)
    variants = out.get("anyOf")
    if isinstance(variants, list):
        others = [v for v in variants if v != {"type": "null"}]
        if len(others) == 1 and len(others) < len(variants) and isinstance(others[0].get("type"), str):
            merged = {k: v for k, v in out.items() if k != "anyOf"}
            merged.update(others[0])
            merged["type"] = [others[0]["type"], "null"]
            out = merged
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[limit] = out.pop(bound)
            out[bound] = True
    return out


def api_gateway_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The draft-4 JSON Schema of ``model``'s wire form (its aliases), for an API Gateway model."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    definitions = schema.get("$defs", {})
    converted: dict[str, Any] = _inline(schema, definitions)
    return {"$schema": DRAFT4, **converted}


def body_models() -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(method, path) -> (model name, draft-4 schema) for every route whose body is required.

    Imported lazily: the app modules pull in their web framework, which synth only needs here.
    """
    from lambda_chat.schemas import ChatRequest, CompareRequest
    from lambda_upload.app import CreateUploadRequest

    return {
        ("POST", "/chat"): ("ChatRequest", api_gateway_schema(ChatRequest)),
        ("POST", "/compare"): ("CompareRequest", api_gateway_schema(CompareRequest)),
        ("POST", "/uploads"): ("UploadRequest", api_gateway_schema(CreateUploadRequest)),
    }

"""The route table: which handler answers which method and path (as moto's `urls.py` does).

Paths are the REST bindings of botocore's bedrock-runtime and bedrock service models
(`requestUri`); the developer API under `/_local` and `/health` is not AWS's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_SEGMENT = r"[^/]+"


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: str  # attribute name on RuntimeResponses or DeveloperApi
    operation: str  # AWS operation name (or the developer endpoint's name)


def _route(methods: str, path: str, handler: str, operation: str) -> Route:
    regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{_SEGMENT})", path)
    return Route(frozenset(methods.split("|")), re.compile(regex + "$"), handler, operation)


ROUTES: tuple[Route, ...] = (
    # bedrock-runtime
    _route("POST", "/model/{modelId}/converse", "converse", "Converse"),
    _route("POST", "/model/{modelId}/converse-stream", "converse_stream", "ConverseStream"),
    _route("POST", "/model/{modelId}/invoke", "invoke_model", "InvokeModel"),
    _route(
        "POST",
        "/model/{modelId}/invoke-with-response-stream",
        "invoke_model_stream",
        "InvokeModelWithResponseStream",
    ),
    _route("POST", "/model/{modelId}/count-tokens", "count_tokens", "CountTokens"),
    _route(
        "POST",
        "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply",
        "apply_guardrail",
        "ApplyGuardrail",
    ),
    # bedrock (control plane): what a model picker needs
    _route("GET", "/foundation-models", "list_foundation_models", "ListFoundationModels"),
    _route("GET", "/foundation-models/{modelIdentifier}", "get_foundation_model", "GetFoundationModel"),
    _route("GET", "/inference-profiles", "list_inference_profiles", "ListInferenceProfiles"),
    # developer API (not AWS)
    _route("GET", "/health", "health", "health"),
    _route("GET|POST|DELETE", "/_local/faults", "faults", "faults"),
    _route("GET", "/_local/requests", "recorded_requests", "requests"),
)


def match(method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for `raw_path` (still percent-encoded: an ARN model id carries an encoded '/')."""
    for route in ROUTES:
        found = route.pattern.match(raw_path)
        if found and method in route.methods:
            return route, {k: unquote(v) for k, v in found.groupdict().items()}
    return None

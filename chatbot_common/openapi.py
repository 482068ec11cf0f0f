"""One OpenAPI document for the whole API: the chat and upload apps' documents merged.

API Gateway serves both Lambdas under one stage, so clients see one API; FastAPI builds one
document per app. `merge_openapi` joins them and makes them say what the API really does:
- request validation answers 400 with the error shape (chatbot_common.http), so FastAPI's default
  422 `HTTPValidationError` responses are removed (a route that really returns 422 declares it);
- every operation but GET /health needs the Cognito identity (bearer JWT at API Gateway).

The merged document is committed as `chatbot_common/openapi.json` (both bundles carry this package)
and served by the chat app at GET /openapi.json; `make openapi` rewrites it and a test fails when
it differs from the apps.
"""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path
from typing import Any

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_PUBLIC_OPERATIONS = {("/health", "get")}
SECURITY_SCHEME = "cognito"


def merge_openapi(
    documents: list[dict[str, Any]], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """Join OpenAPI 3.1 documents; raises ValueError when two define the same operation or two
    different schemas under one name (the apps would disagree about the API)."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for document in documents:
        for path, item in document.get("paths", {}).items():
            merged = paths.setdefault(path, {})
            for method, operation in item.items():
                if method in merged:
                    raise ValueError(f"{method.upper()} {path} is defined by two apps")
                merged[method] = deepcopy(operation)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"Two different schemas are named {name}")
            schemas[name] = deepcopy(schema)
    for path, item in paths.items():
        for method, operation in item.items():
            responses = operation.get("responses", {})
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                del responses["422"]
            if (path, method) not in _PUBLIC_OPERATIONS:
                operation["security"] = [{SECURITY_SCHEME: []}]
    for name in _VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return {
        "openapi": documents[0].get("openapi", "3.1.0"),
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Cognito ID token (API Gateway's Cognito authorizer); none in local mode",
                }
            },
        },
    }


def load_document() -> dict[str, Any]:
    """The committed merged document."""
    document: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n"

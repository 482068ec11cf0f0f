"""Endpoints that are not AWS's, for developers and tests (LocalStack keeps these apart likewise):

GET  /health                  {"status": "loading" | "ready" | "failed", "models": [...]}
GET|POST|DELETE /_local/faults  pending faults; POST applies a spec (FaultInjector.apply), DELETE clears
GET  /_local/requests         the model-call bodies received so far
"""

from __future__ import annotations

import json
from typing import Any

from local_stack.bedrock_runtime.backend import RuntimeBackend
from local_stack.bedrock_runtime.exceptions import ValidationException
from local_stack.bedrock_runtime.wire import Request, Response


class DeveloperApi:
    def __init__(self, backend: RuntimeBackend) -> None:
        self.backend = backend

    def health(self, request: Request) -> Response:
        models = []
        for engine in self.backend.registry.engines:
            entry: dict[str, Any] = {"modelId": engine.description.model_id, "status": engine.status}
            if engine.load_error:
                entry["error"] = engine.load_error
            models.append(entry)
        statuses = {m["status"] for m in models}
        overall = "failed" if "failed" in statuses else "loading" if "loading" in statuses else "ready"
        return Response.json(200, {"status": overall, "models": models})

    def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = json.loads(request.body or b"{}")
            except json.JSONDecodeError as exc:
                raise ValidationException("The fault specification must be JSON.") from exc
            if not isinstance(spec, dict):
                raise ValidationException("The fault specification must be a JSON object.")
            self.backend.faults.apply(spec)
        elif request.method == "DELETE":
            self.backend.faults.clear()
        return Response.json(200, self.backend.faults.snapshot())

    def recorded_requests(self, request: Request) -> Response:
        return Response.json(200, {"requests": list(self.backend.requests)})

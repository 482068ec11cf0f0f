"""The HTTP shapes the runtime's handlers take and return, independent of the ASGI server."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from local_stack.bedrock_runtime.exceptions import BedrockError, ValidationException

# botocore reads the code before ':' in x-amzn-errortype; AWS appends its namespace after it.
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
EVENT_STREAM = "application/vnd.amazon.eventstream"


@dataclass
class Request:
    """One HTTP request: `headers` have lower-case names; `params` are the route's path parameters,
    percent-decoded."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object; ValidationException when it is not one."""
        try:
            parsed = json.loads(self.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationException(
                f"Malformed input request: {exc}, please reformat your input and try again."
            ) from exc
        if not isinstance(parsed, dict):
            raise ValidationException("Malformed input request: the body must be a JSON object.")
        return parsed


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status, raw, {"content-type": "application/json", **(headers or {})})


@dataclass
class StreamResponse:
    """A 200 answer whose body is `frames`, produced on a worker thread as the model generates.

    The server sets `cancel` when the client goes away and always calls `frames.close()` at the
    end, so the generator's cleanup (releasing the model, counting the request done) runs once.
    """

    frames: Iterator[bytes]
    cancel: threading.Event
    on_close: Callable[[], None] = lambda: None
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": EVENT_STREAM})


def request_id() -> str:
    return str(uuid.uuid4())


def error_response(error: BedrockError) -> Response:
    return Response.json(
        error.status, {"message": error.message}, {"x-amzn-errortype": error.error_type + _ERROR_TYPE_SUFFIX}
    )


Handler = Callable[[Request], Response | StreamResponse]

"""botocore calls answered on this side of the wire, for start-up priming and the SnapStart warm-up.

A call made inside `offline_calls(client, answers)` goes through everything botocore does before
the network (operation model, parameter validation, serialization, endpoint resolution), then
stops at botocore's `before-call` event: a handler that returns a response there short-circuits
the request (botocore's documented event hook, the one `botocore.stub.Stubber` uses). Nothing is
sent, signed or written. `offline_responses(client, bodies)` goes one step further: the request is
signed too, and stops at `before-send`, whose handler returns the HTTP response botocore then
parses as the service's. Either way an operation without a canned answer raises a ClientError
(`PrimingOnly`), so an unexpected call can never reach AWS either.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

PRIMING_ONLY = "PrimingOnly"
_ids = itertools.count()


class _Body:
    """The raw body of a canned HTTP response, as botocore reads it (`stream()` for event
    streams, `read()` otherwise, `close()` after an event stream)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        return iter((self._data,))

    def read(self, *_: Any) -> bytes:
        return self._data

    def close(self) -> None:
        """Nothing to release (botocore's EventStream closes its raw stream when done)."""


@contextmanager
def _answering(client: Any, stage: str, handler: Callable[..., Any], name: str) -> Iterator[None]:
    """`handler` registered on `client` for botocore's `stage` event (before-call, before-send)
    of every operation, removed on exit."""
    event = f"{stage}.{client.meta.service_model.service_id.hyphenize()}"
    unique_id = f"{name}-{next(_ids)}"
    client.meta.events.register(event, handler, unique_id=unique_id)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=unique_id)


@contextmanager
def offline_calls(client: Any, answers: Mapping[str, Any]) -> Iterator[None]:
    """Within the block, every call on `client` is answered locally: `answers[operation]` (the
    parsed response, e.g. {"Item": {...}} for GetItem, or a callable of the request params
    returning one) with HTTP 200; other operations get an HTTP 400 `PrimingOnly` error. Every
    call on the client is answered so, whichever thread makes it: use it where no real traffic
    runs (start-up, before the app serves). The handler is removed on exit."""

    def answer(model: Any, params: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        url = str(params.get("url", ""))
        canned = answers.get(model.name)
        if canned is None:
            error = {"Error": {"Code": PRIMING_ONLY, "Message": f"{model.name} is not answered offline"}}
            return AWSResponse(url, 400, {}, _Body(b"")), error
        parsed = canned(params) if callable(canned) else canned
        return AWSResponse(url, 200, {}, _Body(b"")), {
            **parsed,
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }

    with _answering(client, "before-call", answer, "offline-calls"):
        yield


@contextmanager
def offline_responses(client: Any, bodies: Mapping[str, bytes]) -> Iterator[None]:
    """Like `offline_calls`, one step further down: each call on `client` is signed and sent as
    far as botocore's `before-send` event, whose handler returns the HTTP response (botocore's
    documented hook for a response that short-circuits the send), and botocore parses that
    response as it would the service's. `bodies[operation]` is a 200 body in the service's
    wire format (JSON, or event-stream frames for ConverseStream: chatbot_common.eventstream);
    other operations get an HTTP 400 `PrimingOnly` error. Nothing leaves the process."""

    def answer(request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        body = bodies.get(operation)
        if body is None:
            error = {"__type": PRIMING_ONLY, "message": f"{operation} is not answered offline"}
            headers = {"x-amzn-ErrorType": PRIMING_ONLY, "content-type": "application/json"}
            return AWSResponse(request.url, 400, headers, _Body(json.dumps(error).encode()))
        return AWSResponse(request.url, 200, {}, _Body(body))

    with _answering(client, "before-send", answer, "offline-responses"):
        yield

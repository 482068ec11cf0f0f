"""Start-up priming: the one-time work of a chat turn done by `create_app`, not by the first request.

The first request of a fresh process used to build what every later one reuses: botocore's
shapes, validators and serializers for ConverseStream and the DynamoDB operations, langchain's
message conversion and callback machinery (and the modules they import on first use), FastAPI's
per-route state (built on the first match since FastAPI 0.160) and the asyncio backend of anyio.
AWS's advice for Lambda is to do such work in the init phase (preloading and "priming": it runs
before the first invoke, and SnapStart captures it), see "Performance tuning" in
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-best-practices.html#snapstart-tuning

Priming writes nothing, and makes one network call only: the model list (`prime_model_list`:
ListFoundationModels and ListInferenceProfiles, read-only, what the first request would otherwise
fetch, within a time budget). Every other AWS call stops at botocore's `before-call` hook
(`adapters.offline_calls`). It never fails start-up: a step that raises is logged (warning)
and skipped. Each step's time is logged once (`priming` log line), so its cost is visible.

With SnapStart, a restored process can start warmer still: `warm_up_turns` runs whole chat turns
through the app, offline, when the Web Adapter calls the before-checkpoint hook (routes_snapstart).
A fresh process's first turns run slower than later ones in every layer (the interpreter and the
CPU warming up, docs/benchmarks.md); without a snapshot that warm-up would lengthen every cold
start, so it runs only there.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from starlette.types import ASGIApp

from chatbot_common.eventstream import event_frame
from lambda_chat.adapters.offline_calls import offline_calls, offline_responses

_KEY = {"pk": {"S": "USER#priming"}, "sk": {"S": "CONV#priming"}}
# An item with every attribute type the chat path stores (messages, windows, call records).
_ITEM = {
    **_KEY,
    "type": {"S": "message"},
    "count": {"N": "1"},
    "window": {"B": b"x"},
    "content": {"L": [{"M": {"text": {"S": "x"}}}]},
    "flag": {"BOOL": True},
    "none": {"NULL": True},
    "tags": {"SS": ["a"]},
}


def prime_dynamodb(client: Any, table_name: str) -> None:
    """The DynamoDB operations of a chat turn (read with history, write the question, record the
    answer with its conversation update and call record, list, query), answered offline."""
    answers = {
        "GetItem": {"Item": _ITEM},
        "Query": {"Items": [_ITEM], "Count": 1, "ScannedCount": 1},
        "PutItem": {},
        "UpdateItem": {"Attributes": _ITEM},
        "TransactWriteItems": {},
        "BatchGetItem": {"Responses": {table_name: [_ITEM]}},
    }
    update = {
        "TableName": table_name,
        "Key": _KEY,
        "UpdateExpression": "SET #u = :u ADD #c :one",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeNames": {"#u": "updatedAt", "#c": "count"},
        "ExpressionAttributeValues": {":u": {"S": "x"}, ":one": {"N": "1"}},
    }
    put = {"TableName": table_name, "Item": _ITEM, "ConditionExpression": "attribute_not_exists(pk)"}
    with offline_calls(client, answers):
        client.get_item(TableName=table_name, Key=_KEY, ConsistentRead=True)
        client.query(
            TableName=table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": _KEY["pk"], ":sk": {"S": "MSG#"}},
            ScanIndexForward=False,
            Limit=10,
        )
        client.put_item(**put)
        client.update_item(**update)
        client.transact_write_items(TransactItems=[{"Put": put}, {"Update": update}])
        client.batch_get_item(RequestItems={table_name: {"Keys": [_KEY]}})


def prime_routes(app: ASGIApp, requests: tuple[tuple[str, str], ...] = (("POST", "/chat"),)) -> int:
    """Build the request handling state of the routes a chat turn walks through: FastAPI builds
    an included router's routes (dependencies, body fields and their pydantic adapters) on its
    first match. Each (method, path) is matched in order against the top-level routes with
    Starlette's public `BaseRoute.matches`, as a request is, up to the route that takes it.
    Returns how many routes were matched against."""
    from starlette.routing import Match

    walked = 0
    for method, path in requests:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        for route in getattr(app, "routes", ()):
            walked += 1
            if route.matches(scope)[0] == Match.FULL:
                break
    return walked


def prime_event_loop() -> None:
    """Load anyio's asyncio backend (Starlette's threads and streams run on it), which anyio
    imports on first use: one empty `anyio.run` in a helper thread (create_app may itself run
    inside an event loop, under `uvicorn --factory`)."""
    import anyio

    errors: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(anyio.sleep, 0)
        except BaseException as exc:  # reported to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="priming-event-loop")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


# The caller of the warm-up turns (never stored: their writes are answered offline).
PRIMING_USER = "priming"

# What the warm-up turns' AWS calls get, as HTTP bodies in each service's wire format
# (adapters.offline_responses: botocore signs each request and parses these): writes succeed,
# reads find nothing, and the model streams one short text. Any other operation fails the turn.
_TABLE_ANSWERS = {
    "GetItem": {},
    "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
    "PutItem": {},
    "UpdateItem": {},
    "TransactWriteItems": {},
}
TURN_TABLE_BODIES: Mapping[str, bytes] = {
    operation: json.dumps(answer).encode() for operation, answer in _TABLE_ANSWERS.items()
}
TURN_MODEL_BODIES: Mapping[str, bytes] = {
    "ConverseStream": b"".join(
        event_frame(event_type, body)
        for event_type, body in (
            ("messageStart", {"role": "assistant"}),
            ("contentBlockDelta", {"delta": {"text": "ok"}, "contentBlockIndex": 0}),
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("messageStop", {"stopReason": "end_turn"}),
            (
                "metadata",
                {
                    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                    "metrics": {"latencyMs": 1},
                },
            ),
        )
    )
}


@contextlib.contextmanager
def quiet_process() -> Iterator[None]:
    """Silence the process while warm-up turns run: no log record is emitted (`logging.disable`)
    and nothing printed reaches stdout (Powertools prints its EMF metrics there), so their request
    lines, call records and metrics never reach CloudWatch. Both are process-wide: only for the
    before-checkpoint hook, when no request is served. Restores both on exit."""
    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(disabled)


# The requests of one warm-up turn: a new conversation as JSON, and one as SSE.
_TURN_REQUESTS: tuple[tuple[dict[str, str], str], ...] = (
    ({}, '"answer"'),
    ({"accept": "text/event-stream"}, "event: done"),
)


async def warm_up_turns(app: ASGIApp, offline: Sequence[tuple[Any, Mapping[str, bytes]]], turns: int) -> int:
    """`turns` times, two new-conversation chat turns through the whole app in this event loop
    (httpx's ASGITransport): POST /chat as JSON and as SSE. Every AWS call they make is signed,
    then answered by `adapters.offline_responses` on each (client, bodies) of `offline` and parsed
    by botocore (give every client a turn may reach: a missing answer fails the turn offline,
    never reaching AWS), and the process is quiet meanwhile (`quiet_process`): nothing is written,
    sent, logged or measured. The caller supplies the identity (e.g. a FastAPI dependency
    override). Returns the requests answered; raises RuntimeError naming the request when one did
    not answer in full."""
    import httpx  # in the bundle; imported here, in the hook, not at start-up

    answered = 0
    with contextlib.ExitStack() as stack:
        for client, bodies in offline:
            stack.enter_context(offline_responses(client, bodies))
        stack.enter_context(quiet_process())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            for _ in range(turns):
                for headers, expected in _TURN_REQUESTS:
                    response = await http.post("/chat", json={"message": "Hello"}, headers=headers)
                    if response.status_code != 200 or expected not in response.text:
                        status, text = response.status_code, response.text[:300]
                        raise RuntimeError(f"warm-up /chat ({headers}) answered {status}: {text}")
                    answered += 1
    return answered


# How long start-up waits for the model list (Lambda's init phase has 10 s in all). A slower
# control plane finishes in the background; the first request then waits for that same fetch.
MODEL_LIST_BUDGET_SECONDS = 2.0


def prime_model_list(models: Callable[[], object], budget_seconds: float = MODEL_LIST_BUDGET_SECONDS) -> bool:
    """Load the model list (`ModelCatalog.models`, cached by the catalog for 5 minutes) now, not
    in the first request: on a fresh process it was most of what the first /chat did beyond a
    warm one (bench chat section 3). Waits at most `budget_seconds`; the fetch goes on in a
    daemon thread past that (the catalog's lock makes the first request wait for it rather than
    fetch twice). Returns True when loaded in time; re-raises the fetch's error when it failed in
    time (run_priming logs it; the first request fetches again)."""
    errors: list[Exception] = []

    def fetch() -> None:
        try:
            models()
        except Exception as exc:  # reported to the caller's thread if it still waits
            errors.append(exc)

    thread = threading.Thread(target=fetch, name="priming-model-list", daemon=True)
    thread.start()
    thread.join(budget_seconds)
    if errors:
        raise errors[0]
    return not thread.is_alive()


def run_priming(logger: Logger, steps: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Run each named step, timing it; a failing step is logged and skipped, never raised.
    Returns {step: milliseconds} for the steps that completed (also logged as `priming`)."""
    timings: dict[str, float] = {}
    for name, step in steps.items():
        started = time.perf_counter()
        try:
            step()
        except Exception as exc:  # priming must never stop start-up
            logger.warning("priming step failed", extra={"step": name, "error": repr(exc)})
            continue
        timings[name] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("priming", extra={"priming_ms": timings})
    return timings


def freeze_start_up_heap() -> int:
    """Move every object alive now (modules, botocore's service models and shapes, langchain and
    pydantic classes and schemas, the app itself: ~190,000 objects) to the garbage collector's
    permanent generation (`gc.freeze`, https://docs.python.org/3/library/gc.html#gc.freeze), for
    a process about to serve. A full collection then scans only what requests created: measured
    here, 70 ms per full collection of the chat app's start-up heap, paid by whichever request
    triggered it, against ~0 ms once frozen. Reference counting still frees frozen objects; only
    cycles among them are never collected, which start-up state (alive for the whole process)
    does not need. Returns how many objects were frozen."""
    gc.freeze()
    return gc.get_freeze_count()

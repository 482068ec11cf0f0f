"""Start-up priming (lambda_chat.priming): a fresh process's first chat turn builds nothing that
priming builds. Observed in a new interpreter, as a Lambda cold start is: the modules the first
/chat imports, the pydantic TypeAdapters it creates (FastAPI's per-route state), and the botocore
request shapes (ConverseStream, GetItem, TransactWriteItems) whose members it resolves, and the
Bedrock control-plane calls it makes (the model list, loaded at start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.integration.chat.conftest import SCRIPTED, TABLE, ChatStack, identity_headers

FIRST_TURN = r"""
import asyncio, json, sys
import botocore.utils, httpx, pydantic
from lambda_chat.app import create_app

app = create_app()
services = app.state.services
runtime, dynamodb = services.clients.bedrock_runtime, services.clients.dynamodb
control_plane = []  # Bedrock control-plane calls the first turn makes (the model list)
services.clients.bedrock.meta.events.register(
    "before-call.bedrock", lambda model, **_: control_plane.append(model.name)
)

adapters, resolved = [], set()
original_init, original_get = pydantic.TypeAdapter.__init__, botocore.utils.CachedProperty.__get__

def counting_init(self, *args, **kwargs):
    adapters.append(repr(args[0])[:80] if args else "?")
    original_init(self, *args, **kwargs)

def recording_get(self, obj, cls):
    if obj is not None and self._fget.__name__ == "members":
        resolved.add(id(obj))
    return original_get(self, obj, cls)

def input_shapes(client, operation):
    # Each shape name once (recursive shapes such as AttributeValue resolve to new objects).
    seen, names, stack = {}, set(), [client.meta.service_model.operation_model(operation).input_shape]
    while stack:
        shape = stack.pop()
        if shape.name in names:
            continue
        names.add(shape.name)
        seen[id(shape)] = shape.name
        stack += list(getattr(shape, "members", {}).values())
        stack += [s for s in (getattr(shape, "member", None), getattr(shape, "value", None)) if s]
    return seen

async def first_turn():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chat") as http:
        response = await http.post("/chat", json={"message": "Hello"}, headers=json.loads(sys.argv[1]))
        response.raise_for_status()

before = set(sys.modules)
pydantic.TypeAdapter.__init__ = counting_init
botocore.utils.CachedProperty.__get__ = recording_get
asyncio.run(first_turn())
pydantic.TypeAdapter.__init__, botocore.utils.CachedProperty.__get__ = original_init, original_get
imported = sorted(set(sys.modules) - before)
built_in_request = sorted(
    {name for shapes in (input_shapes(runtime, "ConverseStream"), input_shapes(dynamodb, "GetItem"),
                         input_shapes(dynamodb, "TransactWriteItems"))
     for shape_id, name in shapes.items() if shape_id in resolved}
)
print(json.dumps({"imported": imported, "adapters": adapters, "shapes": built_in_request,
                  "control_plane": control_plane, "priming_ms": app.state.priming_ms}))
"""


def test_a_fresh_processs_first_chat_turn_builds_nothing_priming_builds(chat_stack: ChatStack) -> None:
    # Given a new interpreter whose create_app primes against the local stack's endpoints
    env = {
        **os.environ,
        "CHATBOT_TABLE_NAME": TABLE,
        "CHATBOT_UPLOADS_BUCKET": "chat-integration-uploads",
        "CHATBOT_DEFAULT_MODEL_ID": SCRIPTED,
        "CHATBOT_LOCAL_MODE": "false",
    }
    headers = json.dumps(identity_headers("priming-user"))
    # When it answers its first /chat
    out = subprocess.run(
        [sys.executable, "-c", FIRST_TURN, headers],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # Then every priming step ran, and the turn imported, validated and serialized with what
    # priming had already built
    steps = {"dynamodb requests", "model request", "model list", "routes", "event loop"}
    assert set(report["priming_ms"]) == steps
    assert report["control_plane"] == []  # the model list was loaded at start-up
    assert report["imported"] == []
    assert report["adapters"] == []
    assert report["shapes"] == []

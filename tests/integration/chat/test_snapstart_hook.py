"""The SnapStart before-checkpoint hook (lambda_chat.routes_snapstart): whole chat turns run
offline through the app, leaving no trace: no item, no model request, no log line or metric of
theirs, no identity override; and the hook is there only when the app is built for SnapStart."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import httpx
import pytest

from chatbot_common.snapstart import BEFORE_CHECKPOINT_PATH
from lambda_chat.app import WARM_UP_TURNS, _warm_up, create_app
from lambda_chat.priming import TURN_MODEL_BODIES
from tests.integration.chat.conftest import ChatStack, chat_settings, identity_headers


def post(app: object, path: str, **kwargs: object) -> httpx.Response:
    """One request to the app in process, as the Web Adapter sends it (no identity for the hook)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await http.post(path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(send())


def test_the_before_checkpoint_hook_warms_up_offline_and_leaves_no_trace(
    chat_stack: ChatStack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given an app built for SnapStart, and what the table and the model have seen so far
    app = create_app(chat_settings(snapstart_hooks=True))
    items, model_requests = chat_stack.item_count(), len(chat_stack.runtime.requests)
    capsys.readouterr()
    caplog.set_level(logging.INFO)
    caplog.clear()
    # When the Web Adapter calls the hook before the snapshot
    response = post(app, BEFORE_CHECKPOINT_PATH)
    # Then every warm-up turn answered (JSON and SSE each time), offline and quietly
    assert response.status_code == 200, response.text
    assert response.json()["warmUpRequests"] == 2 * WARM_UP_TURNS
    assert chat_stack.item_count() == items
    assert len(chat_stack.runtime.requests) == model_requests
    logged = [(r.getMessage(), getattr(r, "path", None)) for r in caplog.records if r.name == "chat"]
    assert logged == [("request", BEFORE_CHECKPOINT_PATH)]  # the hook's own line, no turn's
    assert '"_aws"' not in capsys.readouterr().out  # no EMF metrics printed
    assert app.dependency_overrides == {}
    assert logging.root.manager.disable == logging.NOTSET
    # And the app serves real turns afterwards
    turn = post(app, "/chat", json={"message": "Hello"}, headers=identity_headers("after-snapstart"))
    assert turn.status_code == 200, turn.text
    assert chat_stack.item_count() > items


def test_a_warm_up_that_fails_is_logged_and_answered_200_so_publishing_goes_on(
    chat_stack: ChatStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an app built for SnapStart whose warm-up finds no offline answer for the table's calls
    app = create_app(chat_settings(snapstart_hooks=True))
    clients, catalog = app.state.services.clients, app.state.services.catalog
    offline = [(clients.dynamodb, {}), (clients.bedrock_runtime, TURN_MODEL_BODIES), (clients.bedrock, {})]
    app.state.warm_up = partial(_warm_up, app, offline, catalog)
    items = chat_stack.item_count()
    caplog.set_level(logging.INFO)
    # When the hook runs
    response = post(app, BEFORE_CHECKPOINT_PATH)
    # Then nothing was written, the failure is logged, and the adapter gets a 2xx
    assert response.status_code == 200
    assert response.json()["warmUpRequests"] == 0
    assert chat_stack.item_count() == items
    assert any(r.getMessage() == "snapstart warm-up failed" for r in caplog.records)
    assert logging.root.manager.disable == logging.NOTSET


def test_without_snapstart_the_hook_is_not_there(chat_stack: ChatStack) -> None:
    app = create_app(chat_settings())
    response = post(app, BEFORE_CHECKPOINT_PATH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

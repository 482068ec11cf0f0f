"""Conversations API, identity, bad input and the service's metadata on the local stack."""

from __future__ import annotations

import json

import httpx
import pytest

from chatbot_common import keys
from chatbot_common.keys import new_id
from lambda_chat.adapters.call_log import CallLog
from lambda_chat.adapters.conversation_store import ConversationStore
from tests.fakes.chat import CHAT_API_PATHS, PRESET_NAMES
from tests.integration.chat.conftest import SCRIPTED, SLOW, ChatStack, identity_headers


def new_conversation(api: httpx.Client, text: str) -> str:
    response = api.post("/chat", json={"message": text})
    assert response.status_code == 200, response.text
    return str(response.json()["conversationId"])


def test_two_users_never_see_each_others_conversations(chat_stack: ChatStack) -> None:
    alice_id, bob_id = f"alice-{new_id()}", f"bob-{new_id()}"
    with (
        httpx.Client(base_url=chat_stack.base_url, headers=identity_headers(alice_id)) as alice,
        httpx.Client(base_url=chat_stack.base_url, headers=identity_headers(bob_id)) as bob,
    ):
        conversation = new_conversation(alice, "alice's secret")
        before = chat_stack.item_count()

        assert bob.get(f"/conversations/{conversation}").status_code == 404
        assert bob.patch(f"/conversations/{conversation}", json={"title": "mine"}).status_code == 404
        assert bob.delete(f"/conversations/{conversation}").status_code == 404
        response = bob.post("/chat", json={"message": "hi", "conversationId": conversation})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert bob.get("/conversations").json()["items"] == []
        assert chat_stack.item_count() == before

        assert alice.get(f"/conversations/{conversation}").json()["title"] == "alice's secret"

    # No identity at all (and no local mode): 401; a body user id is not an identity.
    with httpx.Client(base_url=chat_stack.base_url) as anonymous:
        response = anonymous.post("/chat", json={"message": "hi", "userId": alice_id})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert anonymous.get("/health").json() == {"status": "ok"}
        bad_context = {"x-amzn-request-context": json.dumps({"authorizer": {"claims": {}}})}
        assert anonymous.get("/conversations", headers=bad_context).status_code == 401


BAD_REQUESTS = [
    pytest.param(
        {"content": b'{"message": ', "headers": {"content-type": "application/json"}}, 400, id="malformed"
    ),
    pytest.param({"json": {}}, 400, id="missing-message"),
    pytest.param({"json": {"message": ""}}, 400, id="empty-message"),
    pytest.param({"json": {"message": "  \n\t "}}, 400, id="blank-message"),
    pytest.param({"json": {"message": ["a"]}}, 400, id="message-not-string"),
    pytest.param({"json": {"message": "x" * 2_001}}, 413, id="oversized-message"),
    pytest.param({"json": {"message": "hi", "system": "s" * 501}}, 413, id="oversized-system"),
    pytest.param({"json": {"message": "hi", "conversationId": "abc"}}, 400, id="bad-id"),
    pytest.param(
        {"json": {"message": "hi", "conversationId": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}}, 400, id="upper-id"
    ),
    pytest.param({"json": {"message": "hi", "conversationId": new_id()}}, 404, id="unknown-id"),
    pytest.param({"json": {"message": "hi", "model": "anthropic.claude-v9"}}, 400, id="unknown-model"),
    pytest.param({"json": {"message": "", "preset": "poem"}}, 400, id="unknown-preset"),
    pytest.param({"json": {"message": "hi", "attachments": [new_id()]}}, 404, id="unknown-upload"),
    pytest.param({"json": {"message": "hi", "attachments": ["../../etc/passwd"]}}, 400, id="bad-upload-id"),
    pytest.param({"json": {"message": "hi", "attachments": "x"}}, 400, id="attachments-not-list"),
]


@pytest.mark.parametrize(("kwargs", "status"), BAD_REQUESTS)
def test_bad_input_is_a_json_error_and_writes_nothing(
    api: httpx.Client, chat_stack: ChatStack, kwargs: dict, status: int
) -> None:
    before_items, before_requests = chat_stack.item_count(), len(chat_stack.runtime.requests)
    for accept in ("application/json", "text/event-stream"):
        response = api.post("/chat", **{**kwargs, "headers": {**kwargs.get("headers", {}), "accept": accept}})
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] in ("invalid_request", "not_found", "payload_too_large")
        assert error["message"]
    assert chat_stack.item_count() == before_items
    assert len(chat_stack.runtime.requests) == before_requests


def test_conversation_list_is_paginated_newest_activity_first(api: httpx.Client) -> None:
    ids = [new_conversation(api, f"conversation {i}") for i in range(5)]
    # Activity on the oldest moves it to the top.
    assert api.post("/chat", json={"message": "bump", "conversationId": ids[0]}).status_code == 200
    expected = [ids[0], ids[4], ids[3], ids[2], ids[1]]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/conversations", params=params).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == expected
    assert pages >= 3
    item = api.get("/conversations", params={"limit": 1}).json()["items"][0]
    assert set(item) == {
        "id",
        "title",
        "createdAt",
        "updatedAt",
        "model",
        "system",
        "inferenceConfig",
        "tools",
    }

    for bad in ("not-base64!", "eyJhIjoxfQ", "e30"):
        response = api.get("/conversations", params={"cursor": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid_request"
    for bad_limit in ("0", "101", "ten"):
        assert api.get("/conversations", params={"limit": bad_limit}).status_code == 400


def test_messages_are_paginated_oldest_first(api: httpx.Client) -> None:
    conversation = new_conversation(api, "m0")
    for i in range(1, 3):
        api.post("/chat", json={"message": f"m{i}", "conversationId": conversation})
    first = api.get(f"/conversations/{conversation}", params={"limit": 4}).json()
    assert [m["content"] for m in first["messages"]] == ["m0", "echo: m0", "m1", "echo: m1"]
    rest = api.get(
        f"/conversations/{conversation}", params={"limit": 4, "cursor": first["nextCursor"]}
    ).json()
    assert [m["content"] for m in rest["messages"]] == ["m2", "echo: m2"]
    assert rest["nextCursor"] is None
    message = first["messages"][1]
    assert set(message) == {
        "id",
        "role",
        "content",
        "createdAt",
        "status",
        "attachments",
        "usage",
        "model",
        "stopReason",
        "feedback",
        "versionOf",
        "supersededBy",
        "versions",
        "costUsd",
        "inferenceConfig",
        "toolStep",
        "blocks",
    }
    assert message["costUsd"] == 0  # a local model

    # A cursor from another conversation is refused rather than followed.
    other = new_conversation(api, "other")
    response = api.get(f"/conversations/{other}", params={"limit": 4, "cursor": first["nextCursor"]})
    assert response.status_code == 400


def test_patch_and_delete(api: httpx.Client, chat_stack: ChatStack, user: str) -> None:
    conversation = new_conversation(api, "to be renamed")
    for _ in range(2):
        api.post("/chat", json={"message": "more", "conversationId": conversation})

    patched = api.patch(
        f"/conversations/{conversation}",
        json={"title": "Renamed", "system": "Answer in French.", "model": SLOW},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["title"], patched.json()["system"], patched.json()["model"]) == (
        "Renamed",
        "Answer in French.",
        SLOW,
    )
    tag = new_id()
    api.post(
        "/chat", json={"message": f"after patch {tag}", "conversationId": conversation, "model": SCRIPTED}
    )
    [request] = chat_stack.requests_for(f"after patch {tag}")
    # The local models take prompt caching: the system prompt is followed by a cache checkpoint.
    assert request["system"] == [{"text": "Answer in French."}, {"cachePoint": {"type": "default"}}]

    assert api.patch(f"/conversations/{conversation}", json={"system": ""}).json()["system"] is None
    assert api.patch(f"/conversations/{conversation}", json={"title": ""}).status_code == 400
    assert api.patch(f"/conversations/{conversation}", json={"model": "nope"}).status_code == 400
    assert api.patch(f"/conversations/{conversation}", json={"owner": "x"}).status_code == 400
    assert (
        api.patch(
            f"/conversations/{conversation}", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )

    deleted = api.delete(f"/conversations/{conversation}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(f"/conversations/{conversation}").status_code == 404
    assert api.delete(f"/conversations/{conversation}").status_code == 404
    remaining = chat_stack.dynamodb.query(
        TableName=chat_stack.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.messages_pk(user, conversation)}},
    )
    assert remaining["Count"] == 0


def test_items_carry_ttl_and_the_call_log_records_each_call(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    conversation = new_conversation(api, "ttl please")
    item = chat_stack.dynamodb.get_item(
        TableName=chat_stack.table,
        Key={"pk": {"S": keys.user_pk(user)}, "sk": {"S": keys.conversation_sk(conversation)}},
    )["Item"]
    ttl = int(item["expiresAt"]["N"])
    assert ttl > 0

    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    [call] = calls
    assert (call.conversation_id, call.model, call.status) == (conversation, SCRIPTED, "complete")
    # Converse's inputTokens excludes the prompt-cache tokens: the prompt is all three together.
    prompt = call.input_tokens + call.cache_read_tokens + call.cache_write_tokens
    assert prompt > 0 and call.output_tokens > 0 and call.latency_ms >= 0
    everyone = CallLog(chat_stack.dynamodb, chat_stack.table).query(conversation_id=conversation)
    assert [c.call_id for c in everyone] == [call.call_id]
    assert CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user, status="throttled") == []
    store = ConversationStore(chat_stack.dynamodb, chat_stack.table)
    assert [c.call_id for c in store.call_log.query(user_id=user, since="2000-01-01")] == [call.call_id]
    assert store.call_log.query(user_id=user, until="2000-01-01") == []


def test_models_presets_and_openapi(api: httpx.Client) -> None:
    models = api.get("/models").json()
    assert models["defaultModel"] == SCRIPTED
    ids = {m["id"] for m in models["models"]}
    assert {SCRIPTED, SLOW} <= ids
    model = next(m for m in models["models"] if m["id"] == SCRIPTED)
    assert set(model) == {
        "id",
        "name",
        "provider",
        "inputModalities",
        "outputModalities",
        "streaming",
        "limits",
    }
    assert model["limits"]["price"]["outputPer1k"] == 0
    assert model["streaming"] is True

    presets = api.get("/presets").json()["presets"]
    assert {p["name"] for p in presets} == set(PRESET_NAMES)
    assert all(p["label"] and p["prompt"] for p in presets)

    spec = api.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert set(CHAT_API_PATHS) <= set(spec["paths"])
    assert "ErrorResponse" in spec["components"]["schemas"]

"""What a chat turn costs in DynamoDB requests, and what it leaves behind when its conversation is
deleted mid-turn: the real app and store against moto server, requests counted with botocore's
event hooks on the store's own client."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from starlette.testclient import TestClient

from chatbot_common import keys
from lambda_chat.adapters.call_log import CallLog
from lambda_chat.adapters.conversation_store import ConversationStore
from lambda_chat.app import create_app
from lambda_chat.domain.entities import Message
from lambda_chat.domain.retry import RetryPolicy
from tests.integration.chat.conftest import (
    SLOW,
    SLOW_REPLY_WORDS,
    TABLE,
    ChatStack,
    chat_settings,
    identity_headers,
    sse_events,
)

SSE = {"Accept": "text/event-stream"}


class CountedRequests:
    """DynamoDB operations sent by one boto3 client (`before-call`: once per API call)."""

    def __init__(self, client: Any) -> None:
        self.operations: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.operations[model.name] += 1

    def take(self) -> dict[str, int]:
        taken = dict(self.operations)
        self.operations.clear()
        return taken


@pytest.fixture
def counted(chat_stack: ChatStack, user: str) -> Iterator[tuple[TestClient, CountedRequests]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    requests = CountedRequests(client)
    app = create_app(
        chat_settings(),
        store=ConversationStore(client, TABLE),
        retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02),
    )
    with TestClient(app, headers=identity_headers(user)) as http:
        requests.take()
        yield http, requests


def test_a_new_conversation_turn_is_two_requests_and_a_follow_up_three(
    counted: tuple[TestClient, CountedRequests],
) -> None:
    http, requests = counted
    # Given nothing, when a new conversation's turn runs: the conversation with its question in
    # one transaction, then the answer, the conversation's touch and the call record in another.
    first = http.post("/chat", json={"message": "hello"})
    assert first.status_code == 200, first.text
    assert requests.take() == {"TransactWriteItems": 2}

    # When the conversation continues: read it with its history window (one request, before the
    # model), store the question (counted on the conversation) beside the stream, then the rest.
    second = http.post("/chat", json={"message": "again", "conversationId": first.json()["conversationId"]})
    assert second.status_code == 200, second.text
    assert requests.take() == {"GetItem": 1, "TransactWriteItems": 2}
    # The window holds the whole history so far: the third turn's model call sees every turn.
    third = http.post("/chat", json={"message": "more", "conversationId": first.json()["conversationId"]})
    assert third.status_code == 200, third.text
    assert requests.take() == {"GetItem": 1, "TransactWriteItems": 2}

    messages = http.get(f"/conversations/{first.json()['conversationId']}").json()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ] * 3


def test_a_message_stored_by_another_writer_is_read_by_the_next_turn(
    counted: tuple[TestClient, CountedRequests], chat_stack: ChatStack, user: str
) -> None:
    http, requests = counted
    first = http.post("/chat", json={"message": "hello"}).json()
    cid = first["conversationId"]
    store = ConversationStore(chat_stack.dynamodb, chat_stack.table)
    note = Message(
        id=keys.new_id(),
        conversation_id=cid,
        role="user",
        content="a note from elsewhere",
        created_at="2026-01-01T00:00:00+00:00",
    )
    store.append_message(user, note)  # counted on the conversation after it is stored
    requests.take()
    second = http.post("/chat", json={"message": "again", "conversationId": cid})
    assert second.status_code == 200, second.text
    # The window no longer matches the count: the messages are queried (consistently) instead
    # (a second, larger page when the first, sized by the 400-token budget, came in under it).
    ops = requests.take()
    assert (ops["GetItem"], ops["TransactWriteItems"], ops["Query"] >= 1) == (1, 2, True)
    _, count, window = store.get_conversation_with_history(user, cid)
    assert window is not None and window.count == count == 5
    assert "a note from elsewhere" in [m.content for m in window.messages]


def test_a_refused_turn_writes_only_its_call_record(
    counted: tuple[TestClient, CountedRequests], chat_stack: ChatStack, user: str
) -> None:
    http, requests = counted
    chat_stack.runtime.faults.throttle(10)
    response = http.post("/chat", json={"message": "busy"})
    assert response.status_code == 429
    assert requests.take() == {"PutItem": 1}
    assert http.get("/conversations").json()["items"] == []
    [call] = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert call.status == "throttled"


def test_a_turn_racing_a_delete_of_its_conversation_leaves_no_orphan_answer_but_logs_the_call(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    # Given a conversation with one turn, and a second, slow turn streaming on it
    conversation_id = api.post("/chat", json={"message": "first"}).json()["conversationId"]
    with api.stream(
        "POST",
        "/chat",
        json={"message": "long", "conversationId": conversation_id, "model": SLOW},
        headers=SSE,
    ) as response:
        events = sse_events(response)
        name, _ = next(events)
        assert name == "meta"
        assert next(events)[0] == "delta"
        # The question is written beside the stream: wait until it is stored. moto runs a
        # TransactWriteItems over a deep copy of the table that it restores when a condition
        # fails, so a question's transaction racing the DeleteItem could put the deleted
        # conversation back (DynamoDB's transactions are atomic). Seen once in CI, under load.
        for _ in range(100):
            stored = api.get(f"/conversations/{conversation_id}").json()["messages"]
            if any(m["content"] == "long" for m in stored):
                break
            time.sleep(0.02)
        generated_before = chat_stack.slow_engine.generated
        # When the user deletes the conversation while the answer is still streaming
        assert api.delete(f"/conversations/{conversation_id}").status_code == 204
        rest = list(events)
    # Then the stream ends with an error saying so, the model stopped early (within about the
    # deletion check interval), and nothing of the turn is left in the table
    last_event, last_data = rest[-1]
    assert last_event == "error"
    assert last_data["code"] == "conversation_deleted"
    assert "deleted" in last_data["message"]
    assert "done" not in [event for event, _ in rest]
    generated = chat_stack.slow_engine.generated - generated_before
    assert generated < SLOW_REPLY_WORDS - 20, generated
    pk = keys.messages_pk(user, conversation_id)
    left = chat_stack.dynamodb.query(
        TableName=chat_stack.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )["Items"]
    assert left == []
    assert api.get(f"/conversations/{conversation_id}").status_code == 404
    # And both model calls are in the call log, the cut one as stopped with its (estimated) tokens
    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert [(c.conversation_id, c.status) for c in calls] == [
        (conversation_id, "stopped"),
        (conversation_id, "complete"),
    ]
    assert calls[0].model == SLOW
    assert calls[0].error_code == "conversation_deleted"
    assert calls[0].output_tokens > 0

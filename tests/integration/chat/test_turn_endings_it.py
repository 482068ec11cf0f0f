"""Turns that fail, stop, are abandoned or are retried, end to end: the real app under uvicorn,
langchain-aws against the local Bedrock runtime (with its fault injection), DynamoDB on moto."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from chatbot_common.keys import new_id
from lambda_chat.adapters.call_log import CallLog
from tests.integration.chat.conftest import PLODDING, SLOW, SLOW_REPLY_WORDS, ChatStack, sse_events

SSE = {"Accept": "text/event-stream"}


def messages_of(api: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/conversations/{conversation_id}", params={"limit": 100})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def conversation_count(api: httpx.Client) -> int:
    return len(api.get("/conversations", params={"limit": 100}).json()["items"])


def settled(engine: Any) -> int:
    """The slow engine's generated-token count once it stops moving."""
    previous = -1
    while engine.generated != previous:
        previous = engine.generated
        time.sleep(0.3)
    return int(engine.generated)


# -- "the model answered" is the first text delta -------------------------------------------------


def test_a_stream_failing_before_its_first_text_stores_nothing_and_the_retry_makes_one_turn(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    # Given a model stream that opens (messageStart) and fails before any text
    chat_stack.runtime.faults.stream_error_after(0)
    # When a JSON client sends a new conversation's first message
    failed = api.post("/chat", json={"message": "Tell me about lighthouses."})
    # Then it gets a clean error and nothing is stored: no conversation, question or empty answer
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "upstream_error"
    assert conversation_count(api) == 0
    # And its retry creates exactly one conversation with one question and one answer
    retried = api.post("/chat", json={"message": "Tell me about lighthouses."})
    assert retried.status_code == 200
    assert conversation_count(api) == 1
    assert [m["role"] for m in messages_of(api, retried.json()["conversationId"])] == ["user", "assistant"]
    # And the failed call is logged with the input the model read (estimated), never 0
    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    failed_call = calls[-1]
    assert failed_call.status == "error"
    assert failed_call.input_tokens > 0 and failed_call.tokens_estimated


def test_an_sse_stream_failing_before_its_first_text_is_a_plain_error_response(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    chat_stack.runtime.faults.stream_error_after(0)
    with api.stream("POST", "/chat", json={"message": "hello there"}, headers=SSE) as response:
        response.read()
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert conversation_count(api) == 0


def test_a_json_turn_failing_mid_answer_names_what_was_kept(api: httpx.Client, chat_stack: ChatStack) -> None:
    conversation_id = api.post("/chat", json={"message": "first"}).json()["conversationId"]
    chat_stack.runtime.faults.stream_error_after(2)
    failed = api.post("/chat", json={"message": "one two three four", "conversationId": conversation_id})
    assert failed.status_code == 502
    error = failed.json()["error"]
    assert error["conversationId"] == conversation_id
    stored = messages_of(api, conversation_id)
    assert stored[-1]["id"] == error["messageId"]
    assert stored[-1]["status"] == "incomplete"
    assert stored[-1]["usage"]["outputTokens"] > 0  # estimated from the partial answer
    assert stored[-1]["usage"]["estimated"] is True


# -- stopReason ---------------------------------------------------------------------------------


def test_a_cut_answer_says_max_tokens_in_json_sse_the_message_and_the_call_log(
    chat_stack: ChatStack, user: str
) -> None:
    from lambda_chat.app import create_app
    from tests.integration.chat.conftest import chat_settings, identity_headers, serve

    app = create_app(chat_settings(max_output_tokens=3))
    base_url, server, thread = serve(app)
    try:
        with httpx.Client(base_url=base_url, headers=identity_headers(user), timeout=30) as api:
            body = api.post("/chat", json={"message": "one two three four five six seven"}).json()
            assert body["stopReason"] == "max_tokens"
            with api.stream("POST", "/chat", json={"message": "a b c d e f g h"}, headers=SSE) as r:
                done = [data for name, data in sse_events(r) if name == "done"]
            assert done[0]["stopReason"] == "max_tokens"
            assert messages_of(api, body["conversationId"])[-1]["stopReason"] == "max_tokens"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert {c.stop_reason for c in calls} == {"max_tokens"}


# -- clients that go away -----------------------------------------------------------------------


def test_an_abandoned_json_request_stops_the_model_and_stores_the_partial_answer(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    engine = chat_stack.slow_engine
    before = settled(engine)
    # Given a JSON request for a long answer, abandoned by its client after half a second
    with pytest.raises(httpx.ReadTimeout):
        api.post("/chat", json={"message": "a long answer please", "model": SLOW}, timeout=0.6)
    # Then the model stops generating soon after (far short of the whole answer)
    assert settled(engine) - before < SLOW_REPLY_WORDS // 2
    # And the turn is stored as stopped, with the tokens it used (estimated: Bedrock sent none)
    [conversation] = api.get("/conversations").json()["items"]
    stored = messages_of(api, conversation["id"])
    assert [m["status"] for m in stored] == ["complete", "stopped"]
    assert stored[1]["usage"]["estimated"] is True
    assert stored[1]["usage"]["inputTokens"] > 0 and stored[1]["usage"]["outputTokens"] > 0
    [call] = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert call.status == "stopped" and call.output_tokens > 0 and call.tokens_estimated


def test_a_follow_up_sent_right_after_stop_sees_the_stopped_partial_answer(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    conversation_id = api.post("/chat", json={"message": "first"}).json()["conversationId"]
    # Given an answer streaming at 0.4 s a token (the stop is stored once the next token arrives)
    body = {"message": "count slowly", "conversationId": conversation_id, "model": PLODDING}
    with api.stream("POST", "/chat", json=body, headers=SSE) as response:
        deltas = 0
        for name, _ in sse_events(response):
            deltas += name == "delta"
            if deltas == 3:
                break  # the user presses stop
    # When the follow-up goes out immediately
    marker = f"follow-up {new_id()}"
    follow = api.post("/chat", json={"message": marker, "conversationId": conversation_id})
    assert follow.status_code == 200
    # Then the model saw the stopped partial answer in its context
    [request] = chat_stack.requests_for(marker)
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    partial = request["messages"][3]["content"][0]["text"]
    assert partial.startswith("p0 p1 p2")


# -- Idempotency-Key ----------------------------------------------------------------------------


def test_a_retried_json_turn_with_the_same_key_returns_the_same_ids_and_stores_once(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    key = {"Idempotency-Key": f"retry-{new_id()}"}
    first = api.post("/chat", json={"message": "Plan a picnic."}, headers=key)
    second = api.post("/chat", json={"message": "Plan a picnic."}, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(messages_of(api, first.json()["conversationId"])) == 2
    assert conversation_count(api) == 1
    assert len(chat_stack.requests_for("Plan a picnic.")) >= 1
    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert len(calls) == 1  # the model ran once


def test_a_key_reused_with_another_body_is_422_and_another_users_key_is_theirs(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    from tests.integration.chat.conftest import identity_headers

    key = f"reuse-{new_id()}"
    assert api.post("/chat", json={"message": "one"}, headers={"Idempotency-Key": key}).status_code == 200
    reused = api.post("/chat", json={"message": "two"}, headers={"Idempotency-Key": key})
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    # The same key from another user is a different key: it runs, and sees nothing of the first
    other = identity_headers(f"user-{new_id()}") | {"Idempotency-Key": key}
    theirs = httpx.post(chat_stack.base_url + "/chat", json={"message": "one"}, headers=other, timeout=30)
    assert theirs.status_code == 200
    assert theirs.json()["conversationId"] not in {c["id"] for c in api.get("/conversations").json()["items"]}


def test_a_bad_idempotency_key_is_400(api: httpx.Client) -> None:
    response = api.post("/chat", json={"message": "x"}, headers={"Idempotency-Key": "has space"})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["message"]


def test_a_duplicate_while_the_first_runs_is_409_and_an_sse_retry_replays_the_events(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    key = {"Idempotency-Key": f"sse-{new_id()}", **SSE}
    body = {"message": "slow and steady", "model": SLOW}
    first_events: list[tuple[str, dict[str, Any]]] = []
    started = threading.Event()

    def first_request() -> None:
        with api.stream("POST", "/chat", json=body, headers=key) as response:
            for event in sse_events(response):
                first_events.append(event)
                started.set()

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(first_request)
        assert started.wait(10)
        duplicate = api.post("/chat", json=body, headers=key)
        assert duplicate.status_code == 409
        assert duplicate.json()["error"]["code"] == "idempotency_in_progress"
        running.result(timeout=60)
    with api.stream("POST", "/chat", json=body, headers=key) as response:
        replayed = list(sse_events(response))

    # The same events, the answer's deltas joined into one (the record stays small)
    def text(events: list[tuple[str, dict[str, Any]]]) -> str:
        return "".join(data["text"] for name, data in events if name == "delta")

    assert [name for name, _ in replayed] == ["meta", "delta", "usage", "done"]
    assert text(replayed) == text(first_events)
    others = [event for event in first_events if event[0] != "delta"]
    assert [event for event in replayed if event[0] != "delta"] == others
    assert len(messages_of(api, first_events[0][1]["conversationId"])) == 2


def test_a_failure_before_text_frees_the_key_so_its_retry_runs_once(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    key = {"Idempotency-Key": f"fail-{new_id()}"}
    chat_stack.runtime.faults.stream_error_after(0)
    assert api.post("/chat", json={"message": "try me"}, headers=key).status_code == 502
    retried = api.post("/chat", json={"message": "try me"}, headers=key)
    again = api.post("/chat", json={"message": "try me"}, headers=key)
    assert retried.status_code == again.status_code == 200
    assert retried.json()["messageId"] == again.json()["messageId"]
    assert conversation_count(api) == 1

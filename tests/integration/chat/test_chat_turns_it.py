"""Chat turns end to end: real app (uvicorn) -> boto3/langchain-aws -> local Bedrock runtime,
history in DynamoDB (moto server)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from chatbot_common.keys import new_id
from lambda_chat.adapters.call_log import CallLog
from tests.integration.chat.conftest import SCRIPTED, SLOW, SLOW_REPLY_WORDS, ChatStack, sse_events

SSE = {"Accept": "text/event-stream"}


def messages_of(api: httpx.Client, conversation_id: str) -> list[dict]:
    response = api.get(f"/conversations/{conversation_id}", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_json_turn_creates_a_conversation_and_the_model_receives_earlier_turns(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    tag = new_id()
    first = api.post("/chat", json={"message": f"first {tag}", "system": "Be brief."})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["answer"] == f"echo: first {tag}"
    assert body["model"] == SCRIPTED
    assert body["usage"]["outputTokens"] > 0
    conversation_id = body["conversationId"]

    second = api.post("/chat", json={"message": f"second {tag}", "conversationId": conversation_id})
    assert second.status_code == 200
    third = api.post("/chat", json={"message": f"third {tag}", "conversationId": conversation_id})
    assert third.json()["answer"] == f"echo: third {tag}"

    [request] = chat_stack.requests_for(f"third {tag}")
    assert request["stream"] is True
    # The local models take prompt caching: a checkpoint after the system prompt.
    assert request["system"] == [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}]
    assert [(m["role"], m["content"][0]["text"]) for m in request["messages"]] == [
        ("user", f"first {tag}"),
        ("assistant", f"echo: first {tag}"),
        ("user", f"second {tag}"),
        ("assistant", f"echo: second {tag}"),
        ("user", f"third {tag}"),
    ]
    conversation = api.get(f"/conversations/{conversation_id}").json()
    assert conversation["title"] == f"first {tag}"
    assert [m["status"] for m in conversation["messages"]] == ["complete"] * 6


def test_sse_turn_streams_events_as_they_are_generated(api: httpx.Client) -> None:
    started = time.monotonic()
    arrivals: list[tuple[str, float]] = []
    with api.stream("POST", "/chat", json={"message": "go", "model": SLOW}, headers=SSE) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        events = []
        for name, data in sse_events(response):
            arrivals.append((name, time.monotonic() - started))
            events.append((name, data))
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["usage", "done"]
    assert names.count("delta") == SLOW_REPLY_WORDS
    # Really streamed: the first delta arrived long before the last one (0.02 s per token).
    first_delta = next(t for n, t in arrivals if n == "delta")
    assert arrivals[-1][1] - first_delta > 1.5
    meta = events[0][1]
    answer = "".join(data["text"] for name, data in events if name == "delta")
    stored = messages_of(api, meta["conversationId"])
    assert stored[-1]["id"] == meta["messageId"]
    assert stored[-1]["content"] == answer
    assert stored[0]["id"] == meta["userMessageId"]


def test_history_sent_to_the_model_is_trimmed_to_the_budget(api: httpx.Client, chat_stack: ChatStack) -> None:
    tag = new_id()
    conversation_id = None
    for turn in range(6):
        payload = {"message": f"{tag} turn{turn} " + "x" * 250}
        if conversation_id:
            payload["conversationId"] = conversation_id
        response = api.post("/chat", json=payload)
        assert response.status_code == 200
        conversation_id = response.json()["conversationId"]
    [last] = chat_stack.requests_for(f"{tag} turn5")
    roles = [m["role"] for m in last["messages"]]
    # Budget 400 tokens, each message ~70 tokens: the new message plus the two newest whole turns.
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert last["messages"][0]["content"][0]["text"].startswith(f"{tag} turn3")
    assert len(messages_of(api, conversation_id)) == 12  # nothing lost in storage


def test_twenty_concurrent_turns_on_one_conversation_lose_nothing(api: httpx.Client) -> None:
    conversation_id = api.post("/chat", json={"message": "start"}).json()["conversationId"]

    def turn(i: int) -> int:
        return api.post(
            "/chat", json={"message": f"parallel {i}", "conversationId": conversation_id}
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(turn, range(20)))
    assert statuses == [200] * 20
    messages = messages_of(api, conversation_id)
    assert len(messages) == 42
    assert len({m["id"] for m in messages}) == 42
    answers = {m["content"] for m in messages if m["role"] == "assistant"}
    assert answers == {"echo: start"} | {f"echo: parallel {i}" for i in range(20)}


def test_throttling_is_retried_including_in_stream_before_the_first_token(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    tag = new_id()
    chat_stack.runtime.faults.throttle(2)
    response = api.post("/chat", json={"message": f"throttled {tag}"})
    assert response.status_code == 200, response.text
    assert len(chat_stack.requests_for(f"throttled {tag}")) == 3

    chat_stack.runtime.faults.throttle_in_stream(2)
    with api.stream("POST", "/chat", json={"message": f"in-stream {tag}"}, headers=SSE) as streamed:
        events = list(sse_events(streamed))
    assert [n for n, _ in events][-1] == "done"
    assert "".join(d["text"] for n, d in events if n == "delta") == f"echo: in-stream {tag}"
    assert len(chat_stack.requests_for(f"in-stream {tag}")) == 3


def test_throttling_that_outlasts_the_retries_is_a_429_and_logged(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    chat_stack.runtime.faults.throttle(10)
    tag = new_id()
    response = api.post("/chat", json={"message": f"too busy {tag}"})
    assert response.status_code == 429
    # Exactly our attempts reach the model: botocore's own retries are off.
    assert len(chat_stack.requests_for(f"too busy {tag}")) == 4
    # The SSE form refuses the same way: nothing was streamed yet, so a plain JSON 429.
    streamed = api.post("/chat", json={"message": "still busy"}, headers=SSE)
    assert streamed.status_code == 429
    assert streamed.headers["content-type"].startswith("application/json")
    assert streamed.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["code"] == "throttled"
    chat_stack.runtime.faults.clear()

    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert [c.status for c in calls] == ["throttled", "throttled"]
    assert calls[0].request_id and calls[0].request_id.startswith("req-")


def test_mid_stream_failure_stores_the_partial_answer_as_incomplete(
    api: httpx.Client, chat_stack: ChatStack
) -> None:
    chat_stack.runtime.faults.stream_error_after(3)
    with api.stream("POST", "/chat", json={"message": "one two three four five"}, headers=SSE) as response:
        assert response.status_code == 200
        events = list(sse_events(response))
    names = [n for n, _ in events]
    assert names == ["meta", "delta", "delta", "delta", "error"]
    assert events[-1][1]["code"] == "upstream_error"
    partial = "".join(d["text"] for n, d in events if n == "delta")
    stored = messages_of(api, events[0][1]["conversationId"])
    assert stored[-1]["status"] == "incomplete"
    assert stored[-1]["content"] == partial

    chat_stack.runtime.faults.stream_error_after(2)
    json_form = api.post("/chat", json={"message": "again please now"})
    assert json_form.status_code == 502
    assert json_form.json()["error"]["code"] == "upstream_error"


def test_client_disconnect_stops_generation_and_stores_partial_as_stopped(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    engine = chat_stack.slow_engine
    generated_before = engine.generated
    with api.stream("POST", "/chat", json={"message": "long answer please", "model": SLOW}, headers=SSE) as r:
        seen = []
        for name, data in sse_events(r):
            seen.append((name, data))
            if len(seen) >= 6:
                break
    conversation_id = seen[0][1]["conversationId"]

    deadline = time.monotonic() + 10
    stored: list[dict] = []
    while time.monotonic() < deadline:
        stored = messages_of(api, conversation_id)
        if len(stored) == 2:
            break
        time.sleep(0.1)
    assert len(stored) == 2, stored
    assert stored[1]["status"] == "stopped"
    assert 5 <= len(stored[1]["content"].split()) < SLOW_REPLY_WORDS

    # The model stopped too: its token count settles far below the full reply.
    previous = -1
    while engine.generated != previous:
        previous = engine.generated
        time.sleep(0.3)
    assert engine.generated - generated_before < SLOW_REPLY_WORDS // 2
    calls = CallLog(chat_stack.dynamodb, chat_stack.table).query(user_id=user)
    assert calls[0].status == "stopped"

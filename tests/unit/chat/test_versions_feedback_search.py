"""Regenerate, edit and resend, feedback and search through the HTTP layer over in-memory fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from lambda_chat.domain.ports import ModelRequest
from lambda_chat.domain.retry import RetryPolicy
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeModel, FakeStore


def as_user(user_id: str) -> dict[str, str]:
    context = {"requestId": "r", "authorizer": {"claims": {"sub": user_id}}}
    return {"x-amzn-request-context": json.dumps(context)}


class CountingModel(FakeModel):
    """Answers "answer N to: <question>" and records what it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.reply = self._reply

    def _reply(self, request: ModelRequest) -> str:
        question = request.messages[-1].content[-1]["text"]
        return f"answer {len(self.requests)} to: {question}"


@pytest.fixture
def model() -> CountingModel:
    return CountingModel()


@pytest.fixture
def client(model: CountingModel) -> Iterator[TestClient]:
    settings = Settings(
        table_name="unit-table", uploads_bucket="unit-bucket", local_mode=True, default_model_id=MODEL_ID
    )
    app = create_app(
        settings,
        store=FakeStore(),
        model=model,
        model_directory=FakeDirectory(),
        retry_policy=RetryPolicy(sleep=lambda _: None),
    )
    with TestClient(app) as test_client:
        yield test_client


def _texts(request: ModelRequest) -> list[tuple[str, str]]:
    return [(m.role, m.content[-1]["text"]) for m in request.messages]


def test_regenerate_keeps_the_earlier_answer_as_a_version_and_sends_only_the_new_one(
    client: TestClient, model: CountingModel
) -> None:
    first = client.post("/chat", json={"message": "hi"}).json()
    conv = first["conversationId"]
    again = client.post("/chat", json={"conversationId": conv, "regenerate": first["messageId"]})
    assert again.status_code == 200, again.text
    assert again.json()["answer"] == "answer 2 to: hi"
    detail = client.get(f"/conversations/{conv}").json()
    assert [(m["role"], m["content"]) for m in detail["messages"]] == [
        ("user", "hi"),
        ("assistant", "answer 2 to: hi"),
    ]
    newest = detail["messages"][1]
    assert newest["versionOf"] == first["messageId"]
    assert [v["content"] for v in newest["versions"]] == ["answer 1 to: hi"]
    # The regenerate sent the same question with no answer to it
    assert _texts(model.requests[1]) == [("user", "hi")]
    client.post("/chat", json={"conversationId": conv, "message": "next"})
    assert _texts(model.requests[2]) == [("user", "hi"), ("assistant", "answer 2 to: hi"), ("user", "next")]
    every = client.get(f"/conversations/{conv}", params={"includeSuperseded": "true"}).json()
    assert len(every["messages"]) == 5


def test_regenerate_refusals(client: TestClient) -> None:
    first = client.post("/chat", json={"message": "hi"}).json()
    conv = first["conversationId"]
    client.post("/chat", json={"conversationId": conv, "message": "more"})
    old = client.post("/chat", json={"conversationId": conv, "regenerate": first["messageId"]})
    assert (old.status_code, old.json()["error"]["code"]) == (409, "not_latest_answer")
    missing = client.post("/chat", json={"conversationId": conv, "regenerate": "0" * 26})
    assert missing.status_code == 404
    # a question's id is not an answer to regenerate (it was a misleading 409 message_superseded)
    messages = client.get(f"/conversations/{conv}").json()["messages"]
    question = next(m["id"] for m in reversed(messages) if m["role"] == "user")
    asked = client.post("/chat", json={"conversationId": conv, "regenerate": question})
    assert asked.status_code == 400 and "regenerate must name an answer" in asked.json()["error"]["message"]
    no_conv = client.post("/chat", json={"regenerate": first["messageId"]})
    assert no_conv.status_code == 400
    other = client.post(
        "/chat", json={"conversationId": conv, "regenerate": first["messageId"]}, headers=as_user("bob")
    )
    assert other.status_code == 404


def test_regenerating_a_superseded_answer_is_a_conflict(client: TestClient) -> None:
    first = client.post("/chat", json={"message": "hi"}).json()
    conv = first["conversationId"]
    assert (
        client.post("/chat", json={"conversationId": conv, "regenerate": first["messageId"]}).status_code
        == 200
    )
    twice = client.post("/chat", json={"conversationId": conv, "regenerate": first["messageId"]})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "message_superseded")


def test_edit_continues_from_the_edited_message_and_keeps_what_followed(
    client: TestClient, model: CountingModel
) -> None:
    first = client.post("/chat", json={"message": "one"}).json()
    conv = first["conversationId"]
    client.post("/chat", json={"conversationId": conv, "message": "two"})
    detail = client.get(f"/conversations/{conv}").json()
    two_id = detail["messages"][2]["id"]
    edited = client.post("/chat", json={"conversationId": conv, "editOf": two_id, "message": "TWO"})
    assert edited.status_code == 200, edited.text
    assert _texts(model.requests[-1]) == [("user", "one"), ("assistant", "answer 1 to: one"), ("user", "TWO")]
    after = client.get(f"/conversations/{conv}").json()["messages"]
    assert [m["content"] for m in after] == ["one", "answer 1 to: one", "TWO", "answer 3 to: TWO"]
    assert after[2]["versionOf"] == two_id
    assert [v["content"] for v in after[2]["versions"]] == ["two"]
    every = client.get(f"/conversations/{conv}", params={"includeSuperseded": "true"}).json()["messages"]
    assert {m["content"]: m["supersededBy"] for m in every if m["supersededBy"]} == {
        "two": after[2]["id"],
        "answer 2 to: two": after[2]["id"],
    }
    not_mine = client.post("/chat", json={"conversationId": conv, "editOf": after[1]["id"], "message": "x"})
    assert not_mine.status_code == 400


def test_feedback_is_stored_on_the_answer_and_can_be_withdrawn(client: TestClient) -> None:
    first = client.post("/chat", json={"message": "hi"}).json()
    conv, answer = first["conversationId"], first["messageId"]
    url = f"/conversations/{conv}/messages/{answer}/feedback"
    put = client.put(url, json={"rating": "down", "reason": "wrong year"})
    assert put.status_code == 200
    assert put.json()["feedback"]["rating"] == "down"
    again = client.put(url, json={"rating": "down", "reason": "wrong year"})
    assert again.status_code == 200
    stored = client.get(f"/conversations/{conv}").json()["messages"][1]["feedback"]
    assert (stored["rating"], stored["reason"]) == ("down", "wrong year")
    assert client.put(url, json={"rating": "meh"}).status_code == 400
    assert client.put(url, json={"rating": "up"}, headers=as_user("bob")).status_code == 404
    question = client.get(f"/conversations/{conv}").json()["messages"][0]["id"]
    assert (
        client.put(f"/conversations/{conv}/messages/{question}/feedback", json={"rating": "up"}).status_code
        == 404
    )
    assert client.delete(url).json()["feedback"] is None
    assert client.get(f"/conversations/{conv}").json()["messages"][1]["feedback"] is None


def test_search_finds_titles_and_message_text_of_the_callers_conversations_only(client: TestClient) -> None:
    client.post("/chat", json={"message": "Paris trip ideas"})
    client.post("/chat", json={"message": "unrelated"}, headers=as_user("bob"))
    other = client.post("/chat", json={"message": "cooking"}).json()
    client.post("/chat", json={"conversationId": other["conversationId"], "message": "a pasta from PARIS?"})
    hits = client.get("/search", params={"q": "paris"}).json()["items"]
    assert {(h["title"], h["messageId"] is None) for h in hits} >= {
        ("Paris trip ideas", True),
        ("cooking", False),
    }
    assert all("paris" in h["snippet"].casefold() for h in hits)
    assert client.get("/search", params={"q": "unrelated"}).json()["items"] == []
    assert client.get("/search", params={"q": "  "}).status_code == 400
    assert client.get("/search").status_code == 400

"""/prompts over in-memory fakes: create with PUT (retry-safe), list, replace, delete, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chatbot_common.keys import new_id
from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from lambda_chat.domain import prompts as prompts_module
from lambda_chat.domain.retry import RetryPolicy
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeModel, FakeStore, MemoryPrompts


def as_user(user_id: str) -> dict[str, str]:
    return {
        "x-amzn-request-context": json.dumps({"requestId": "r", "authorizer": {"claims": {"sub": user_id}}})
    }


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = Settings(
        table_name="unit-table",
        uploads_bucket="unit-bucket",
        local_mode=True,
        default_model_id=MODEL_ID,
        max_system_chars=50,
    )
    app = create_app(
        settings,
        store=FakeStore(),
        model=FakeModel(),
        model_directory=FakeDirectory(),
        retry_policy=RetryPolicy(sleep=lambda _: None),
        prompts=MemoryPrompts(),
    )
    with TestClient(app) as test_client:
        yield test_client


def test_put_creates_then_replaces_and_a_retry_never_duplicates(client: TestClient) -> None:
    pid = new_id()
    created = client.put(f"/prompts/{pid}", json={"title": "  Reviewer ", "text": "Review my code."})
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "Reviewer"
    retried = client.put(f"/prompts/{pid}", json={"title": "Reviewer", "text": "Review my code."})
    assert retried.status_code == 200
    assert retried.json()["createdAt"] == created.json()["createdAt"]
    client.put(f"/prompts/{new_id()}", json={"title": "Second", "text": "x"})
    items = client.get("/prompts").json()["items"]
    assert [p["title"] for p in items] == ["Second", "Reviewer"]
    assert client.get(f"/prompts/{pid}").json()["text"] == "Review my code."


def test_prompts_are_per_user(client: TestClient) -> None:
    pid = new_id()
    client.put(f"/prompts/{pid}", json={"title": "Mine", "text": "secret"})
    assert client.get("/prompts", headers=as_user("bob")).json()["items"] == []
    assert client.get(f"/prompts/{pid}", headers=as_user("bob")).status_code == 404
    assert client.delete(f"/prompts/{pid}", headers=as_user("bob")).status_code == 404
    assert client.delete(f"/prompts/{pid}").status_code == 204
    assert client.delete(f"/prompts/{pid}").status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"title": " ", "text": "x"}, 400),
        ({"title": "t", "text": "  "}, 400),
        ({"title": "t", "text": "x" * 51}, 413),
        ({"title": "t" * 201, "text": "x"}, 413),
        ({"title": "t"}, 400),
        ({"title": "t", "text": "x", "extra": 1}, 400),
    ],
)
def test_bad_prompts_are_refused(client: TestClient, body: dict[str, object], status: int) -> None:
    response = client.put(f"/prompts/{new_id()}", json=body)
    assert response.status_code == status, response.text
    assert client.get("/prompts").json()["items"] == []


def test_bad_id_and_the_per_user_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.put("/prompts/nope", json={"title": "t", "text": "x"}).status_code == 400
    monkeypatch.setattr(prompts_module, "MAX_PROMPTS", 2)
    for _ in range(2):
        assert client.put(f"/prompts/{new_id()}", json={"title": "t", "text": "x"}).status_code == 201
    full = client.put(f"/prompts/{new_id()}", json={"title": "t", "text": "x"})
    assert (full.status_code, full.json()["error"]["code"]) == (409, "prompt_limit")

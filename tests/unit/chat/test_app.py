"""The HTTP layer over in-memory fakes (in-process ASGI, no sockets): status codes, error bodies,
SSE framing, identity, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chatbot_common.keys import new_id
from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from lambda_chat.domain.events import StreamEvent
from lambda_chat.domain.retry import RetryPolicy
from lambda_chat.sse import format_sse
from tests.fakes.chat import CHAT_API_PATHS, MODEL_ID, PRESET_NAMES, FakeDirectory, FakeModel, FakeStore

# What POST /chat answers in JSON (docs/api.md), and what its OpenAPI schema says it answers.
CHAT_RESPONSE_FIELDS = {
    "conversationId",
    "messageId",
    "answer",
    "stopReason",
    "usage",
    "model",
    "latencyMs",
    "costUsd",
    "toolCalls",
}


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def client(store: FakeStore) -> Iterator[TestClient]:
    settings = Settings(
        table_name="unit-table",
        uploads_bucket="unit-bucket",
        local_mode=True,
        default_model_id=MODEL_ID,
        max_message_chars=100,
    )
    app = create_app(
        settings,
        store=store,
        model=FakeModel(),
        model_directory=FakeDirectory(),
        retry_policy=RetryPolicy(sleep=lambda _: None),
    )
    with TestClient(app) as test_client:
        yield test_client


def test_format_sse_frame() -> None:
    assert format_sse(StreamEvent("delta", {"text": "é\n"})) == 'event: delta\ndata: {"text":"é\\n"}\n\n'


def test_chat_json_then_conversation_listing(client: TestClient) -> None:
    response = client.post("/chat", json={"message": "hello"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CHAT_RESPONSE_FIELDS
    assert body["costUsd"] == 0  # local models cost nothing
    assert body["answer"] == "echo: hello"
    detail = client.get(f"/conversations/{body['conversationId']}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][1]["usage"] == body["usage"]


def test_chat_sse_frames(client: TestClient) -> None:
    with client.stream(
        "POST", "/chat", json={"message": "hi you"}, headers={"Accept": "text/event-stream"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        text = r.read().decode()
    frames = [f for f in text.split("\n\n") if f]
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert names == ["meta", "delta", "delta", "delta", "usage", "done"]
    assert json.loads(frames[-1].split("\n")[1].removeprefix("data: "))["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"content": b'{"message": "hi"', "headers": {"content-type": "application/json"}},
            400,
            "invalid_request",
        ),
        ({"json": {}}, 400, "invalid_request"),
        ({"json": {"message": ""}}, 400, "invalid_request"),
        ({"json": {"message": 42}}, 400, "invalid_request"),
        ({"json": {"message": "x" * 101}}, 413, "payload_too_large"),
        ({"json": {"message": "hi", "conversationId": "nope"}}, 400, "invalid_request"),
        ({"json": {"message": "hi", "conversationId": new_id()}}, 404, "not_found"),
        ({"json": {"message": "hi", "model": "unknown.model"}}, 400, "invalid_request"),
        ({"json": {"message": "", "preset": "nope"}}, 400, "invalid_request"),
        ({"json": {"message": "hi", "attachments": [new_id()]}}, 400, "invalid_request"),
        ({"json": ["message"]}, 400, "invalid_request"),
    ],
)
def test_bad_chat_input_gives_a_json_error_and_writes_nothing(
    client: TestClient, store: FakeStore, kwargs: dict, status: int, code: str
) -> None:
    for accept in ("application/json", "text/event-stream"):
        headers = {**kwargs.get("headers", {}), "accept": accept}
        response = client.post("/chat", **{**kwargs, "headers": headers})
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    assert store.writes == 0


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        # an unknown field (a misspelt conversationId would silently start a new conversation)
        ("/chat", {"message": "hi", "conversationID": new_id()}, "conversationID"),
        ("/chat", {"message": "hi", "inferenceConfig": {"maxTokens": True}}, "inferenceConfig.maxTokens"),
        ("/chat", {"message": "hi", "inferenceConfig": {"maxTokens": "10"}}, "inferenceConfig.maxTokens"),
        ("/chat", {"message": "hi", "inferenceConfig": {"maxTokens": 10.5}}, "inferenceConfig.maxTokens"),
        (
            "/chat",
            {"message": "hi", "inferenceConfig": {"temperature": "0.5"}},
            "inferenceConfig.temperature",
        ),
        (
            "/chat",
            {"message": "hi", "inferenceConfig": {"temperature": False}},
            "inferenceConfig.temperature",
        ),
        ("/chat", {"message": "hi", "tools": "time"}, "tools"),
        # snake_case Python names are not a second spelling of the wire's camelCase names
        ("/chat", {"message": "hi", "conversation_id": new_id()}, "conversation_id"),
        ("/chat", {"message": "hi", "inferenceConfig": {"max_tokens": 4}}, "inferenceConfig.max_tokens"),
        ("/compare", {"message": "hi", "lanes": [{"model": MODEL_ID}, {"model": MODEL_ID}], "x": 1}, "x"),
        (
            "/compare",
            {"message": "hi", "lanes": [{"model": MODEL_ID, "temperature": 0}]},
            "lanes.0.temperature",
        ),
        (f"/prompts/{new_id()}", {"title": "t", "text": "x", "shared": True}, "shared"),
    ],
)
def test_unknown_fields_and_wrongly_typed_values_are_400s_naming_the_field(
    client: TestClient, store: FakeStore, path: str, body: dict, named: str
) -> None:
    # Given a body with a field the API does not have, or a value of the wrong JSON type
    response = client.request("PUT" if path.startswith("/prompts/") else "POST", path, json=body)
    # Then it is refused, naming the field, rather than ignored or coerced (true is not 1 token)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert named in response.json()["error"]["message"]
    assert store.writes == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": b"", "headers": {"content-type": "application/json"}}, "The request body is empty"),
        ({"json": ["message"]}, "The request body must be a JSON object"),
        ({"content": b"null", "headers": {"content-type": "application/json"}}, "must be a JSON object"),
        ({"json": {"message": "hi", "foo": 1}}, "foo: not a field of this request"),
    ],
)
def test_a_body_that_is_empty_or_not_an_object_is_told_so_plainly(
    client: TestClient, kwargs: dict, message: str
) -> None:
    response = client.post("/chat", **kwargs)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_a_whole_number_written_as_a_float_is_still_a_max_tokens(
    client: TestClient, store: FakeStore
) -> None:
    # JSON has one number type: 40.0 is the whole number 40 (only true, "40" and 40.5 are refused)
    response = client.post(
        "/chat", json={"message": "hi", "inferenceConfig": {"maxTokens": 40.0, "temperature": 0}}
    )
    assert response.status_code == 200, response.text
    conversation = client.get(f"/conversations/{response.json()['conversationId']}").json()
    assert conversation["messages"][-1]["content"] == response.json()["answer"]


def test_identity_comes_from_the_request_context_only(store: FakeStore) -> None:
    settings = Settings(table_name="unit-table", uploads_bucket="unit-bucket", default_model_id=MODEL_ID)
    app = create_app(settings, store=store, model=FakeModel(), model_directory=FakeDirectory())
    client = TestClient(app)

    assert client.post("/chat", json={"message": "hi", "userId": "alice"}).status_code == 401
    assert client.get("/health").json() == {"status": "ok"}

    def as_user(sub: str) -> dict[str, str]:
        return {
            "x-amzn-request-context": json.dumps(
                {"requestId": "req-1", "authorizer": {"claims": {"sub": sub}}}
            )
        }

    conv = client.post("/chat", json={"message": "hi"}, headers=as_user("alice")).json()["conversationId"]
    assert client.get(f"/conversations/{conv}", headers=as_user("bob")).status_code == 404
    assert client.get("/conversations", headers=as_user("bob")).json()["items"] == []
    assert store.calls[-1].request_id == "req-1"


def test_models_presets_and_bad_paths(client: TestClient) -> None:
    models = client.get("/models").json()
    assert models["defaultModel"] == MODEL_ID
    assert {m["id"] for m in models["models"]} == {MODEL_ID, "local.other"}
    presets = client.get("/presets").json()["presets"]
    assert [p["name"] for p in presets] == PRESET_NAMES
    assert client.get("/conversations/NOT-A-ULID").status_code == 400
    assert client.get("/conversations?limit=0").status_code == 400
    assert client.patch(f"/conversations/{new_id()}", json={"title": "x"}).status_code == 404
    assert client.patch(f"/conversations/{new_id()}", json={"owner": "x"}).status_code == 400
    assert client.delete(f"/conversations/{new_id()}").status_code == 404


def test_openapi_documents_routes_models_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in CHAT_API_PATHS:
        assert path in paths
    chat = paths["/chat"]["post"]
    assert chat["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ChatResponse")
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert chat["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )
    schemas = spec["components"]["schemas"]
    assert set(schemas["ChatResponse"]["properties"]) == CHAT_RESPONSE_FIELDS
    assert set(paths["/conversations/{conversation_id}"]) == {"get", "patch", "delete"}


def test_an_oversized_request_body_is_a_413_and_writes_nothing(client: TestClient) -> None:
    response = client.post("/chat", json={"message": "x" * 2_000_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert client.get("/conversations").json()["items"] == []


def test_a_trailing_slash_is_a_json_404_not_a_redirect_out_of_the_api_prefix(client: TestClient) -> None:
    # Starlette redirected /conversations/ to /conversations, dropping the page's /api prefix
    response = client.get("/conversations/", follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

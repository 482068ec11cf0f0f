"""The API contract: one OpenAPI document for both apps, the error codes docs/api.md lists, 405s
with Allow, unknown routes in the error shape, ill-formed identities and Unicode refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatbot_common.errors import Unauthenticated
from chatbot_common.http import HTTP_ERROR_CODES, OTHER_HTTP_ERROR_CODE
from chatbot_common.identity import identity_from_headers
from chatbot_common.keys import ID_PATTERN, new_id
from chatbot_common.openapi import load_document, render
from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from local_stack.openapi_document import build_document
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeModel, FakeStore

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def client(store: FakeStore, model: FakeModel) -> Iterator[TestClient]:
    settings = Settings(
        table_name="unit-table", uploads_bucket="unit-bucket", local_mode=True, default_model_id=MODEL_ID
    )
    app = create_app(settings, store=store, model=model, model_directory=FakeDirectory())
    with TestClient(app) as test_client:
        yield test_client


# -- OpenAPI -------------------------------------------------------------------------------------


def test_the_committed_openapi_document_is_what_both_apps_define() -> None:
    # `make openapi` rewrites it; this fails when a route changes without it.
    assert (REPO / "chatbot_common" / "openapi.json").read_text(encoding="utf-8") == render(build_document())


def test_the_document_covers_both_apps_with_ulid_patterns_and_real_statuses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec == load_document()
    paths = spec["paths"]
    assert {"/chat", "/conversations/{conversation_id}", "/uploads", "/uploads/{uploadId}"} <= set(paths)
    # Ids are documented with the rule the routes enforce (a 400 otherwise).
    id_params = [
        param
        for item in paths.values()
        for operation in item.values()
        for param in operation.get("parameters", [])
        if param["in"] == "path"
    ]
    assert id_params and all(p["schema"]["pattern"] == ID_PATTERN for p in id_params)
    assert all(p["schema"]["minLength"] == 26 for p in id_params)
    chat_request = spec["components"]["schemas"]["ChatRequest"]["properties"]
    assert chat_request["attachments"]["items"]["pattern"] == ID_PATTERN
    # Validation errors are 400s in the error shape: FastAPI's 422 HTTPValidationError is gone.
    assert "HTTPValidationError" not in json.dumps(spec)
    statuses = {
        (path, method): set(operation["responses"])
        for path, item in paths.items()
        for method, operation in item.items()
    }
    assert statuses[("/uploads", "post")] >= {"200", "400", "401", "413", "415", "429", "500", "502"}
    assert statuses[("/uploads/{uploadId}", "get")] >= {"400", "401", "404"}
    assert statuses[("/chat", "post")] >= {"400", "401", "404", "409", "413", "422", "429", "502"}
    # Everything but /health needs the Cognito identity.
    public = [(p, m) for p, item in paths.items() for m, op in item.items() if "security" not in op]
    assert public == [("/health", "get")]


def test_the_document_has_exactly_the_routes_api_gateway_serves() -> None:
    from cdk.constants import ROUTES

    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{id}", path))
        for path, item in load_document()["paths"].items()
        for method in item
    }
    served = {(method, re.sub(r"\{[^}]+\}", "{id}", path)) for method, path, _ in ROUTES}
    # The document does not list itself; API Gateway serves it (public, like /health).
    assert documented == served - {("GET", "/openapi.json")}


def test_docs_list_every_error_code_the_api_returns() -> None:
    codes: set[str] = set()
    for package in ("chatbot_common", "lambda_chat", "lambda_upload"):
        for source in (REPO / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            codes.update(re.findall(r'\bcode\s*=\s*"([a-z_]+)"', text))
    codes |= {*HTTP_ERROR_CODES.values(), OTHER_HTTP_ERROR_CODE}  # routing errors (chatbot_common.http)
    assert {"http_error", "method_not_allowed", "not_found", "conversation_deleted"} <= codes
    documented = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    missing = sorted(code for code in codes if f"`{code}`" not in documented)
    assert missing == []


# -- HTTP behaviour ------------------------------------------------------------------------------


def test_405_names_every_method_of_the_path_in_allow(client: TestClient) -> None:
    response = client.post(f"/conversations/{new_id()}", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    response = client.delete("/chat")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


def test_an_unknown_route_answers_the_json_error_shape(client: TestClient) -> None:
    response = client.get("/no-such-route")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "context",
    [
        {"authorizer": "sub=alice"},
        {"authorizer": ["alice"]},
        {"authorizer": {"claims": "sub=alice"}},
        {"authorizer": {"claims": ["alice"]}},
        {"authorizer": {"jwt": "token"}},
        {"authorizer": {"jwt": {"claims": ["x"]}}},
        {"authorizer": {"claims": {"sub": ["alice"]}}},
    ],
)
def test_an_authorizer_or_claims_that_is_not_an_object_is_401(context: dict, store: FakeStore) -> None:
    headers = {"x-amzn-request-context": json.dumps(context)}
    with pytest.raises(Unauthenticated):
        identity_from_headers(headers, local_mode=False, dev_user_id="dev")
    settings = Settings(table_name="unit-table", uploads_bucket="unit-bucket", default_model_id=MODEL_ID)
    app = create_app(settings, store=store, model=FakeModel(), model_directory=FakeDirectory())
    response = TestClient(app).post("/chat", json={"message": "hi"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


# -- ill-formed Unicode in typed input -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("message", b'{"message": "hello \\ud800 world"}'),
        ("message", b'{"message": "tail \\udfff"}'),
        ("system", b'{"message": "hello", "system": "be \\ud83d brief"}'),
    ],
)
def test_a_lone_surrogate_in_typed_input_is_400_before_any_model_call_or_write(
    client: TestClient, store: FakeStore, model: FakeModel, field: str, raw: bytes
) -> None:
    for accept in ("application/json", "text/event-stream"):
        response = client.post(
            "/chat", content=raw, headers={"content-type": "application/json", "accept": accept}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert field in error["message"] and "surrogate" in error["message"]
    assert model.requests == []
    assert store.writes == 0


def test_a_paired_surrogate_is_an_ordinary_character(client: TestClient) -> None:
    response = client.post(
        "/chat", content=b'{"message": "smile \\ud83d\\ude00"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["answer"] == "echo: smile \U0001f600"


def test_a_lone_surrogate_in_a_patched_title_or_system_is_400_and_changes_nothing(
    client: TestClient, store: FakeStore
) -> None:
    conversation_id = client.post("/chat", json={"message": "hi"}).json()["conversationId"]
    writes = store.writes
    for raw in (b'{"title": "bad \\ud800"}', b'{"system": "bad \\udc00"}'):
        response = client.patch(
            f"/conversations/{conversation_id}", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert "surrogate" in response.json()["error"]["message"]
    assert store.writes == writes
    assert client.get(f"/conversations/{conversation_id}").json()["title"] == "hi"

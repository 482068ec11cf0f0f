"""The local stack's front door: API Gateway path routing, the /api prefix, identity, config, static files."""

from __future__ import annotations

import json

import httpx
import pytest

from cdk.constants import ROUTES
from chatbot_common import keys
from chatbot_common.identity import REQUEST_CONTEXT_HEADER
from local_stack.runner import LocalStack

SOME_ID = "01aaaaaaaaaaaaaaaaaaaaaaaa"
FORGED_CONTEXT = json.dumps({"requestId": "r1", "authorizer": {"claims": {"sub": "mallory", "email": "m@x"}}})


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_chat_answers_json_at_the_stage_root_and_under_api(http: httpx.Client, prefix: str) -> None:
    response = http.post(f"{prefix}/chat", json={"message": "hello router"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == "echo: hello router"
    assert body["model"] == "local.scripted"
    conversation = http.get(f"{prefix}/conversations/{body['conversationId']}").json()
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]


def test_chat_streams_server_sent_events_under_api(http: httpx.Client) -> None:
    with http.stream(
        "POST", "/api/chat", json={"message": "stream me"}, headers={"Accept": "text/event-stream"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    events = sse_events(text)
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["usage", "done"]
    assert "".join(str(data["text"]) for name, data in events if name == "delta") == "echo: stream me"


@pytest.mark.parametrize(("method", "path", "function"), ROUTES)
@pytest.mark.parametrize("prefix", ["", "/api"])
def test_every_api_gateway_route_reaches_an_app_that_serves_it(
    http: httpx.Client, method: str, path: str, function: str, prefix: str
) -> None:
    # Given the route table the CDK stack gives API Gateway
    url = prefix + path.replace("{id}", SOME_ID).replace("{uploadId}", SOME_ID)
    # When the route is called (with a body that may well be invalid)
    response = http.request(method, url, json={} if method in ("POST", "PATCH") else None)
    # Then an app that has this route answered: not a routing 404/405 from the wrong app or the dispatcher
    assert response.status_code != 405, response.text
    if response.status_code == 404:
        assert response.json()["error"]["message"] not in ("Not Found", "No such API route"), (function, url)


def test_unknown_api_route_is_a_json_404(http: httpx.Client) -> None:
    response = http.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/openapi.json", "/api/openapi.json"])
def test_one_openapi_document_for_the_whole_api(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/chat" in paths and "/uploads" in paths and "/conversations/{conversation_id}" in paths


def test_unknown_routes_outside_api_answer_the_json_error_shape(http: httpx.Client) -> None:
    response = http.get("/no-such-route")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = http.post("/index.html", json={})
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_a_405_carries_allow(http: httpx.Client, prefix: str) -> None:
    response = http.delete(f"{prefix}/chat")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


def test_uploads_go_to_the_upload_app_not_the_chat_app(http: httpx.Client) -> None:
    # The upload app has POST /uploads, so another method is 405 there; the chat app would say 404.
    for url in ("/uploads", "/api/uploads"):
        assert http.delete(url).status_code == 405


class TestIdentity:
    def test_a_forged_request_context_cannot_impersonate_another_user(
        self, http: httpx.Client, stack: LocalStack
    ) -> None:
        # Given a client that sends API Gateway's context header claiming to be "mallory"
        forged = {REQUEST_CONTEXT_HEADER: FORGED_CONTEXT}
        # When it chats and lists conversations
        created = http.post("/api/chat", json={"message": "who am i"}, headers=forged).json()
        listed = http.get("/api/conversations", params={"limit": 100}, headers=forged).json()
        # Then the header was dropped: everything happened as the local development identity
        assert created["conversationId"] in [c["id"] for c in listed["items"]]
        assert stack.settings is not None
        dynamodb = stack.moto.client("dynamodb") if stack.moto else None
        assert dynamodb is not None
        owner = dynamodb.get_item(
            TableName=stack.table_name,
            Key={
                "pk": {"S": keys.user_pk(stack.settings.dev_user_id)},
                "sk": {"S": keys.conversation_sk(created["conversationId"])},
            },
        )
        assert "Item" in owner
        mallory = dynamodb.query(
            TableName=stack.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.user_pk("mallory")}},
        )
        assert mallory["Items"] == []

    def test_the_header_is_dropped_whatever_its_case(self, stack: LocalStack) -> None:
        # A forged context with an invalid subject would be a 401 if it reached the app.
        bad = json.dumps({"authorizer": {"claims": {"sub": "../../etc"}}})
        for name in ("X-Amzn-Request-Context", "x-amzn-request-context", "X-AMZN-REQUEST-CONTEXT"):
            response = httpx.get(stack.url + "/api/conversations", headers={name: bad})
            assert response.status_code == 200, (name, response.text)


def test_runtime_config_is_generated_for_local_mode(http: httpx.Client) -> None:
    response = http.get("/config.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"apiBase": "/api", "localMode": True, "auth": None}


def test_web_client_index_is_served_at_the_root(http: httpx.Client, stack: LocalStack) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    served_from = next(d for d in stack.web_dirs if (d / "index.html").is_file())
    assert response.text == (served_from / "index.html").read_text()
    assert http.get("/no-such-file.js").status_code == 404


def test_uploads_bucket_allows_the_app_origin_for_browser_posts(stack: LocalStack) -> None:
    # The browser posts the file straight to the bucket (presigned POST), cross-origin locally.
    assert stack.moto_url is not None
    response = httpx.options(
        f"{stack.moto_url}/{stack.uploads_bucket}",
        headers={"Origin": stack.url, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == stack.url


def test_presigned_upload_round_trip_through_the_stack(http: httpx.Client) -> None:
    # Given an upload reserved through the API
    content = b"Quarterly notes: revenue up, costs down.\n" * 20
    reserved = http.post(
        "/api/uploads",
        json={
            "filename": "notes.txt",
            "contentType": "text/plain",
            "size": len(content),
            "purpose": "document",
        },
    )
    assert reserved.status_code == 200, reserved.text
    ticket = reserved.json()
    # When the browser posts the file to the presigned URL (moto's S3)
    posted = httpx.post(
        ticket["url"], data=ticket["fields"], files={"file": ("notes.txt", content, "text/plain")}
    )
    assert posted.status_code in (200, 201, 204), posted.text
    # Then the upload service sees it as ready
    status = http.get(f"/api/uploads/{ticket['uploadId']}").json()
    assert status["status"] == "ready", status

"""Regenerate, edit, feedback (with `chatbot logs --feedback`) and search on the real store (moto
server) through the running chat app and the local Bedrock runtime."""

from __future__ import annotations

import io
import json

import boto3
import httpx

from cli.main import main as cli_main
from lambda_chat.adapters.feedback_log import query_feedback
from tests.integration.chat.conftest import TABLE, ChatStack


def test_regenerate_edit_and_feedback_on_dynamodb(
    api: httpx.Client, chat_stack: ChatStack, user: str
) -> None:
    first = api.post("/chat", json={"message": "first question"}).json()
    conv, answer = first["conversationId"], first["messageId"]
    again = api.post("/chat", json={"conversationId": conv, "regenerate": answer})
    assert again.status_code == 200, again.text
    twice = api.post("/chat", json={"conversationId": conv, "regenerate": answer})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "message_superseded")
    detail = api.get(f"/conversations/{conv}").json()
    assert [m["id"] for m in detail["messages"]] == [detail["messages"][0]["id"], again.json()["messageId"]]
    assert [v["id"] for v in detail["messages"][1]["versions"]] == [answer]

    question = detail["messages"][0]["id"]
    edited = api.post(
        "/chat", json={"conversationId": conv, "editOf": question, "message": "better question"}
    )
    assert edited.status_code == 200, edited.text
    now = api.get(f"/conversations/{conv}").json()["messages"]
    assert now[0]["content"] == "better question"
    assert len(now) == 2
    every = api.get(f"/conversations/{conv}", params={"includeSuperseded": "true"}).json()["messages"]
    assert len(every) == 5

    newest = now[1]["id"]
    rated = api.put(
        f"/conversations/{conv}/messages/{newest}/feedback", json={"rating": "down", "reason": "too short"}
    )
    assert rated.status_code == 200, rated.text
    assert api.get(f"/conversations/{conv}").json()["messages"][1]["feedback"]["reason"] == "too short"
    client = boto3.client("dynamodb", region_name="us-east-1")
    mine = query_feedback(client, TABLE, user_id=user)
    assert [(r["messageId"], r["rating"]) for r in mine] == [(newest, "down")]
    assert newest in {r["messageId"] for r in query_feedback(client, TABLE, rating="down", limit=500)}
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(
        ["logs", "--feedback", "--user", user, "--table", TABLE, "--json"], stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())[0]["reason"] == "too short"
    assert api.delete(f"/conversations/{conv}/messages/{newest}/feedback").status_code == 200
    assert query_feedback(client, TABLE, user_id=user) == []

    hits = api.get("/search", params={"q": "BETTER question"}).json()["items"]
    assert {h["conversationId"] for h in hits} == {conv}


def test_saved_prompts_on_dynamodb(api: httpx.Client, chat_stack: ChatStack) -> None:
    from chatbot_common.keys import new_id

    first, second = new_id(), new_id()
    assert (
        api.put(f"/prompts/{first}", json={"title": "Translator", "text": "Translate to Korean."}).status_code
        == 201
    )
    assert (
        api.put(f"/prompts/{first}", json={"title": "Translator", "text": "Translate to Korean."}).status_code
        == 200
    )
    assert (
        api.put(f"/prompts/{second}", json={"title": "Editor", "text": "Fix my grammar."}).status_code == 201
    )
    assert [p["promptId"] for p in api.get("/prompts").json()["items"]] == [second, first]
    assert api.delete(f"/prompts/{first}").status_code == 204
    assert api.get(f"/prompts/{first}").status_code == 404
    assert [p["title"] for p in api.get("/prompts").json()["items"]] == ["Editor"]

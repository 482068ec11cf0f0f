"""Inference settings, comparison and cost through the local stack: the real app, DynamoDB (moto)
and the local Bedrock runtime serving two scripted models, with per-model fault injection.
Settings are checked on the requests the runtime received; costs on the turn, the stored
message, the call log and `chatbot logs --costs`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.main import main
from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.runner import LocalStack
from tests.sse_frames import sse_frames

A = "local.scripted"
B = "local.scripted-b"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    engines = [ScriptedEngine(), ScriptedEngine(model_id=B)]
    with LocalStack(
        port=0, state_dir=tmp_path_factory.mktemp("compare"), engines=engines, persist=False
    ) as running:
        yield running


@pytest.fixture
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    assert stack.runtime is not None
    stack.runtime.faults.clear()
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield client
    stack.runtime.faults.clear()


def sse(api: httpx.Client, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    response = api.post("/compare", json=body, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200, response.text
    return sse_frames(response.text)


def received(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.runtime is not None
    return list(stack.runtime.requests)


def test_models_lists_every_served_model(api: httpx.Client) -> None:
    ids = [model["id"] for model in api.get("/models").json()["models"]]
    assert A in ids and B in ids


def test_settings_are_persisted_layered_and_sent_as_the_converse_inference_config(
    api: httpx.Client, stack: LocalStack
) -> None:
    turn = api.post(
        "/chat", json={"message": "one", "model": A, "inferenceConfig": {"temperature": 0.2, "maxTokens": 40}}
    )
    assert turn.status_code == 200, turn.text
    assert received(stack)[-1]["inferenceConfig"] == {"temperature": 0.2, "maxTokens": 40}
    assert turn.json()["costUsd"] == 0
    cid = turn.json()["conversationId"]
    patched = api.patch(
        f"/conversations/{cid}", json={"inferenceConfig": {"temperature": 0.7, "stopSequences": ["END"]}}
    )
    assert patched.status_code == 200, patched.text
    assert api.get(f"/conversations/{cid}").json()["inferenceConfig"] == {
        "temperature": 0.7,
        "stopSequences": ["END"],
    }
    api.post("/chat", json={"message": "two", "conversationId": cid, "inferenceConfig": {"maxTokens": 30}})
    assert received(stack)[-1]["inferenceConfig"] == {
        "maxTokens": 30,
        "temperature": 0.7,
        "stopSequences": ["END"],
    }
    refused = api.post(
        "/chat", json={"message": "x", "conversationId": cid, "inferenceConfig": {"temperature": 1.5}}
    )
    assert refused.status_code == 400 and "inferenceConfig.temperature" in refused.text
    # The stored answer carries its cost and settings
    answer = api.get(f"/conversations/{cid}").json()["messages"][-1]
    assert answer["costUsd"] == 0 and answer["inferenceConfig"]["maxTokens"] == 30


def test_two_models_one_throttled_in_json_and_sse(api: httpx.Client, stack: LocalStack) -> None:
    assert stack.runtime is not None
    lanes = [{"model": A}, {"model": B}]
    # Lane B's model is throttled on every attempt (botocore's and the app's retries), A answers
    stack.runtime.faults.throttle(50, model_id=B)
    body = api.post("/compare", json={"message": "hello lanes", "lanes": lanes}).json()
    first, second = body["answers"]
    assert (first["status"], first["answer"]) == ("complete", "echo: hello lanes")
    assert (second["status"], second["error"]["code"]) == ("throttled", "throttled")
    events = sse(api, {"message": "again", "lanes": lanes})
    named = [(name, data.get("lane")) for name, data in events if name != "ping"]
    assert named[0] == ("meta", None) and named[-1] == ("done", None)
    assert ("delta", 0) in named and ("done", 0) in named and ("error", 1) in named
    assert [lane["status"] for lane in events[-1][1]["lanes"]] == ["complete", "throttled"]


def test_one_model_at_two_temperatures_then_a_follow_up_and_continue(
    api: httpx.Client, stack: LocalStack
) -> None:
    lanes = [
        {"model": A, "inferenceConfig": {"temperature": 0.2}},
        {"model": A, "inferenceConfig": {"temperature": 1.0}},
    ]
    before = len(received(stack))
    first = api.post("/compare", json={"message": "first", "lanes": lanes}).json()
    temperatures = sorted(r["inferenceConfig"]["temperature"] for r in received(stack)[before:])
    assert temperatures == [0.2, 1.0]
    assert all(answer["answer"] == "echo: first" for answer in first["answers"])
    comparison_id = first["comparisonId"]
    # A follow-up continues every lane with its own history
    before = len(received(stack))
    follow = api.post("/compare", json={"message": "second", "comparisonId": comparison_id})
    assert follow.status_code == 200, follow.text
    for request in received(stack)[before:]:
        texts = [
            block["text"]
            for message in request["messages"]
            for block in message["content"]
            if "text" in block
        ]
        assert texts == ["first", "echo: first", "second"]
    detail = api.get(f"/comparisons/{comparison_id}").json()
    assert [len(lane["messages"]) for lane in detail["lanes"]] == [4, 4]
    assert comparison_id in [item["id"] for item in api.get("/comparisons").json()["items"]]
    # Continue with lane 1's answer: an ordinary conversation with that lane's history and settings
    conversation = api.post(f"/comparisons/{comparison_id}/continue", json={"lane": 1}).json()
    assert conversation["inferenceConfig"] == {"temperature": 1.0}
    assert conversation["id"] in [c["id"] for c in api.get("/conversations").json()["items"]]
    turn = api.post("/chat", json={"message": "third", "conversationId": conversation["id"]}).json()
    assert turn["answer"] == "echo: third" and received(stack)[-1]["inferenceConfig"]["temperature"] == 1.0
    assert len(received(stack)[-1]["messages"]) == 5
    assert api.post("/compare", json={"message": "more", "comparisonId": comparison_id}).status_code == 409


def test_a_comparison_id_the_caller_does_not_own_is_not_found(api: httpx.Client) -> None:
    # (Another user's comparison: tests/unit/chat/test_compare_api.py, two identities on one store.
    # Reads are keyed by the caller's USER#<id> partition, so any id not in it is simply absent.)
    lanes = [{"model": A}, {"model": B}]
    comparison_id = api.post("/compare", json={"message": "mine", "lanes": lanes}).json()["comparisonId"]
    other = comparison_id[:-1] + ("0" if comparison_id[-1] != "0" else "1")
    assert api.get(f"/comparisons/{other}").status_code == 404
    assert api.post("/compare", json={"message": "x", "comparisonId": other}).status_code == 404


def test_cli_compare_streams_labelled_lanes_and_logs_sum_costs(stack: LocalStack, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--api-url", stack.url, "compare", "-m", A, "-t", "0.2", "-t", "0.9", "rain"], stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    text = out.getvalue()
    # Each lane's text, joined from its labelled lines (lanes interleave line by line as they stream)
    lanes: dict[str, str] = {}
    for line in text.splitlines():
        label, _, said = line.partition("] ")
        lanes[label + "]"] = lanes.get(label + "]", "") + said
    assert set(lanes) == {f"[0 {A} t=0.2]", f"[1 {A} t=0.9]"}
    assert all(" ".join(said.split()) == "echo: rain" for said in lanes.values()), lanes
    assert err.getvalue().count("$0") >= 2
    assert stack.moto_url is not None
    args = ["logs", "--endpoint-url", stack.moto_url, "--table", stack.table_name, "--since", "1h"]
    out = io.StringIO()
    assert main([*args, "--json", "--limit", "500"], stdout=out, stderr=io.StringIO()) == 0
    calls = json.loads(out.getvalue())
    assert calls and all("costUsd" in call and "cacheReadInputTokens" in call for call in calls)
    out = io.StringIO()
    assert main([*args, "--costs", "--json", "--limit", "500"], stdout=out, stderr=io.StringIO()) == 0
    rows = json.loads(out.getvalue())
    by_model = {row["model"]: row for row in rows}
    assert {A, B} <= set(by_model) and Decimal(by_model[A]["costUsd"]) == 0 and by_model[A]["calls"] >= 2
    out = io.StringIO()
    assert main([*args, "--costs", "--limit", "500"], stdout=out, stderr=io.StringIO()) == 0
    assert "COST" in out.getvalue() and A in out.getvalue()


def test_a_lane_stop_request_is_stored_and_read_back(api: httpx.Client, stack: LocalStack) -> None:
    from lambda_chat.adapters.conversation_store import ConversationStore

    comparison_id = api.post("/compare", json={"message": "s", "lanes": [{"model": A}, {"model": B}]}).json()[
        "comparisonId"
    ]
    assert api.post(f"/comparisons/{comparison_id}/stop", json={"lane": 1}).status_code == 202
    assert api.post(f"/comparisons/{comparison_id}/stop", json={"lane": 0}).status_code == 202
    assert stack.clients is not None
    store = ConversationStore(stack.clients.dynamodb, stack.table_name)
    assert store.stopped_lanes("local-dev-user", comparison_id) == {0, 1}


def test_deleting_a_comparison_removes_its_items_from_dynamodb(api: httpx.Client, stack: LocalStack) -> None:
    from lambda_chat.adapters.conversation_store import ConversationStore

    # Given a comparison with a stop request stored
    answered = api.post("/compare", json={"message": "d", "lanes": [{"model": A}, {"model": B}]}).json()
    comparison_id = answered["comparisonId"]
    assert api.post(f"/comparisons/{comparison_id}/stop", json={"lane": 0}).status_code == 202
    # When it is deleted (a lane's conversation alone is refused)
    lane = answered["answers"][0]["conversationId"]
    assert api.delete(f"/conversations/{lane}").status_code == 409
    assert api.delete(f"/comparisons/{comparison_id}").status_code == 204
    # Then no item of it is left: comparison, stop requests, lane conversations and messages
    # (the call log keeps its records, as for a deleted conversation: it is the audit trail)
    assert stack.clients is not None
    store = ConversationStore(stack.clients.dynamodb, stack.table_name)
    assert store.stopped_lanes("local-dev-user", comparison_id) == set()
    items = stack.clients.dynamodb.scan(TableName=stack.table_name)["Items"]
    mentioned = [
        item["sk"]["S"]
        for item in items
        if (comparison_id in str(item) or lane in str(item)) and not item["sk"]["S"].startswith("CALL#")
    ]
    assert mentioned == []

"""POST /compare and the stored comparisons over the HTTP layer (in-memory fakes, no sockets):
two lanes in JSON and SSE with one lane throttled, bad comparisons refused before any model call,
follow-ups that continue every lane with its own history, continue-with-this-answer, owner
scoping, and inference settings / cost on ordinary turns."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chatbot_common.errors import Throttled
from chatbot_common.settings import Settings
from lambda_chat.app import create_app
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatConfig, ChatService
from lambda_chat.domain.compare import LaneInput
from lambda_chat.domain.comparisons import CompareInput, ComparisonService
from lambda_chat.domain.events import StreamEvent
from lambda_chat.domain.ports import ModelChunk, ModelRequest
from lambda_chat.domain.retry import RetryPolicy
from lambda_chat.tools.model_stream import InputTooLong
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeStore
from tests.sse_frames import sse_frames

OTHER = "local.other"
PRICED = "us.amazon.nova-lite-v1:0"


@dataclass
class LaneModel:
    """Answers "<model> t=<temperature>: <question>" and "history N" (messages it was sent);
    `throttled` model ids raise Throttled on every attempt; `windows` model ids refuse more
    messages than their value as Bedrock refuses an input longer than the context window."""

    throttled: set[str] = field(default_factory=set)
    windows: dict[str, int] = field(default_factory=dict)
    requests: list[ModelRequest] = field(default_factory=list)

    def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        self.requests.append(request)
        if request.model_id in self.throttled:
            raise Throttled("slow down")
        if len(request.messages) > self.windows.get(request.model_id, len(request.messages)):
            raise InputTooLong("The model rejected the request: Input is too long for requested model.")
        question = request.messages[-1].content[-1]["text"]
        temperature = (request.inference_config or {}).get("temperature")
        yield ModelChunk(text=f"{request.model_id} t={temperature}: {question}")
        yield ModelChunk(text=f" (history {len(request.messages)})")
        yield ModelChunk(input_tokens=1000, output_tokens=2000)
        yield ModelChunk(stop_reason="end_turn")


@pytest.fixture
def model() -> LaneModel:
    return LaneModel()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def _client(store: FakeStore, model: LaneModel, user: str = "local-dev-user") -> TestClient:
    settings = Settings(
        table_name="unit-table",
        uploads_bucket="unit-bucket",
        local_mode=True,
        dev_user_id=user,
        default_model_id=MODEL_ID,
    )
    app = create_app(
        settings,
        store=store,
        model=model,
        model_directory=FakeDirectory((MODEL_ID, OTHER, PRICED)),
        retry_policy=RetryPolicy(max_attempts=2, sleep=lambda _: None),
    )
    return TestClient(app)


@pytest.fixture
def client(store: FakeStore, model: LaneModel) -> Iterator[TestClient]:
    with _client(store, model) as test_client:
        yield test_client


def sse(client: TestClient, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    response = client.post("/compare", json=body, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200, response.text
    return sse_frames(response.text)


TWO_TEMPERATURES = [
    {"model": MODEL_ID, "inferenceConfig": {"temperature": 0.2, "maxTokens": 48}},
    {"model": MODEL_ID, "inferenceConfig": {"temperature": 1.0, "maxTokens": 48}},
]


def test_one_model_at_two_temperatures_answers_on_both_lanes_in_json(
    client: TestClient, model: LaneModel
) -> None:
    response = client.post("/compare", json={"message": "Rain?", "lanes": TWO_TEMPERATURES})
    assert response.status_code == 200, response.text
    body = response.json()
    answers = body["answers"]
    assert [a["answer"] for a in answers] == [
        f"{MODEL_ID} t=0.2: Rain? (history 1)",
        f"{MODEL_ID} t=1.0: Rain? (history 1)",
    ]
    assert [a["inferenceConfig"] for a in answers] == [lane["inferenceConfig"] for lane in TWO_TEMPERATURES]
    # Each lane's settings reached its model as the Converse inferenceConfig
    sent = sorted(request.inference_config["temperature"] for request in model.requests)  # type: ignore[index]
    assert sent == [0.2, 1.0] and all(r.inference_config["maxTokens"] == 48 for r in model.requests)  # type: ignore[index]
    # Local models cost nothing; every lane says so
    assert [a["costUsd"] for a in answers] == [0, 0] and body["costUsd"] == 0
    assert all(a["status"] == "complete" and a["stopReason"] == "end_turn" for a in answers)
    assert body["comparisonId"] and len({a["conversationId"] for a in answers}) == 2


def test_two_models_with_one_throttled_in_json_and_sse(store: FakeStore, model: LaneModel) -> None:
    # Given lane 1's model throttled on every attempt
    model.throttled.add(OTHER)
    lanes = [{"model": PRICED}, {"model": OTHER}]
    with _client(store, model) as client:
        # When compared as JSON: lane 0 answers, lane 1 reports throttling; the request succeeds
        body = client.post("/compare", json={"message": "hi", "lanes": lanes}).json()
        first, second = body["answers"]
        assert first["status"] == "complete" and first["answer"].startswith(PRICED)
        # Priced at the model table's row: 1,000 input and 2,000 output tokens of Nova Lite
        assert first["costUsd"] == pytest.approx(0.00006 + 0.00048)
        assert second["status"] == "throttled" and second["answer"] == ""
        assert second["error"]["code"] == "throttled"
        # And as SSE: lane 0's deltas, usage and done; lane 1's error; a final done
        events = sse(client, {"message": "again", "lanes": lanes})
    names = [(name, data.get("lane")) for name, data in events if name != "ping"]
    assert names[0] == ("meta", None) and names[-1] == ("done", None)
    assert ("delta", 0) in names and ("usage", 0) in names and ("done", 0) in names
    assert ("error", 1) in names and ("delta", 1) not in names
    usage = next(data for name, data in events if name == "usage" and data["lane"] == 0)
    assert usage["costUsd"] == pytest.approx(0.00054) and usage["inputTokens"] == 1000
    # Only the answered lane stored messages; both lanes have call records with their cost
    assert {(c.model, c.status) for c in store.calls} >= {(PRICED, "complete"), (OTHER, "throttled")}
    assert all(c.kind == "compare" for c in store.calls)


@pytest.mark.parametrize(
    ("lanes", "field"),
    [
        (TWO_TEMPERATURES[:1], "lanes"),
        ((TWO_TEMPERATURES * 3)[:5], "lanes"),
        ([TWO_TEMPERATURES[0], {"model": "no.such-model-v9"}], "lanes[1].model"),
        ([TWO_TEMPERATURES[0], TWO_TEMPERATURES[0]], "lanes[1]"),
        (
            [TWO_TEMPERATURES[0], {"model": MODEL_ID, "inferenceConfig": {"temperature": 3}}],
            "lanes[1].inferenceConfig.temperature",
        ),
    ],
)
def test_bad_comparisons_are_refused_before_any_model_call(
    client: TestClient, model: LaneModel, lanes: list[dict[str, Any]], field: str
) -> None:
    response = client.post("/compare", json={"message": "x", "lanes": lanes})
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["message"]
    assert model.requests == []


def test_a_follow_up_continues_every_lane_with_its_own_history(client: TestClient, model: LaneModel) -> None:
    first = client.post("/compare", json={"message": "one", "lanes": TWO_TEMPERATURES}).json()
    model.requests.clear()
    # When following up with only the comparison id
    again = client.post("/compare", json={"message": "two", "comparisonId": first["comparisonId"]})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["comparisonId"] == first["comparisonId"]
    # Then every lane saw its own earlier answer (3 messages: question, its answer, the new question)
    for request in model.requests:
        temperature = request.inference_config["temperature"]  # type: ignore[index]
        earlier = request.messages[1].content[0]["text"]
        assert len(request.messages) == 3 and earlier.startswith(f"{MODEL_ID} t={temperature}: one")
    # And reopening the comparison shows both turns per lane, in order
    detail = client.get(f"/comparisons/{first['comparisonId']}").json()
    assert [len(lane["messages"]) for lane in detail["lanes"]] == [4, 4]
    assert [m["content"] for m in detail["lanes"][0]["messages"]][::2] == ["one", "two"]
    assert detail["lanes"][1]["messages"][1]["costUsd"] == 0
    # And it is listed; its lanes are not listed as conversations
    assert [c["id"] for c in client.get("/comparisons").json()["items"]] == [first["comparisonId"]]
    assert client.get("/conversations").json()["items"] == []


def test_a_lane_whose_history_outgrows_its_models_window_answers_from_its_recent_turns(
    client: TestClient, model: LaneModel
) -> None:
    # Given a comparison whose second model reads at most three messages at once
    model.windows[OTHER] = 3
    lanes = [{"model": MODEL_ID}, {"model": OTHER}]
    first = client.post("/compare", json={"message": "one", "lanes": lanes}).json()
    client.post("/compare", json={"message": "two", "comparisonId": first["comparisonId"]})
    # When a third question would send it five (and a fourth, streamed)
    third = client.post("/compare", json={"message": "three", "comparisonId": first["comparisonId"]})
    events = sse(client, {"message": "four", "comparisonId": first["comparisonId"]})
    # Then that lane answers from its newest turn, the other from its whole history
    assert third.status_code == 200, third.text
    answers = {lane["model"]: lane["answer"] for lane in third.json()["answers"]}
    assert answers[OTHER].endswith("three (history 3)") and answers[MODEL_ID].endswith("three (history 5)")
    # And the stream tells which lane left messages out, once
    notices = [data for name, data in events if name == "notice"]
    assert [(n["lane"], n["code"]) for n in notices] == [(1, "history_shortened")]
    # And both lanes keep every message
    detail = client.get(f"/comparisons/{first['comparisonId']}").json()
    assert [len(lane["messages"]) for lane in detail["lanes"]] == [8, 8]


def test_a_chat_turn_cannot_continue_one_lane_of_a_comparison(client: TestClient) -> None:
    # Given a comparison; When /chat is sent to one lane's conversation
    first = client.post("/compare", json={"message": "one", "lanes": TWO_TEMPERATURES}).json()
    lane = first["answers"][0]["conversationId"]
    refused = client.post("/chat", json={"message": "two", "conversationId": lane})
    # Then it is refused, naming the comparison to continue, and the lanes still hold the same thread
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert first["comparisonId"] in refused.json()["error"]["message"]
    detail = client.get(f"/comparisons/{first['comparisonId']}").json()
    assert [len(lane["messages"]) for lane in detail["lanes"]] == [2, 2]


def test_continue_with_this_answer_makes_the_lane_an_ordinary_conversation(client: TestClient) -> None:
    first = client.post("/compare", json={"message": "one", "lanes": TWO_TEMPERATURES}).json()
    comparison_id = first["comparisonId"]
    response = client.post(f"/comparisons/{comparison_id}/continue", json={"lane": 1})
    assert response.status_code == 200, response.text
    conversation = response.json()
    assert conversation["id"] == first["answers"][1]["conversationId"]
    assert conversation["inferenceConfig"] == TWO_TEMPERATURES[1]["inferenceConfig"]
    # It is listed, and a chat turn follows its history with its settings
    assert [c["id"] for c in client.get("/conversations").json()["items"]] == [conversation["id"]]
    turn = client.post("/chat", json={"message": "three", "conversationId": conversation["id"]}).json()
    assert turn["answer"] == f"{MODEL_ID} t=1.0: three (history 3)"
    # The comparison says where it went, and takes no more follow-ups
    assert client.get(f"/comparisons/{comparison_id}").json()["continuedAs"] == conversation["id"]
    refused = client.post("/compare", json={"message": "four", "comparisonId": comparison_id})
    assert refused.status_code == 409


def test_another_users_comparison_is_not_found(store: FakeStore, model: LaneModel) -> None:
    with _client(store, model, user="alice") as alice:
        comparison_id = alice.post("/compare", json={"message": "one", "lanes": TWO_TEMPERATURES}).json()[
            "comparisonId"
        ]
    with _client(store, model, user="bob") as bob:
        assert bob.get(f"/comparisons/{comparison_id}").status_code == 404
        follow_up = bob.post("/compare", json={"message": "two", "comparisonId": comparison_id})
        assert follow_up.status_code == 404
        assert bob.post(f"/comparisons/{comparison_id}/continue", json={"lane": 0}).status_code == 404
        assert bob.get("/comparisons").json()["items"] == []


def test_conversation_settings_are_stored_shown_layered_and_sent(
    client: TestClient, model: LaneModel
) -> None:
    turn = client.post(
        "/chat", json={"message": "hi", "inferenceConfig": {"temperature": 0.2, "maxTokens": 40}}
    )
    assert turn.status_code == 200 and turn.json()["costUsd"] == 0
    assert model.requests[-1].inference_config == {"temperature": 0.2, "maxTokens": 40}
    cid = turn.json()["conversationId"]
    # The conversation that turn created keeps them (as it keeps its system prompt): the next
    # turn, which names none, is sent them too (the page's new-chat settings were lost here)
    assert client.get(f"/conversations/{cid}").json()["inferenceConfig"] == {
        "temperature": 0.2,
        "maxTokens": 40,
    }
    client.post("/chat", json={"message": "and then?", "conversationId": cid})
    assert model.requests[-1].inference_config == {"temperature": 0.2, "maxTokens": 40}
    patched = client.patch(
        f"/conversations/{cid}", json={"inferenceConfig": {"temperature": 0.7, "topP": 0.9}}
    )
    assert patched.status_code == 200 and patched.json()["inferenceConfig"] == {
        "temperature": 0.7,
        "topP": 0.9,
    }
    shown = client.get(f"/conversations/{cid}").json()
    assert shown["inferenceConfig"] == {"temperature": 0.7, "topP": 0.9}
    assert shown["messages"][1]["inferenceConfig"] == {"temperature": 0.2, "maxTokens": 40}
    # A turn's own setting lies over the conversation's
    client.post(
        "/chat", json={"message": "again", "conversationId": cid, "inferenceConfig": {"temperature": 0.1}}
    )
    assert model.requests[-1].inference_config == {"temperature": 0.1, "topP": 0.9, "maxTokens": 1024}
    # Out of range: 400 naming the field and the allowed range, nothing stored or sent
    sent = len(model.requests)
    bad = client.patch(f"/conversations/{cid}", json={"inferenceConfig": {"topP": 1.5}})
    assert bad.status_code == 400 and "inferenceConfig.topP" in bad.text and "0 to 1" in bad.text
    bad_turn = client.post("/chat", json={"message": "x", "inferenceConfig": {"temperature": 5}})
    assert bad_turn.status_code == 400 and bad_turn.json()["error"]["code"] == "invalid_inference_config"
    assert len(model.requests) == sent
    # {} clears them
    cleared = client.patch(f"/conversations/{cid}", json={"inferenceConfig": {}})
    assert cleared.json()["inferenceConfig"] is None


def test_a_priced_turn_costs_its_tokens_on_the_turn_message_and_call_record(
    client: TestClient, store: FakeStore
) -> None:
    body = client.post("/chat", json={"message": "hi", "model": PRICED}).json()
    # Nova Lite: $0.00006 / 1K input, $0.00024 / 1K output
    assert body["costUsd"] == pytest.approx(0.00054)
    answer = client.get(f"/conversations/{body['conversationId']}").json()["messages"][1]
    assert answer["costUsd"] == pytest.approx(0.00054)
    assert str(store.calls[-1].cost_usd) == "0.00054"


def test_stopping_one_lane_ends_it_with_its_partial_answer_while_the_other_completes() -> None:
    store = FakeStore()
    started: dict[str, str] = {}
    known = threading.Event()

    class Model:
        """Lane at temperature 1.0 streams 200 words; the user asks to stop it after the second."""

        def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
            long = (request.inference_config or {}).get("temperature") == 1.0
            for index in range(200 if long else 3):
                if long and index == 2:
                    assert known.wait(5)  # the comparison id arrives with `meta`
                    store.request_lane_stop("alice", started["id"], 1)
                yield ModelChunk(text=f"w{index} ")
            yield ModelChunk(input_tokens=5, output_tokens=3, stop_reason="end_turn")

    events = _two_temperatures_compared(store, Model(), started, known)
    done = {e.data["lane"]: e.data for e in events if e.name == "done" and "lane" in e.data}
    assert done[0]["stopReason"] == "end_turn" and done[1]["stopReason"] == "stopped"
    final = events[-1].data
    assert [lane["status"] for lane in final["lanes"]] == ["complete", "stopped"]
    stopped_text = "".join(e.data["text"] for e in events if e.name == "delta" and e.data["lane"] == 1)
    assert stopped_text.startswith("w0 w1 ") and len(stopped_text.split()) < 10
    conversation_id = store.comparisons[("alice", started["id"])].lanes[1].conversation_id
    answer = store.all_messages("alice", conversation_id)[-1]
    assert (answer.status, answer.content) == ("stopped", stopped_text)
    # And its tokens are estimates of what was sent and said, never 0 (as a stopped chat answer's)
    assert answer.usage is not None and answer.usage.estimated
    assert answer.usage.output_tokens > 0 and answer.usage.input_tokens > 0
    usage = next(e.data for e in events if e.name == "usage" and e.data["lane"] == 1)
    assert usage["estimated"] is True and usage["outputTokens"] == answer.usage.output_tokens


def test_the_stop_route_records_the_lane_for_the_running_comparison(
    client: TestClient, store: FakeStore
) -> None:
    comparison_id = client.post("/compare", json={"message": "one", "lanes": TWO_TEMPERATURES}).json()[
        "comparisonId"
    ]
    response = client.post(f"/comparisons/{comparison_id}/stop", json={"lane": 1})
    assert response.status_code == 202 and response.json() == {"comparisonId": comparison_id, "lane": 1}
    assert store.stopped_lanes("local-dev-user", comparison_id) == {1}
    assert client.post(f"/comparisons/{comparison_id}/stop", json={"lane": 7}).status_code == 400
    # a lane the stored comparison does not have: 404, nothing recorded
    assert client.post(f"/comparisons/{comparison_id}/stop", json={"lane": 3}).status_code == 404
    assert store.stopped_lanes("local-dev-user", comparison_id) == {1}
    # a comparison in its first round has no item yet: its stop is taken
    running = "01m910nsy3yxm4sgxzshcqdy00"
    assert client.post(f"/comparisons/{running}/stop", json={"lane": 0}).status_code == 202


def test_models_carry_their_inference_ranges_and_price(client: TestClient) -> None:
    models = {m["id"]: m for m in client.get("/models").json()["models"]}
    priced = models[PRICED]["limits"]
    assert priced["temperature"] == {"min": 0, "max": 1} and priced["maxTokens"]["max"] == 10_000
    assert priced["price"]["inputPer1k"] == pytest.approx(0.00006) and priced["price"]["source"]
    assert models[MODEL_ID]["limits"]["price"]["outputPer1k"] == 0


def test_an_idempotency_record_keeps_each_lanes_text_apart() -> None:
    from lambda_chat.sse import compact_deltas

    stored = [
        {"event": "delta", "data": {"lane": 0, "model": "m", "text": "a"}},
        {"event": "delta", "data": {"lane": 0, "model": "m", "text": "b"}},
        {"event": "delta", "data": {"lane": 1, "model": "m", "text": "x"}},
        {"event": "delta", "data": {"lane": 0, "model": "m", "text": "c"}},
    ]
    assert [item["data"] for item in compact_deltas(stored)] == [
        {"lane": 0, "model": "m", "text": "ab"},
        {"lane": 1, "model": "m", "text": "x"},
        {"lane": 0, "model": "m", "text": "c"},
    ]


def test_lane_requests_carry_prompt_cache_checkpoints_like_a_chat_turn(
    client: TestClient, model: LaneModel
) -> None:
    # Given a comparison on a local model (its profile caches system prompt and messages)
    lanes = [{"model": MODEL_ID}, {"model": OTHER}]
    first = client.post("/compare", json={"message": "one", "lanes": lanes, "system": "Be brief."}).json()
    model.requests.clear()
    # When it is followed up
    client.post("/compare", json={"message": "two", "comparisonId": first["comparisonId"]})
    # Then each lane's request has a checkpoint after the system prompt and after its history
    for request in model.requests:
        assert request.cache_system
        assert request.cache_after_messages == (len(request.messages) - 1,)


def test_a_comparison_is_deleted_with_its_lanes_but_not_the_lane_continued_as_a_conversation(
    client: TestClient, store: FakeStore
) -> None:
    # Given two comparisons, one with lane 1 continued as a conversation
    first = client.post("/compare", json={"message": "one", "lanes": TWO_TEMPERATURES}).json()
    second = client.post("/compare", json={"message": "two", "lanes": TWO_TEMPERATURES}).json()
    kept = client.post(f"/comparisons/{second['comparisonId']}/continue", json={"lane": 1}).json()["id"]
    lanes = [a["conversationId"] for a in first["answers"]]
    # A lane's conversation cannot be deleted alone (the next follow-up would lose its history)
    refused = client.delete(f"/conversations/{lanes[0]}")
    assert refused.status_code == 409 and first["comparisonId"] in refused.json()["error"]["message"]
    # When both comparisons are deleted
    for comparison in (first, second):
        assert client.delete(f"/comparisons/{comparison['comparisonId']}").status_code == 204
    # Then they and their lanes are gone; the continued lane stays an ordinary conversation
    assert client.get(f"/comparisons/{first['comparisonId']}").status_code == 404
    assert client.get("/comparisons").json()["items"] == []
    assert all(client.get(f"/conversations/{c}").status_code == 404 for c in lanes)
    assert [c["id"] for c in client.get("/conversations").json()["items"]] == [kept]
    assert client.delete(f"/comparisons/{first['comparisonId']}").status_code == 404


def test_a_lane_still_waiting_for_its_model_stops_when_asked() -> None:
    store = FakeStore()
    started: dict[str, str] = {}
    known, released = threading.Event(), threading.Event()
    closed: list[float] = []

    class Model:
        """The lane at temperature 1.0 waits for the model (queued behind other requests, as on a
        local runtime with two slots) until released; the user asks to stop it meanwhile."""

        def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
            temperature = (request.inference_config or {}).get("temperature")
            try:
                if temperature == 1.0:
                    assert known.wait(5)  # the comparison id arrives with `meta`
                    store.request_lane_stop("alice", started["id"], 1)
                    assert released.wait(5)
                yield ModelChunk(text="w0 ")
                yield ModelChunk(input_tokens=5, output_tokens=1, stop_reason="end_turn")
            finally:
                closed.append(temperature)

    # When the comparison runs (the waiting lane is never released while it does)
    events = _two_temperatures_compared(store, Model(), started, known)
    # Then the waiting lane ended as stopped, with nothing said; the other completed
    final = events[-1].data
    assert [lane["status"] for lane in final["lanes"]] == ["complete", "stopped"]
    assert not [e for e in events if e.name == "delta" and e.data["lane"] == 1]
    # And once its model answers, its stream is closed, not read
    released.set()
    for _ in range(100):
        if 1.0 in closed:
            break
        threading.Event().wait(0.02)
    assert 1.0 in closed


def _two_temperatures_compared(
    store: FakeStore, model: Any, started: dict[str, str], known: threading.Event
) -> list[StreamEvent]:
    """Every event of a comparison of MODEL_ID at temperatures 0.2 and 1.0 by alice, run over
    the domain with `model`, checking stop requests at every chunk; `started["id"]` gets the
    comparison id and `known` is set as soon as `meta` names it."""
    catalog = ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID)
    config = ChatConfig(deletion_check_seconds=0.0)
    chat = ChatService(store, model, catalog, config)
    service = ComparisonService(store, model, catalog, chat, config, table=chat.table, heartbeat_seconds=None)
    lanes = [LaneInput(MODEL_ID, {"temperature": 0.2}), LaneInput(MODEL_ID, {"temperature": 1.0})]
    events: list[StreamEvent] = []
    for event in service.start("alice", CompareInput(message="go", lanes=lanes)):
        if event.name == "meta":
            started["id"] = event.data["comparisonId"]
            known.set()
        events.append(event)
    return events

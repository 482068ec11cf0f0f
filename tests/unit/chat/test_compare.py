"""Comparison: lanes refused before any call (naming lane and field), run concurrently and
multiplexed into one event stream; one lane's throttling never fails the others; closing the stream
stops every lane."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from chatbot_common.errors import InvalidInput, Throttled, UpstreamError
from chatbot_common.model_table import DEFAULT_MODEL_TABLE
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.compare import (
    MAX_LANES,
    InvalidComparison,
    Lane,
    LaneInput,
    LaneOutcome,
    LaneRun,
    aggregate_comparison,
    multiplex_lanes,
    validate_lanes,
)
from lambda_chat.domain.events import StreamEvent
from lambda_chat.domain.inference import InferenceSettings, InvalidInferenceConfig
from lambda_chat.domain.ports import ChatMessage, ModelChunk, ModelRequest
from lambda_chat.domain.retry import RetryingChatModel, RetryPolicy
from tests.fakes.chat import FakeDirectory, FakeModel

LOCAL = "local.fake"
NOVA = "us.amazon.nova-lite-v1:0"
WAIT = 10.0  # seconds: a bound on waiting for another thread, never a speed assertion


def catalog(*ids: str) -> ModelCatalog:
    return ModelCatalog(
        FakeDirectory(ids or (LOCAL, NOVA)), default_model_id=LOCAL, allowed_model_ids=ids or (LOCAL, NOVA)
    )


def lanes_for(*inputs: LaneInput, **kwargs: object) -> list[Lane]:
    return validate_lanes(
        inputs,
        require_model=catalog().require,
        table=DEFAULT_MODEL_TABLE,
        default_model=LOCAL,
        **kwargs,  # type: ignore[arg-type]
    )


# -- validation -------------------------------------------------------------------------------------


def test_two_models_or_one_model_at_two_temperatures_are_valid_comparisons() -> None:
    two_models = lanes_for(LaneInput(LOCAL), LaneInput(NOVA, {"temperature": 0.5}))
    assert [(lane.index, lane.model_id) for lane in two_models] == [(0, LOCAL), (1, NOVA)]
    two_temperatures = lanes_for(
        LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(None, {"temperature": 1.0})
    )
    assert [lane.settings.temperature for lane in two_temperatures] == [0.2, 1.0]
    assert two_temperatures[1].model_id == LOCAL  # no model: the default one
    assert two_temperatures[0].to_json() == {
        "lane": 0,
        "model": LOCAL,
        "inferenceConfig": {"temperature": 0.2},
    }


@pytest.mark.parametrize("count", [0, 1, MAX_LANES + 1])
def test_fewer_than_two_or_more_than_four_lanes_are_refused(count: int) -> None:
    with pytest.raises(InvalidComparison) as raised:
        lanes_for(*[LaneInput(LOCAL, {"temperature": i / 10}) for i in range(count)])
    assert raised.value.field == "lanes" and raised.value.status == 400 and "2 to 4" in raised.value.message


def test_identical_lanes_are_refused_naming_both() -> None:
    with pytest.raises(InvalidComparison) as raised:
        lanes_for(
            LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(NOVA), LaneInput(LOCAL, {"temperature": 0.2})
        )
    assert raised.value.field == "lanes[2]" and "lanes[0]" in raised.value.message


def test_lanes_equal_once_the_conversations_settings_are_layered_under_them_are_identical() -> None:
    with pytest.raises(InvalidComparison) as raised:
        lanes_for(
            LaneInput(LOCAL),
            LaneInput(LOCAL, {"temperature": 0.7}),
            base_settings=InferenceSettings(temperature=0.7),
        )
    assert raised.value.field == "lanes[1]"


@pytest.mark.parametrize("model", ["no.such-model-v9", "us.anthropic.claude-3-5-haiku-20241022-v1:0"])
def test_unknown_or_disallowed_models_are_refused_naming_the_lane(model: str) -> None:
    with pytest.raises(InvalidComparison) as raised:
        lanes_for(LaneInput(LOCAL), LaneInput(model))
    assert raised.value.field == "lanes[1].model" and isinstance(raised.value, InvalidInput)
    assert model in raised.value.message


def test_a_lane_without_a_model_needs_a_default() -> None:
    with pytest.raises(InvalidComparison) as raised:
        validate_lanes(
            [LaneInput(LOCAL), LaneInput(None)], require_model=catalog().require, table=DEFAULT_MODEL_TABLE
        )
    assert raised.value.field == "lanes[1].model"


def test_settings_out_of_range_are_refused_naming_the_lane_and_field() -> None:
    with pytest.raises(InvalidInferenceConfig) as raised:
        lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(NOVA, {"temperature": 5}))
    assert raised.value.field == "lanes[1].inferenceConfig.temperature"
    assert "0 to 1" in raised.value.message
    with pytest.raises(InvalidInferenceConfig) as raised:
        lanes_for(LaneInput(LOCAL), LaneInput(NOVA, {"maxTokens": 50_000}))
    assert raised.value.field == "lanes[1].inferenceConfig.maxTokens" and "1 to 10000" in raised.value.message


# -- the multiplexer ----------------------------------------------------------------------------------


def request(lane: Lane) -> ModelRequest:
    return ModelRequest(model_id=lane.model_id, messages=[ChatMessage.text("user", "Say hi")])


def drain(events: Iterator[StreamEvent]) -> list[StreamEvent]:
    return list(events)


def of(events: list[StreamEvent], name: str, lane: int | None = None) -> list[dict[str, object]]:
    return [e.data for e in events if e.name == name and (lane is None or e.data.get("lane") == lane)]


def test_one_throttled_lane_never_fails_the_other() -> None:
    # Given lane 0 whose model is throttled on every attempt (after the app's retries) and lane 1
    # whose model answers
    throttled = FakeModel(scripts=[[Throttled("slow down")]] * 3)
    sleeps: list[float] = []
    retrying = RetryingChatModel(
        throttled, RetryPolicy(max_attempts=3, sleep=sleeps.append, rand=lambda: 0.5)
    )
    answering = FakeModel()
    lanes = lanes_for(LaneInput(NOVA, {"temperature": 0.2}), LaneInput(NOVA, {"temperature": 1.0}))
    outcomes: list[LaneOutcome] = []
    runs = [
        LaneRun(lanes[0], lambda: retrying.stream(request(lanes[0]))),
        LaneRun(lanes[1], lambda: answering.stream(request(lanes[1]))),
    ]

    # When the comparison runs
    events = drain(
        multiplex_lanes(
            runs, table=DEFAULT_MODEL_TABLE, meta={"comparisonId": "c1"}, on_lane_end=outcomes.append
        )
    )

    # Then the stream opens with the lanes and ends with the final done
    assert events[0].name == "meta" and events[0].data["comparisonId"] == "c1"
    assert [lane["lane"] for lane in events[0].data["lanes"]] == [0, 1]  # type: ignore[index]
    assert events[-1].name == "done" and "lane" not in events[-1].data
    # And lane 0 ends in a throttling error after its retries, with no answer
    assert len(throttled.requests) == 3 and len(sleeps) == 2
    assert of(events, "error", 0) == [{"lane": 0, "model": NOVA, "code": "throttled", "message": "slow down"}]
    assert not of(events, "delta", 0) and not of(events, "done", 0)
    # And lane 1 streams its whole answer with usage, cost and done
    assert "".join(str(d["text"]) for d in of(events, "delta", 1)) == "echo: Say hi"
    [usage] = of(events, "usage", 1)
    assert usage["inputTokens"] == 7 and usage["outputTokens"] == 3
    assert usage["costUsd"] == pytest.approx(
        float(Decimal("0.00006") * 7 / 1000 + Decimal("0.00024") * 3 / 1000)
    )
    [done] = of(events, "done", 1)
    assert done["stopReason"] == "end_turn"
    final = events[-1].data
    assert [(lane["lane"], lane["status"]) for lane in final["lanes"]] == [(0, "throttled"), (1, "complete")]  # type: ignore[index]
    assert {outcome.lane.index: outcome.status for outcome in outcomes} == {0: "throttled", 1: "complete"}

    # And the JSON form keeps both lanes, the failure on its own lane
    result = aggregate_comparison(iter(events))
    assert result.meta == {"comparisonId": "c1"}
    first, second = result.answers
    assert first.to_json()["error"] == {"code": "throttled", "message": "slow down"}
    assert first.answer == "" and first.status == "throttled"
    assert (
        second.answer == "echo: Say hi" and second.stop_reason == "end_turn" and second.status == "complete"
    )
    assert second.inference_config == {"temperature": 1.0} and second.cost_usd == usage["costUsd"]
    assert second.usage["inputTokens"] == 7 and result.cost_usd == usage["costUsd"]


def test_every_lane_throttled_makes_the_json_form_a_throttling_error() -> None:
    lanes = lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(LOCAL, {"temperature": 1.0}))

    def throttled() -> Iterator[ModelChunk]:
        raise Throttled("busy")

    events = drain(multiplex_lanes([LaneRun(lane, throttled) for lane in lanes], table=DEFAULT_MODEL_TABLE))
    assert [e.name for e in events][-1] == "done"  # the SSE form still ends well-formed
    with pytest.raises(Throttled):
        aggregate_comparison(iter(events))


def test_lanes_stream_concurrently_and_their_deltas_interleave() -> None:
    # Given two lanes that can only go on once the other has produced text
    lanes = lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(LOCAL, {"temperature": 1.0}))
    a1_posted, b1_posted = threading.Event(), threading.Event()

    def lane_a() -> Iterator[ModelChunk]:
        yield ModelChunk(text="a1")
        a1_posted.set()
        assert b1_posted.wait(WAIT)
        yield ModelChunk(text=" a2")
        yield ModelChunk(input_tokens=3, output_tokens=2, stop_reason="end_turn")

    def lane_b() -> Iterator[ModelChunk]:
        assert a1_posted.wait(WAIT)
        yield ModelChunk(text="b1")
        b1_posted.set()
        yield ModelChunk(text=" b2")
        yield ModelChunk(input_tokens=3, output_tokens=2, stop_reason="max_tokens")

    events = drain(
        multiplex_lanes([LaneRun(lanes[0], lane_a), LaneRun(lanes[1], lane_b)], table=DEFAULT_MODEL_TABLE)
    )

    # Then both lanes' text arrives before either lane is done, each delta labelled with its lane
    names = [(e.name, e.data.get("lane")) for e in events]
    assert names[1:3] == [("delta", 0), ("delta", 1)]
    first_done = min(names.index(("done", 0)), names.index(("done", 1)))
    assert first_done > max(i for i, n in enumerate(names) if n[0] == "delta" and i < first_done) >= 2
    result = aggregate_comparison(iter(events))
    assert [(a.answer, a.stop_reason, a.cost_usd) for a in result.answers] == [
        ("a1 a2", "end_turn", 0.0),
        ("b1 b2", "max_tokens", 0.0),
    ]


def test_closing_the_stream_stops_every_lane_promptly() -> None:
    # Given a lane blocked waiting on its model (interruptible only through its cancel hook) and a
    # lane that keeps streaming slowly
    lanes = lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(LOCAL, {"temperature": 1.0}))
    blocked_release = threading.Event()
    closed = {0: threading.Event(), 1: threading.Event()}
    slow_pulled = [0]

    def blocked() -> Iterator[ModelChunk]:
        try:
            yield ModelChunk(text="thinking")
            blocked_release.wait(60)  # a read waiting on the network
            yield ModelChunk(text=" more")
        finally:
            closed[0].set()

    def slow() -> Iterator[ModelChunk]:
        try:
            while True:
                slow_pulled[0] += 1
                yield ModelChunk(text=".")
                time.sleep(0.01)
        finally:
            closed[1].set()

    outcomes: list[LaneOutcome] = []
    events = multiplex_lanes(
        [LaneRun(lanes[0], blocked, cancel=blocked_release.set), LaneRun(lanes[1], slow)],
        table=DEFAULT_MODEL_TABLE,
        on_lane_end=outcomes.append,
    )
    # When the client reads until both lanes have spoken, then goes away
    seen: set[object] = set()
    for event in events:
        if event.name == "delta":
            seen.add(event.data["lane"])
        if seen == {0, 1}:
            break
    events.close()  # type: ignore[attr-defined]

    # Then by the time close returns both model streams were closed (generation stopped upstream)
    assert closed[0].is_set() and closed[1].is_set()
    pulled = slow_pulled[0]
    time.sleep(0.05)
    assert slow_pulled[0] == pulled  # nothing keeps pulling the slow model
    # And each lane's partial answer was reported as stopped, for storing
    by_lane = {outcome.lane.index: outcome for outcome in outcomes}
    assert by_lane[0].status == "stopped" and by_lane[0].text == "thinking"
    assert by_lane[1].status == "stopped" and by_lane[1].text.startswith(".")


def test_a_lane_whose_answer_cannot_be_stored_ends_in_an_error_and_the_other_lane_completes() -> None:
    lanes = lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(LOCAL, {"temperature": 1.0}))
    model = FakeModel()

    def store(outcome: LaneOutcome) -> None:
        if outcome.lane.index == 0:
            raise UpstreamError("could not store the answer")

    runs = [LaneRun(lane, lambda lane=lane: model.stream(request(lane))) for lane in lanes]
    events = drain(multiplex_lanes(runs, table=DEFAULT_MODEL_TABLE, on_lane_end=store))
    assert of(events, "error", 0)[0]["code"] == "upstream_error"
    assert of(events, "done", 1) and not of(events, "done", 0)
    final = events[-1].data["lanes"]
    assert [lane["status"] for lane in final] == ["incomplete", "complete"]  # type: ignore[index]


def test_an_unexpected_failure_in_a_lane_is_reported_on_that_lane_without_internals() -> None:
    lanes = lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(LOCAL, {"temperature": 1.0}))

    def broken() -> Iterator[ModelChunk]:
        yield ModelChunk(text="partial")
        raise RuntimeError("socket details")

    events = drain(
        multiplex_lanes(
            [LaneRun(lanes[0], broken), LaneRun(lanes[1], lambda: iter([ModelChunk(text="fine")]))],
            table=DEFAULT_MODEL_TABLE,
        )
    )
    [error] = of(events, "error", 0)
    assert error["code"] == "internal_error" and "socket" not in str(error["message"])
    assert of(events, "usage", 0)  # the partial answer's tokens are still accounted for
    result = aggregate_comparison(iter(events))
    assert result.answers[0].answer == "partial" and result.answers[0].status == "incomplete"
    assert result.answers[1].answer == "fine"


def test_a_heartbeat_keeps_the_stream_alive_while_every_lane_waits_on_its_model() -> None:
    lanes = lanes_for(LaneInput(LOCAL, {"temperature": 0.2}), LaneInput(LOCAL, {"temperature": 1.0}))
    pinged = threading.Event()

    def waits_for_the_ping() -> Iterator[ModelChunk]:
        assert pinged.wait(WAIT)
        yield ModelChunk(text="late")

    events = multiplex_lanes(
        [LaneRun(lane, waits_for_the_ping) for lane in lanes],
        table=DEFAULT_MODEL_TABLE,
        heartbeat_seconds=0.01,
    )
    names = []
    for event in events:
        names.append(event.name)
        if event.name == "ping":
            pinged.set()
    assert names[0] == "meta" and names[1] == "ping" and names[-1] == "done"
    assert aggregate_comparison(iter([StreamEvent("ping", {})])).answers == []

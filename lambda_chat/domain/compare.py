"""Side-by-side comparison: one prompt on 2-4 lanes (models, or one model with different settings),
run concurrently and multiplexed into one event stream.

`validate_lanes` refuses a bad comparison before any model is called (errors name the lane and
field: ``lanes[1].inferenceConfig.temperature``). `multiplex_lanes` runs each lane's blocking
model stream in its own thread and yields one interleaved sequence of `StreamEvent`s:

- ``meta``  {lanes: [{lane, model, inferenceConfig}], ...caller's fields (comparisonId)}
- ``delta`` {lane, model, text}
- ``usage`` {lane, model, inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens,
  costUsd}  (per lane, once it has finished or failed after producing text)
- ``done``  {lane, model, stopReason, latencyMs, costUsd}  or  ``error`` {lane, model, code, message}
- ``done``  {lanes: [{lane, model, status, stopReason, latencyMs, costUsd}], costUsd, latencyMs}
  (the final event; it has no ``lane``)
- ``ping``  {} (optional keep-alive while every lane waits on its model)

One lane's failure (throttled after retries, model error) ends that lane with an ``error`` event
and never the others. Closing the iterator (the client went away, or pressed "stop all") cancels
every lane: each stops at its next chunk and closes its model stream, which stops generation
upstream; the close waits (bounded) for the lanes to wind down so their outcomes are recorded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from chatbot_common.errors import DomainError, InvalidInput, Throttled
from chatbot_common.model_table import ModelProfile, ModelTable
from lambda_chat.domain.cost import TokenUsage, cost_usd, round_cost
from lambda_chat.domain.events import StreamEvent
from lambda_chat.domain.inference import InferenceSettings, validate_inference
from lambda_chat.domain.ports import ModelChunk
from lambda_chat.domain.retry import close_iterator
from lambda_chat.domain.tokens import estimate_tokens

_log = logging.getLogger(__name__)

MIN_LANES = 2
MAX_LANES = 4

LaneStatus = Literal["complete", "incomplete", "stopped", "throttled", "error"]


class LaneStopped(Exception):
    """Raised by a lane's chunk iterator when the user stopped that lane alone: the lane ends
    ``stopped`` (its partial answer kept, a ``done`` with stopReason "stopped"); the others go on."""


class InvalidComparison(InvalidInput):
    """A comparison request that cannot run (HTTP 400); `field` is the request path at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class LaneInput:
    """One lane as the client sent it: a model id (None: the default model) and its raw
    ``inferenceConfig`` object."""

    model: str | None = None
    inference_config: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Lane:
    """A validated lane. `index` is its position in the request's ``lanes`` (0-based)."""

    index: int
    model_id: str
    settings: InferenceSettings
    profile: ModelProfile

    def to_json(self) -> dict[str, Any]:
        return {"lane": self.index, "model": self.model_id, "inferenceConfig": self.settings.to_json()}


def validate_lanes(
    lanes: Sequence[LaneInput],
    *,
    require_model: Callable[[str], object],
    table: ModelTable,
    default_model: str | None = None,
    base_settings: InferenceSettings | None = None,
) -> list[Lane]:
    """Check a comparison's lanes before anything runs.

    `require_model` raises InvalidInput for a model the caller may not use (ModelCatalog.require);
    `base_settings` (e.g. the conversation's) lie under each lane's own settings.
    Raises InvalidComparison / InvalidInferenceConfig naming the lane and field: fewer than
    `MIN_LANES` or more than `MAX_LANES` lanes, a missing, unknown or disallowed model, settings out
    of the model's range, or two lanes with the same model and settings.
    """
    if not MIN_LANES <= len(lanes) <= MAX_LANES:
        raise InvalidComparison(
            "lanes", f"a comparison takes {MIN_LANES} to {MAX_LANES} lanes, not {len(lanes)}"
        )
    base = base_settings or InferenceSettings()
    validated: list[Lane] = []
    seen: dict[tuple[str, InferenceSettings], int] = {}
    for index, lane_input in enumerate(lanes):
        model_id = lane_input.model or default_model
        if not model_id:
            raise InvalidComparison(f"lanes[{index}].model", "is required")
        try:
            require_model(model_id)
        except InvalidInput as exc:
            raise InvalidComparison(f"lanes[{index}].model", exc.message) from exc
        profile = table.profile_for(model_id)
        where = f"lanes[{index}].inferenceConfig"
        own = InferenceSettings.from_json(lane_input.inference_config, field=where)
        settings = validate_inference(own.over(base), profile, model_id=model_id, field=where)
        key = (model_id, settings)
        if key in seen:
            raise InvalidComparison(
                f"lanes[{index}]",
                f"is identical to lanes[{seen[key]}] (same model and settings); vary the model or a setting",
            )
        seen[key] = index
        validated.append(Lane(index=index, model_id=model_id, settings=settings, profile=profile))
    return validated


@dataclass(frozen=True)
class LaneNotice(ModelChunk):
    """A chunk a lane's stream yields to tell the user something about that lane (sent as a
    `notice` event {lane, model, code, message}, as a chat turn's notices are); it carries no
    answer."""

    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class LaneRun:
    """A lane ready to run.

    `open_stream` starts the lane's model call (called in the lane's own thread) and returns its
    blocking iterator of chunks; `cancel`, when given, is called from the closing thread to
    interrupt a read that is blocked waiting for the model.
    """

    lane: Lane
    open_stream: Callable[[], Iterator[ModelChunk]]
    cancel: Callable[[], None] | None = None
    # Estimated input tokens of the lane's request: its usage when the model sends none (stopped).
    input_estimate: int = 0


@dataclass(frozen=True)
class LaneOutcome:
    """How a lane ended, for storing its answer and call record (`on_lane_end`)."""

    lane: Lane
    text: str
    stop_reason: str | None
    usage: TokenUsage
    cost_usd: Decimal | None
    latency_ms: int
    status: LaneStatus
    error: DomainError | None = None


def multiplex_lanes(
    runs: Sequence[LaneRun],
    *,
    table: ModelTable,
    meta: Mapping[str, Any] | None = None,
    on_lane_end: Callable[[LaneOutcome], None] | None = None,
    timer: Callable[[], float] = time.perf_counter,
    close_timeout_seconds: float = 10.0,
    heartbeat_seconds: float | None = None,
) -> Iterator[StreamEvent]:
    """Run the lanes concurrently (one thread each) and yield their events interleaved.

    `on_lane_end` is called in the lane's thread once the lane has ended (including ``stopped``
    when the stream is closed early), so calls for different lanes may run at the same time; a
    DomainError it raises for a lane that had completed turns that lane's ``done`` into an
    ``error`` (the answer could not be stored). `table` prices usage. A lane without a `cancel`
    hook stops at its model's next chunk; the close waits at most `close_timeout_seconds`.
    With `heartbeat_seconds`, a ``ping`` event {} is yielded whenever no lane has said anything for
    that long (CloudFront drops a response idle for 30 s; every lane may be waiting on its model).
    """
    multiplexer = _Multiplexer(runs, table, on_lane_end, timer, close_timeout_seconds, heartbeat_seconds)
    return multiplexer.events(dict(meta or {}))


@dataclass
class _Posted:
    event: StreamEvent | None = None
    finished: LaneOutcome | None = None


class _Multiplexer:
    def __init__(
        self,
        runs: Sequence[LaneRun],
        table: ModelTable,
        on_lane_end: Callable[[LaneOutcome], None] | None,
        timer: Callable[[], float],
        close_timeout: float,
        heartbeat: float | None,
    ) -> None:
        self._runs = list(runs)
        self._table = table
        self._on_lane_end = on_lane_end
        self._timer = timer
        self._close_timeout = close_timeout
        self._heartbeat = heartbeat
        self._queue: queue.SimpleQueue[_Posted] = queue.SimpleQueue()
        self._cancelled = threading.Event()

    def events(self, meta: dict[str, Any]) -> Iterator[StreamEvent]:
        started = self._timer()
        workers = [
            threading.Thread(
                target=self._run_lane, args=(run,), name=f"compare-lane-{run.lane.index}", daemon=True
            )
            for run in self._runs
        ]
        outcomes: dict[int, LaneOutcome] = {}
        try:
            for worker in workers:
                worker.start()
            yield StreamEvent("meta", {**meta, "lanes": [run.lane.to_json() for run in self._runs]})
            while len(outcomes) < len(workers):
                try:
                    posted = self._queue.get(timeout=self._heartbeat)
                except queue.Empty:
                    yield StreamEvent("ping", {})
                    continue
                if posted.finished is not None:
                    outcomes[posted.finished.lane.index] = posted.finished
                elif posted.event is not None:
                    yield posted.event
            yield StreamEvent("done", _final(outcomes, int((self._timer() - started) * 1000)))
        finally:
            if len(outcomes) < len(workers):
                self._cancel_all(workers)

    def _cancel_all(self, workers: list[threading.Thread]) -> None:
        self._cancelled.set()
        for run in self._runs:
            if run.cancel is not None:
                try:
                    run.cancel()
                except Exception:
                    _log.exception("cancelling lane %s failed", run.lane.index)
        # Real time, whatever clock measures latency: this bounds how long a close may block.
        deadline = time.monotonic() + self._close_timeout
        for worker in workers:
            if worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
        if any(worker.is_alive() for worker in workers):
            _log.warning("a comparison lane did not stop within %.1f s of the close", self._close_timeout)

    def _post(self, event: StreamEvent) -> None:
        self._queue.put(_Posted(event=event))

    def _run_lane(self, run: LaneRun) -> None:
        lane = run.lane
        tags = {"lane": lane.index, "model": lane.model_id}
        started = self._timer()
        parts: list[str] = []
        counts = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
        stop_reason: str | None = None
        status: LaneStatus = "complete"
        error: DomainError | None = None
        chunks: Iterator[ModelChunk] | None = None
        try:
            chunks = iter(run.open_stream())
            for chunk in chunks:
                if self._cancelled.is_set():
                    status = "stopped"
                    break
                if isinstance(chunk, LaneNotice):
                    self._post(StreamEvent("notice", {**tags, "code": chunk.code, "message": chunk.message}))
                    continue
                if chunk.text:
                    parts.append(chunk.text)
                    self._post(StreamEvent("delta", {**tags, "text": chunk.text}))
                _count(counts, "input", chunk.input_tokens)
                _count(counts, "output", chunk.output_tokens)
                # Present once ModelChunk carries Converse's cache counts (prompt caching).
                _count(counts, "cache_read", getattr(chunk, "cache_read_tokens", None))
                _count(counts, "cache_write", getattr(chunk, "cache_write_tokens", None))
                if chunk.stop_reason is not None:
                    stop_reason = chunk.stop_reason
        except LaneStopped:
            status = "stopped"
            stop_reason = "stopped"
        except DomainError as exc:
            error = exc
            status = "incomplete" if parts else ("throttled" if isinstance(exc, Throttled) else "error")
        except Exception:
            _log.exception("comparison lane %s failed unexpectedly", lane.index)
            error = DomainError("The answer could not be completed")
            status = "incomplete" if parts else "error"
        finally:
            try:
                if chunks is not None:
                    close_iterator(chunks)
            except Exception:
                _log.exception("closing lane %s's model stream failed", lane.index)
        if status == "complete" and self._cancelled.is_set() and stop_reason is None:
            status = "stopped"  # cancelled while the model had not finished

        usage = TokenUsage(counts["input"], counts["output"], counts["cache_read"], counts["cache_write"])
        if status != "complete" and parts and not any(counts.values()):
            # Stopped or cut before Bedrock's metadata event: estimates, never 0 for work done
            # (as a chat turn records a stopped answer).
            usage = TokenUsage(run.input_estimate, estimate_tokens("".join(parts)), estimated=True)
        outcome = LaneOutcome(
            lane=lane,
            text="".join(parts),
            stop_reason=stop_reason,
            usage=usage,
            cost_usd=cost_usd(usage, self._table.price_for(lane.model_id)),
            latency_ms=int((self._timer() - started) * 1000),
            status=status,
            error=error,
        )
        try:
            if self._on_lane_end is not None:
                try:
                    self._on_lane_end(outcome)
                except DomainError as exc:
                    if outcome.status == "complete":
                        outcome = _failed(outcome, exc)
                    else:
                        _log.exception("could not record lane %s's outcome", lane.index)
                except Exception:
                    _log.exception("could not record lane %s's outcome", lane.index)
                    if outcome.status == "complete":
                        outcome = _failed(outcome, DomainError("The answer could not be stored"))
            if outcome.status != "stopped" or not self._cancelled.is_set():
                self._post_ending(outcome)  # (a lane stopped alone still says so)
        finally:
            self._queue.put(_Posted(finished=outcome))

    def _post_ending(self, outcome: LaneOutcome) -> None:
        tags = {"lane": outcome.lane.index, "model": outcome.lane.model_id}
        cost = _json_cost(outcome.cost_usd)
        if outcome.status in ("complete", "incomplete", "stopped") or outcome.text:
            estimated = {"estimated": True} if outcome.usage.estimated else {}
            self._post(
                StreamEvent("usage", {**tags, **outcome.usage.to_json(), **estimated, "costUsd": cost})
            )
        if outcome.error is None:
            self._post(
                StreamEvent(
                    "done",
                    {
                        **tags,
                        "stopReason": outcome.stop_reason or "end_turn",
                        "latencyMs": outcome.latency_ms,
                        "costUsd": cost,
                    },
                )
            )
        else:
            error = outcome.error
            self._post(
                StreamEvent("error", {**tags, "code": error.code, "message": error.message}, error=error)
            )


def _failed(outcome: LaneOutcome, error: DomainError) -> LaneOutcome:
    return LaneOutcome(
        lane=outcome.lane,
        text=outcome.text,
        stop_reason=outcome.stop_reason,
        usage=outcome.usage,
        cost_usd=outcome.cost_usd,
        latency_ms=outcome.latency_ms,
        status="incomplete",
        error=error,
    )


def _count(counts: dict[str, int], name: str, value: int | None) -> None:
    if value is not None:
        counts[name] = value


def _json_cost(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _final(outcomes: Mapping[int, LaneOutcome], latency_ms: int) -> dict[str, Any]:
    ordered = [outcomes[index] for index in sorted(outcomes)]
    known = [outcome.cost_usd for outcome in ordered if outcome.cost_usd is not None]
    return {
        "lanes": [
            {
                "lane": outcome.lane.index,
                "model": outcome.lane.model_id,
                "status": outcome.status,
                "stopReason": outcome.stop_reason,
                "latencyMs": outcome.latency_ms,
                "costUsd": _json_cost(outcome.cost_usd),
            }
            for outcome in ordered
        ],
        "costUsd": _json_cost(round_cost(sum(known, Decimal(0)))) if known else None,
        "latencyMs": latency_ms,
    }


# -- the JSON form ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaneAnswer:
    """One lane of the JSON answer."""

    lane: int
    model: str
    inference_config: dict[str, Any]
    answer: str
    stop_reason: str | None
    usage: dict[str, int]
    cost_usd: float | None
    latency_ms: int
    status: str
    error: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "model": self.model,
            "inferenceConfig": self.inference_config,
            "answer": self.answer,
            "stopReason": self.stop_reason,
            "usage": self.usage,
            "costUsd": self.cost_usd,
            "latencyMs": self.latency_ms,
            "status": self.status,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class ComparisonResult:
    """The JSON form of a comparison: the ``meta`` fields (comparisonId...) and one answer a lane."""

    meta: dict[str, Any]
    answers: list[LaneAnswer] = field(default_factory=list)
    cost_usd: float | None = None
    latency_ms: int = 0


def aggregate_comparison(events: Iterator[StreamEvent]) -> ComparisonResult:
    """Fold a comparison's events into its JSON form. Lane errors stay on their lane; only when
    every lane failed does this raise (Throttled if they all were, else the first lane's error)."""
    meta: dict[str, Any] = {}
    lanes: dict[int, dict[str, Any]] = {}
    errors: dict[int, DomainError] = {}
    final: dict[str, Any] = {}
    for event in events:
        data = event.data
        if event.name == "meta":
            meta = {key: value for key, value in data.items() if key != "lanes"}
            for lane in data.get("lanes", []):
                lanes[lane["lane"]] = {
                    **lane,
                    "parts": [],
                    "usage": TokenUsage().to_json(),
                    "status": "incomplete",
                }
        elif "lane" not in data:
            if event.name == "done":
                final = data
            continue
        elif event.name == "delta":
            lanes[data["lane"]]["parts"].append(data["text"])
        elif event.name == "usage":
            lane = lanes[data["lane"]]
            lane["usage"] = {key: data[key] for key in TokenUsage().to_json()}
            lane["costUsd"] = data.get("costUsd")
        elif event.name == "done":
            lanes[data["lane"]].update(stopReason=data.get("stopReason"), latencyMs=data.get("latencyMs", 0))
            lanes[data["lane"]]["costUsd"] = data.get("costUsd")
        elif event.name == "error":
            lanes[data["lane"]]["error"] = {"code": data["code"], "message": data["message"]}
            errors[data["lane"]] = event.error or DomainError(data["message"])
    statuses = {entry["lane"]: entry for entry in final.get("lanes", [])}
    if lanes and len(errors) == len(lanes):
        failures = [errors[index] for index in sorted(errors)]
        if all(isinstance(failure, Throttled) for failure in failures):
            raise Throttled("Every model in the comparison is receiving too many requests; retry shortly")
        raise failures[0]
    answers = [
        LaneAnswer(
            lane=index,
            model=lane["model"],
            inference_config=lane.get("inferenceConfig", {}),
            answer="".join(lane["parts"]),
            stop_reason=lane.get("stopReason") or statuses.get(index, {}).get("stopReason"),
            usage=lane["usage"],
            cost_usd=lane.get("costUsd", statuses.get(index, {}).get("costUsd")),
            latency_ms=int(lane.get("latencyMs") or statuses.get(index, {}).get("latencyMs") or 0),
            status=statuses.get(index, {}).get("status", "complete" if "error" not in lane else "error"),
            error=lane.get("error"),
        )
        for index, lane in sorted(lanes.items())
    ]
    return ComparisonResult(
        meta=meta, answers=answers, cost_usd=final.get("costUsd"), latency_ms=int(final.get("latencyMs", 0))
    )

"""Stored comparisons: one question on 2-4 lanes, each lane its own conversation.

A comparison is an item of its own (key scheme: chatbot_common.keys, ``USER#<user>`` /
``CMP#<id>``, listed on gsi1 under ``USER#<user>#CMPS``) holding its lanes (model, settings and the
id of the lane's conversation). Each lane's conversation is an ordinary conversation item carrying
``comparisonId`` and ``lane`` and left out of the conversation list, so a follow-up continues every
lane with its own history through the same history, trimming and attachment code as a chat turn.
"Continue with this answer" detaches one lane's conversation: it becomes an ordinary, listed
conversation, and the comparison is marked continued (further follow-ups on it are refused, 409).

Writes, per lane, once the lane has ended (`compare.multiplex_lanes` ``on_lane_end``, in the
lane's thread): the comparison's touch, the lane conversation (created or touched), the question,
the answer and the call record, in one transaction, so a lane is stored whole or not at all. A lane
that failed before its model said anything stores only its call record (like a chat turn).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from chatbot_common import keys
from chatbot_common.errors import Conflict, DomainError, InvalidInput, NotFound
from chatbot_common.keys import validate_id
from chatbot_common.model_table import ModelTable
from chatbot_common.timestamps import iso_now
from lambda_chat.domain.call_log import CallRecorder
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatConfig, ChatService, TurnInput
from lambda_chat.domain.compare import (
    MAX_LANES,
    MIN_LANES,
    InvalidComparison,
    Lane,
    LaneInput,
    LaneNotice,
    LaneOutcome,
    LaneRun,
    LaneStopped,
    multiplex_lanes,
    validate_lanes,
)
from lambda_chat.domain.conversations import validate_system
from lambda_chat.domain.cost import plain_decimal
from lambda_chat.domain.entities import (
    CallRecord,
    Comparison,
    ComparisonLane,
    Conversation,
    Message,
    Page,
    Usage,
)
from lambda_chat.domain.events import StreamEvent
from lambda_chat.domain.history import opened_by, trim_history
from lambda_chat.domain.ports import (
    ChatMessage,
    ChatModel,
    ConversationRepository,
    ModelChunk,
    ModelRequest,
    close_iterator,
)
from lambda_chat.domain.prompt_cache import plan_cache_points
from lambda_chat.domain.tokens import estimate_block_tokens, estimate_request_tokens, estimate_tokens
from lambda_chat.tools.model_stream import InputTooLong, history_shortened_text
from lambda_chat.tools.tool_history import older_half_cut

_log = logging.getLogger(__name__)

# CloudFront closes a response idle for 30 s: a `ping` at half that while every lane waits.
HEARTBEAT_SECONDS = 15.0


@dataclass(frozen=True)
class CompareInput:
    """POST /compare as the domain sees it. `lanes` may be empty on a follow-up (`comparison_id`):
    the comparison's stored lanes are used."""

    message: str
    lanes: Sequence[LaneInput] = ()
    comparison_id: str | None = None
    system: str | None = None
    attachments: Sequence[str] = ()


@dataclass(frozen=True)
class ComparisonWithLanes:
    """A comparison with one page of each lane's messages (oldest first), for reopening it."""

    comparison: Comparison
    messages: dict[int, list[Message]] = field(default_factory=dict)


class AlreadyContinued(Conflict):
    """A follow-up on a comparison one of whose lanes was continued as a conversation (409)."""

    code = "comparison_continued"


class ComparisonService:
    """Runs, stores, lists and reopens comparisons; see the module docstring."""

    def __init__(
        self,
        store: ConversationRepository,
        model: ChatModel,
        catalog: ModelCatalog,
        chat: ChatService,
        config: ChatConfig,
        *,
        table: ModelTable,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        on_call: Callable[[CallRecord], None] | None = None,
        heartbeat_seconds: float | None = HEARTBEAT_SECONDS,
    ) -> None:
        self._store = store
        self._model = model
        self._catalog = catalog
        self._chat = chat
        self._config = config
        self._table = table
        self._clock = clock
        self._timer = timer
        self._calls = CallRecorder(store, clock=clock, on_call=on_call)
        self._heartbeat = heartbeat_seconds

    # -- running --------------------------------------------------------------------------------

    def start(
        self, user_id: str, request: CompareInput, *, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        """Check everything that can be refused (400 before any model call; 404 for a comparison
        id that is not the caller's; 409 for a continued one), then return the multiplexed events
        (`compare.multiplex_lanes`), with ``meta`` carrying comparisonId and the lanes'
        conversationIds."""
        text = self._chat.message_text(TurnInput(message=request.message))
        system_override = validate_system(request.system, self._config.max_system_chars)
        upload_ids = self._chat.upload_ids(request.attachments)
        now = iso_now(self._clock())

        existing: Comparison | None = None
        if request.comparison_id is not None:
            comparison_id = validate_id(request.comparison_id, "comparisonId")
            existing = self._store.get_comparison(user_id, comparison_id)
            if existing.continued_as is not None:
                raise AlreadyContinued(
                    "This comparison was continued as a conversation; follow up there",
                    details={"conversationId": existing.continued_as},
                )
        lane_inputs = list(request.lanes)
        if existing is not None and not lane_inputs:
            lane_inputs = [LaneInput(lane.model, lane.inference_config) for lane in existing.lanes]
        if existing is not None and len(lane_inputs) != len(existing.lanes):
            raise InvalidComparison(
                "lanes", f"this comparison has {len(existing.lanes)} lanes; send that many, or none"
            )
        if not MIN_LANES <= len(lane_inputs) <= MAX_LANES:
            raise InvalidComparison(
                "lanes", f"a comparison takes {MIN_LANES} to {MAX_LANES} lanes, not {len(lane_inputs)}"
            )
        lanes = validate_lanes(
            lane_inputs,
            require_model=self._catalog.require,
            table=self._table,
            default_model=self._catalog.default_model_id(),
        )

        if existing is None:
            comparison = opened_by(
                Comparison,
                user_id,
                text,
                now,
                system_override,
                lanes=[
                    ComparisonLane(lane.index, lane.model_id, lane.settings.to_json() or None, keys.new_id())
                    for lane in lanes
                ],
            )
        else:
            comparison = replace(
                existing,
                updated_at=now,
                lanes=[
                    replace(stored, model=lane.model_id, inference_config=lane.settings.to_json() or None)
                    for stored, lane in zip(existing.lanes, lanes, strict=True)
                ],
            )
        system = system_override if system_override is not None else comparison.system
        system = system or None

        histories = {
            lane.index: (
                self._store.recent_messages(user_id, lane.conversation_id, self._config.history_max_messages)
                if existing is not None
                else []
            )
            for lane in comparison.lanes
        }
        # Every lane was asked the same questions with the same attachments: one resolution serves all.
        resolved = self._chat.resolve_attachments(user_id, upload_ids, histories[0], text)
        reserved = estimate_tokens(system or "") + estimate_tokens(text)
        reserved += estimate_block_tokens(resolved.content_blocks)

        questions: dict[int, Message] = {}
        runs: list[LaneRun] = []
        for lane, stored in zip(lanes, comparison.lanes, strict=True):
            inference = self._chat.inference_config(lane.settings, lane.profile)
            messages = trim_history(
                histories[lane.index],
                token_budget=self._chat.request_history_budget(inference, lane.profile),
                reserved_tokens=reserved,
            )
            messages.append(ChatMessage(role="user", content=[*resolved.content_blocks, {"text": text}]))
            questions[lane.index] = Message(
                id=keys.new_id(),
                conversation_id=stored.conversation_id,
                role="user",
                content=text,
                created_at=now,
                attachments=list(resolved.references),
            )
            opener = self._opener(lane, messages, system, inference)
            runs.append(
                LaneRun(
                    lane=lane,
                    open_stream=self._stoppable(user_id, comparison.id, lane.index, opener),
                    input_estimate=estimate_request_tokens(system, messages),
                )
            )

        def store_lane(outcome: LaneOutcome) -> None:
            self._store_lane(user_id, comparison, questions[outcome.lane.index], outcome, request_id)

        meta = {
            "comparisonId": comparison.id,
            "conversationIds": [lane.conversation_id for lane in comparison.lanes],
        }
        return multiplex_lanes(
            runs,
            table=self._table,
            meta=meta,
            on_lane_end=store_lane,
            heartbeat_seconds=self._heartbeat,
        )

    def _opener(
        self, lane: Lane, messages: list[ChatMessage], system: str | None, inference: dict[str, Any]
    ) -> Callable[[], Iterator[Any]]:
        # Prompt caching as in a chat turn: checkpoints after the system prompt and the history.
        plan = plan_cache_points(lane.profile.prompt_caching, system=system, messages=messages)
        request = ModelRequest(
            model_id=lane.model_id,
            messages=messages,
            system=system,
            cache_system=plan.system,
            cache_after_messages=plan.after_messages,
            max_tokens=inference.get("maxTokens", self._config.max_output_tokens),
            inference_config=inference,
        )
        return lambda: self._fitted_stream(request)

    def _fitted_stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        """The lane's chunks. While the model refuses the input as longer than its context window
        (InputTooLong, before any chunk: the history's token estimate can undercount), it is asked
        again without the older half of the earlier turns, as a chat turn is (`AgentRun`); the
        stored lane keeps every message."""
        shortened = False
        while True:
            stream = iter(self._model.stream(request))
            try:
                try:
                    first = next(stream)
                except StopIteration:
                    return
                except InputTooLong as exc:
                    cut = older_half_cut(request.messages, len(request.messages) - 1)
                    if cut == 0:
                        raise InputTooLong.for_question(request.model_id) from exc
                    request = request.without_leading(cut)
                    shortened = True
                    continue
                if shortened:
                    yield LaneNotice(
                        code="history_shortened", message=history_shortened_text(request.model_id)
                    )
                yield first
                yield from stream
                return
            finally:
                close_iterator(stream)

    def _stoppable(
        self, user_id: str, comparison_id: str, lane: int, open_stream: Callable[[], Iterator[ModelChunk]]
    ) -> Callable[[], Iterator[ModelChunk]]:
        """The lane's chunks, ending with LaneStopped once the user asked to stop this lane
        (`stop_lane`, possibly served by another instance): checked with one consistent read
        every `deletion_check_seconds`, while the lane streams and while it still waits for its
        model's first chunk (a local model answers a few requests at a time: a lane can wait
        behind the others)."""
        interval = self._config.deletion_check_seconds

        def stop_requested() -> bool:
            try:
                return lane in self._store.stopped_lanes(user_id, comparison_id)
            except DomainError:
                _log.warning("could not read the stop requests of comparison %s", comparison_id)
                return False

        def chunks() -> Iterator[ModelChunk]:
            stream = iter(open_stream())
            # The first chunk is pulled in a thread of its own, so the stop requests are read
            # while the model has not answered yet; an abandoned stream is closed by that thread
            # once its pull returns (never used from two threads at once).
            puller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compare-first-chunk")
            pulled = puller.submit(next, stream, None)
            puller.shutdown(wait=False)
            while not _done_within(pulled, max(interval, 0.05)):
                if stop_requested():
                    pulled.add_done_callback(lambda _: close_iterator(stream))
                    raise LaneStopped()
            last = self._timer()
            try:
                chunk = pulled.result()
                if chunk is None:
                    return
                yield chunk
                for chunk in stream:
                    yield chunk
                    if self._timer() - last < interval:
                        continue
                    last = self._timer()
                    if stop_requested():
                        raise LaneStopped()
            finally:
                close_iterator(stream)

        return chunks

    def delete(self, user_id: str, comparison_id: str) -> None:
        """Delete the caller's comparison, then its lanes' conversations and their messages; the
        lane continued as an ordinary conversation, if any, is kept. The comparison goes first,
        so a failure part way leaves no comparison pointing at a missing lane (a lane
        conversation left behind is unlisted). Raises NotFound when it is not the caller's."""
        validate_id(comparison_id, "comparison id")
        comparison = self._store.get_comparison(user_id, comparison_id)
        self._store.delete_comparison(user_id, comparison_id)
        for lane in comparison.lanes:
            if lane.conversation_id == comparison.continued_as:
                continue
            with contextlib.suppress(NotFound):  # a lane that never stored an answer
                self._store.delete_conversation(user_id, lane.conversation_id)

    def stop_lane(self, user_id: str, comparison_id: str, lane: int) -> None:
        """Ask a running comparison's lane to stop (the others go on). Kept under the caller's
        own partition, so it can only ever reach the caller's comparisons.

        Raises InvalidInput for a lane outside 0-3, NotFound for a stored comparison without
        that lane (a comparison still in its first round has no item yet: any lane 0-3 is taken).
        """
        validate_id(comparison_id, "comparison id")
        if not 0 <= lane < MAX_LANES:
            raise InvalidInput(f"lane must be between 0 and {MAX_LANES - 1}")
        # A comparison's item is written when its first lane ends, so during its first round it
        # is not found yet: only a comparison already stored can show that it lacks the lane.
        try:
            comparison: Comparison | None = self._store.get_comparison(user_id, comparison_id)
        except NotFound:
            comparison = None
        if comparison is not None and all(entry.index != lane for entry in comparison.lanes):
            raise NotFound(f"This comparison has no lane {lane}")
        self._store.request_lane_stop(user_id, comparison_id, lane)

    def _store_lane(
        self,
        user_id: str,
        comparison: Comparison,
        question: Message,
        outcome: LaneOutcome,
        request_id: str | None,
    ) -> None:
        """The lane's question, answer and call record in one write (or the call record alone when
        the model said nothing before failing)."""
        lane = outcome.lane
        stored_lane = comparison.lanes[lane.index]
        usage = Usage(
            outcome.usage.input_tokens,
            outcome.usage.output_tokens,
            estimated=outcome.usage.estimated,
            cache_read_tokens=outcome.usage.cache_read_tokens,
            cache_write_tokens=outcome.usage.cache_write_tokens,
        )
        cost = plain_decimal(outcome.cost_usd)
        record = self._calls.new_record(
            user_id=user_id,
            conversation_id=stored_lane.conversation_id,
            model=lane.model_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=outcome.latency_ms,
            status=outcome.status,
            request_id=request_id,
            error=outcome.error,
            kind="compare",
            stop_reason=outcome.stop_reason if outcome.status == "complete" else None,
            tokens_estimated=usage.estimated,
            cost_usd=cost,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        )
        try:
            answered = outcome.status == "complete" or bool(outcome.text)
            if not answered:
                self._calls.write(record)
                return
            now = iso_now(self._clock())
            conversation = Conversation(
                id=stored_lane.conversation_id,
                user_id=user_id,
                title=comparison.title,
                created_at=comparison.created_at,
                updated_at=now,
                model=lane.model_id,
                system=comparison.system,
                inference_config=lane.settings.to_json() or None,
                comparison_id=comparison.id,
                lane=lane.index,
            )
            answer = Message(
                id=keys.new_id(),
                conversation_id=stored_lane.conversation_id,
                role="assistant",
                content=outcome.text,
                created_at=now,
                status="complete"
                if outcome.status == "complete"
                else ("stopped" if outcome.status == "stopped" else "incomplete"),
                usage=usage,
                model=lane.model_id,
                stop_reason=outcome.stop_reason if outcome.status == "complete" else None,
                cost_usd=cost,
                inference_config=lane.settings.to_json() or None,
            )
            self._calls.write_with_answer(
                record,
                lambda: self._store.record_lane_turn(
                    replace(comparison, updated_at=now), conversation, question, answer, record
                ),
            )
        finally:
            self._calls.observe(record)

    # -- reading and continuing -----------------------------------------------------------------

    def list(self, user_id: str, *, limit: int = 20, cursor: str | None = None) -> Page[Comparison]:
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100")
        return self._store.list_comparisons(user_id, limit, cursor or None)

    def get(self, user_id: str, comparison_id: str, *, limit: int = 50) -> ComparisonWithLanes:
        """The comparison and the first `limit` messages of each lane (NotFound: not the caller's)."""
        validate_id(comparison_id, "comparison id")
        comparison = self._store.get_comparison(user_id, comparison_id)
        messages = {
            lane.index: self._store.list_messages(user_id, lane.conversation_id, limit, None).items
            for lane in comparison.lanes
        }
        return ComparisonWithLanes(comparison, messages)

    def continue_lane(self, user_id: str, comparison_id: str, lane: int) -> Conversation:
        """Turn one lane into an ordinary conversation (listed, followed up with POST /chat).

        Raises NotFound for another user's comparison, an unknown lane, or a lane that has no
        stored answer; repeating it for the lane already continued returns the same conversation.
        """
        validate_id(comparison_id, "comparison id")
        comparison = self._store.get_comparison(user_id, comparison_id)
        chosen = next((entry for entry in comparison.lanes if entry.index == lane), None)
        if chosen is None:
            raise NotFound(f"This comparison has no lane {lane}")
        if comparison.continued_as is not None and comparison.continued_as != chosen.conversation_id:
            raise AlreadyContinued(
                "Another lane of this comparison was already continued",
                details={"conversationId": comparison.continued_as},
            )
        try:
            self._store.get_conversation(user_id, chosen.conversation_id)
        except NotFound:
            raise NotFound(f"Lane {lane} has no answer to continue") from None
        return self._store.continue_comparison_lane(
            user_id, comparison.id, chosen.conversation_id, updated_at=iso_now(self._clock())
        )


def lane_inputs(raw: Sequence[Mapping[str, Any]]) -> list[LaneInput]:
    """The request's lanes ({model?, inferenceConfig?}) as `LaneInput`s."""
    return [LaneInput(item.get("model"), item.get("inferenceConfig")) for item in raw]


def _done_within(future: Future[Any], seconds: float) -> bool:
    """Whether `future` finished within `seconds` (`concurrent.futures.wait`)."""
    return bool(wait([future], timeout=seconds).done)

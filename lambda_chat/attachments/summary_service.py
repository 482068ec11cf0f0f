"""POST /documents/{uploadId}/summary as a domain operation that yields StreamEvents.

Order of work, so that a refused request leaves nothing behind: check the upload, the
conversation and the model, extract the text (hostile files fail here), summarize; only then
create the conversation (when new) and store the two messages: the user's "Summarize <file>"
carrying the document reference, and the assistant's summary. Every model call gets a call-log
record, including failed ones.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from chatbot_common import keys
from chatbot_common.errors import DomainError, Throttled, UnsupportedMediaType
from chatbot_common.keys import validate_id
from chatbot_common.model_table import DEFAULT_MODEL_TABLE, Price
from chatbot_common.timestamps import iso_now
from chatbot_common.uploads import UploadRecord
from lambda_chat.attachments.context_windows import ContextWindow, context_window
from lambda_chat.attachments.documents import DocumentLibrary, reference
from lambda_chat.attachments.map_reduce import (
    Completion,
    SummaryOptions,
    SummaryResult,
    fit_to_model,
    summarize_text,
)
from lambda_chat.domain.call_log import CallRecorder
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.cost import TokenUsage, cost_usd, plain_decimal
from lambda_chat.domain.entities import CallRecord, Conversation, ConversationChanges, Message, Usage
from lambda_chat.domain.events import StreamEvent, collect_events, error_event
from lambda_chat.domain.ports import (
    ChatMessage,
    ChatModel,
    ConversationRepository,
    ModelRequest,
    close_iterator,
)
from lambda_chat.domain.prompt_cache import plan_cache_points

_log = logging.getLogger(__name__)


class SummaryCancelled(Exception):
    """The client went away; remaining model calls are skipped."""


@dataclass(frozen=True)
class SummaryOutcome:
    """The JSON form of a summary."""

    conversation_id: str
    message_id: str
    summary: str
    chunks: int
    usage: Usage
    model: str
    latency_ms: int
    stop_reason: str = "end_turn"  # max_tokens: the summary was cut by the output limit
    cost_usd: float | None = None  # every map and reduce call, at the model table's price


class ChatModelSummaries:
    """The summarizer's model function over the chat service's (retrying) ChatModel."""

    def __init__(
        self,
        model: ChatModel,
        model_id: str,
        max_tokens: int,
        *,
        log_call: Callable[[int, int, int, str, DomainError | None], None],
        cancelled: threading.Event,
    ) -> None:
        self._model = model
        self._model_id = model_id
        self._max_tokens = max_tokens
        self._log_call = log_call
        self._cancelled = cancelled

    def __call__(
        self, system: str, prompt: str, *, on_delta: Callable[[str], None] | None = None
    ) -> Completion:
        if self._cancelled.is_set():
            raise SummaryCancelled()
        messages = [ChatMessage.text("user", prompt)]
        # The instructions are the same for every chunk of a map-reduce: a cache checkpoint after
        # them (for caching models, once they reach the model's minimum) lets the next calls read them.
        caching = DEFAULT_MODEL_TABLE.profile_for(self._model_id).prompt_caching
        plan = plan_cache_points(caching, system=system, messages=[])
        request = ModelRequest(
            model_id=self._model_id,
            messages=messages,
            system=system,
            max_tokens=self._max_tokens,
            cache_system=plan.system,
        )
        started = time.perf_counter()
        parts: list[str] = []
        tokens_in = tokens_out = 0
        stop_reason = "end_turn"
        chunks = self._model.stream(request)
        try:
            for chunk in chunks:
                if chunk.stop_reason is not None:
                    stop_reason = chunk.stop_reason
                if chunk.text:
                    parts.append(chunk.text)
                    if on_delta is not None:
                        on_delta(chunk.text)
                if chunk.input_tokens is not None:
                    # A summary's call record counts the whole prompt as input (cache reads included).
                    tokens_in = (
                        chunk.input_tokens + (chunk.cache_read_tokens or 0) + (chunk.cache_write_tokens or 0)
                    )
                if chunk.output_tokens is not None:
                    tokens_out = chunk.output_tokens
                if self._cancelled.is_set():
                    raise SummaryCancelled()
        except DomainError as exc:
            latency = int((time.perf_counter() - started) * 1000)
            status = "throttled" if isinstance(exc, Throttled) else "error"
            self._log_call(tokens_in, tokens_out, latency, status, exc)
            raise
        except SummaryCancelled:
            self._log_call(
                tokens_in, tokens_out, int((time.perf_counter() - started) * 1000), "stopped", None
            )
            raise
        finally:
            close_iterator(chunks)
        # A call cut by its output limit is logged as incomplete: its text is not the whole answer.
        status = "incomplete" if stop_reason == "max_tokens" else "complete"
        self._log_call(tokens_in, tokens_out, int((time.perf_counter() - started) * 1000), status, None)
        return Completion("".join(parts), tokens_in, tokens_out, self._model_id, stop_reason)


class DocumentSummaryService:
    def __init__(
        self,
        library: DocumentLibrary,
        store: ConversationRepository,
        model: ChatModel,
        catalog: ModelCatalog,
        *,
        options: SummaryOptions,
        max_output_tokens: int = 800,
        clock: Callable[[], float] = time.time,
        on_call: Callable[[CallRecord], None] | None = None,
        context_window: Callable[[str], ContextWindow] = context_window,
        price_for: Callable[[str], Price | None] = DEFAULT_MODEL_TABLE.price_for,
    ) -> None:
        """`on_call` sees every call record, as for chat turns (log line and metrics).
        `options` and `max_output_tokens` are caps; each summary's calls are sized from its
        model's `context_window(model_id)` (``fit_to_model``) and priced at `price_for(model_id)`
        (the model table's price: every map and reduce call's record, and the summary's total)."""
        self._library = library
        self._store = store
        self._model = model
        self._catalog = catalog
        self._options = options
        self._max_output_tokens = max_output_tokens
        self._clock = clock
        self._calls = CallRecorder(store, clock=clock, on_call=on_call)
        self._context_window = context_window
        self._price_for = price_for

    def start_summary(
        self,
        user_id: str,
        upload_id: str,
        *,
        conversation_id: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
    ) -> Iterator[StreamEvent]:
        """Check everything that can be refused, extract the text, and return the event stream."""
        record = self._library.record(user_id, upload_id)
        if record.purpose != "document":
            raise UnsupportedMediaType(f"{record.filename} is an image; only documents can be summarized")
        conversation: Conversation | None = None
        if conversation_id is not None:
            conversation = self._store.get_conversation(
                user_id, validate_id(conversation_id, "conversationId")
            )
        model_id = model or (conversation.model if conversation else None) or self._catalog.default_model_id()
        self._catalog.require(model_id)
        loaded = self._library.document(record)  # hostile files are refused here, before any write
        return self._run(user_id, loaded.record, loaded.text, conversation, model_id, request_id)

    def _run(
        self,
        user_id: str,
        record: UploadRecord,
        text: str,
        conversation: Conversation | None,
        model_id: str,
        request_id: str | None,
    ) -> Iterator[StreamEvent]:
        conversation_id = conversation.id if conversation else keys.new_id()
        user_message_id = keys.new_id()
        message_id = keys.new_id()
        started = time.perf_counter()
        events: queue.Queue[StreamEvent | BaseException | None] = queue.Queue()
        cancelled = threading.Event()

        def log_call(
            tokens_in: int, tokens_out: int, latency: int, status: str, err: DomainError | None
        ) -> None:
            record = self._calls.new_record(
                user_id=user_id,
                conversation_id=conversation_id,
                model=model_id,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                latency_ms=latency,
                status=status,  # type: ignore[arg-type]
                request_id=request_id,
                error=err,
                kind="summary",
                cost_usd=plain_decimal(
                    cost_usd(TokenUsage(tokens_in, tokens_out), self._price_for(model_id))
                ),
            )
            self._calls.record(record)

        options = fit_to_model(
            replace(self._options, output_tokens=self._max_output_tokens), self._context_window(model_id)
        )
        summaries = ChatModelSummaries(
            self._model, model_id, options.output_tokens, log_call=log_call, cancelled=cancelled
        )

        def work() -> None:
            try:
                result = summarize_text(
                    text,
                    title=record.filename,
                    model=summaries,
                    options=options,
                    on_progress=lambda done, total: events.put(
                        StreamEvent("progress", {"done": done, "total": total})
                    ),
                    on_delta=lambda piece: events.put(StreamEvent("delta", {"text": piece})),
                )
                events.put(StreamEvent("_result", {"result": result}))
            except BaseException as exc:
                events.put(exc)
            finally:
                events.put(None)

        ids = {"conversationId": conversation_id, "messageId": message_id, "userMessageId": user_message_id}
        # A new conversation is created only once the summary is stored: until then `meta` does not
        # name it (a failed summary must not announce a conversation that never exists); `done`
        # carries the ids of what was stored.
        announced = ids if conversation is not None else {}
        yield StreamEvent("meta", {**announced, "model": model_id, "filename": record.filename})
        worker = threading.Thread(target=work, name="document-summary", daemon=True)
        worker.start()
        result: SummaryResult | None = None
        failure: BaseException | None = None
        try:
            while True:
                item = events.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    failure = item
                elif item.name == "_result":
                    result = item.data["result"]
                else:
                    yield item
        finally:
            # Client gone (generator closed) or finished: stop any remaining model calls.
            cancelled.set()
        if failure is not None or result is None:
            if isinstance(failure, DomainError):
                yield error_event(failure)
            else:
                _log.error("summary failed", exc_info=failure)
                yield error_event(DomainError("The summary could not be completed"))
            return
        latency_ms = int((time.perf_counter() - started) * 1000)
        cost = cost_usd(TokenUsage(result.input_tokens, result.output_tokens), self._price_for(model_id))
        self._store_summary(
            user_id,
            record,
            conversation,
            conversation_id,
            user_message_id,
            message_id,
            model_id,
            result,
            cost,
        )
        yield StreamEvent(
            "usage",
            {
                "inputTokens": result.input_tokens,
                "outputTokens": result.output_tokens,
                "costUsd": None if cost is None else float(cost),
            },
        )
        yield StreamEvent(
            "done",
            {**ids, "stopReason": result.stop_reason, "latencyMs": latency_ms, "chunks": result.chunks},
        )

    def _store_summary(
        self,
        user_id: str,
        record: UploadRecord,
        conversation: Conversation | None,
        conversation_id: str,
        user_message_id: str,
        message_id: str,
        model_id: str,
        result: SummaryResult,
        cost: Decimal | None,
    ) -> None:
        now = iso_now(self._clock())
        request = Message(
            id=user_message_id,
            conversation_id=conversation_id,
            role="user",
            content=f"Summarize {record.filename}",
            created_at=now,
            attachments=[reference(record)],
        )
        if conversation is None:
            # A new conversation and its first message in one request, as a chat turn does.
            self._store.start_conversation(
                Conversation(
                    id=conversation_id,
                    user_id=user_id,
                    title=f"Summary of {record.filename}"[:60],
                    created_at=now,
                    updated_at=now,
                    model=model_id,
                ),
                request,
            )
        else:
            self._store.append_message(user_id, request)
        self._store.append_message(
            user_id,
            Message(
                id=message_id,
                conversation_id=conversation_id,
                role="assistant",
                content=result.summary,
                created_at=iso_now(self._clock()),
                # Cut by the output limit: stored as incomplete so a reload still shows it was cut.
                status="incomplete" if result.stop_reason == "max_tokens" else "complete",
                usage=Usage(result.input_tokens, result.output_tokens),
                model=model_id,
                cost_usd=plain_decimal(cost),
            ),
        )
        if conversation is not None:
            try:
                self._store.update_conversation(
                    user_id, conversation_id, ConversationChanges(iso_now(self._clock()))
                )
            except DomainError:
                _log.warning("could not touch the conversation after its summary")


def aggregate_summary(events: Iterator[StreamEvent]) -> SummaryOutcome:
    """Fold the summary's events into its JSON form; an ``error`` event raises its typed error."""
    collected = collect_events(events, "Summary failed")
    return SummaryOutcome(
        conversation_id=collected.done["conversationId"],
        message_id=collected.done["messageId"],
        summary=collected.text.strip(),
        chunks=int(collected.done.get("chunks", 0)),
        usage=collected.usage,
        model=collected.meta["model"],
        latency_ms=int(collected.done.get("latencyMs", 0)),
        stop_reason=str(collected.done.get("stopReason", "end_turn")),
        cost_usd=collected.usage_event.get("costUsd"),
    )

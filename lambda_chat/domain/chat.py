"""One chat turn: validate, load history, call the model streaming, store both messages.

`ChatService.start_turn` does everything that can be refused (bad input, unknown conversation or
model, unusable attachments) before anything is written, and returns a generator of
`StreamEvent`s that performs the turn. The SSE form forwards the events; the JSON form aggregates
them (`aggregate_turn`). Closing the generator early (client went away) stops the model and stores
the partial answer marked ``stopped``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatbot_common import keys
from chatbot_common.errors import DomainError, InvalidInput, PayloadTooLarge, Throttled
from chatbot_common.keys import validate_id
from chatbot_common.timestamps import iso_now
from lambda_chat.domain.call_log import CallRecorder
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.conversations import validate_system
from lambda_chat.domain.entities import (
    CallRecord,
    CallStatus,
    Conversation,
    Message,
    MessageStatus,
    Usage,
)
from lambda_chat.domain.events import StreamEvent, collect_events, error_event
from lambda_chat.domain.history import (
    conversation_title,
    document_references,
    trim_history,
)
from lambda_chat.domain.ports import (
    AttachmentResolver,
    ChatMessage,
    ChatModel,
    ConversationRepository,
    ModelRequest,
    ResolvedAttachments,
    close_iterator,
)
from lambda_chat.domain.presets import preset_prompt
from lambda_chat.domain.tokens import estimate_block_tokens, estimate_tokens

_log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10


@dataclass(frozen=True)
class ChatConfig:
    max_message_chars: int = 32_000
    max_system_chars: int = 8_000
    history_token_budget: int = 6_000
    history_max_messages: int = 100
    max_output_tokens: int = 1_024


@dataclass(frozen=True)
class TurnInput:
    message: str = ""
    conversation_id: str | None = None
    model: str | None = None
    system: str | None = None
    attachments: Sequence[str] = ()
    preset: str | None = None


@dataclass(frozen=True)
class TurnResult:
    """The JSON form of a turn."""

    conversation_id: str
    message_id: str
    answer: str
    stop_reason: str | None
    usage: Usage
    model: str
    latency_ms: int


@dataclass
class _Turn:
    user_id: str
    request_id: str | None
    conversation: Conversation
    is_new: bool
    model_id: str
    system: str | None
    text: str
    model_messages: list[ChatMessage]
    references: list[dict[str, Any]] = field(default_factory=list)


class ChatService:
    def __init__(
        self,
        store: ConversationRepository,
        model: ChatModel,
        catalog: ModelCatalog,
        config: ChatConfig,
        *,
        attachments: AttachmentResolver | None = None,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        """`on_call` sees every call record (the app logs them as structured lines)."""
        self._store = store
        self._model = model
        self._catalog = catalog
        self._config = config
        self._attachments = attachments
        self._clock = clock
        self._timer = timer
        self._calls = CallRecorder(store, clock=clock, on_call=on_call)

    def start_turn(
        self, user_id: str, turn: TurnInput, *, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        """Check and prepare a turn; raise DomainError before writing anything if it is refused."""
        text = self._message_text(turn)
        system_override = validate_system(turn.system, self._config.max_system_chars)
        upload_ids = self._upload_ids(turn.attachments)

        if turn.conversation_id is not None:
            conversation_id = validate_id(turn.conversation_id, "conversationId")
            conversation = self._store.get_conversation(user_id, conversation_id)
            history = self._store.recent_messages(user_id, conversation_id, self._config.history_max_messages)
            is_new = False
        else:
            now = iso_now(self._clock())
            conversation = Conversation(
                id=keys.new_id(),
                user_id=user_id,
                title=conversation_title(text),
                created_at=now,
                updated_at=now,
                system=system_override or None,
            )
            history = []
            is_new = True

        model_id = turn.model or conversation.model or self._catalog.default_model_id()
        self._catalog.require(model_id)
        system = system_override if system_override is not None else conversation.system
        system = system or None

        resolved = self._resolve_attachments(user_id, upload_ids, history, text)
        reserved = estimate_tokens(system or "") + estimate_tokens(text)
        reserved += estimate_block_tokens(resolved.content_blocks)
        messages = trim_history(
            history, token_budget=self._config.history_token_budget, reserved_tokens=reserved
        )
        messages.append(ChatMessage(role="user", content=[*resolved.content_blocks, {"text": text}]))

        if is_new:
            conversation = Conversation(**{**conversation.__dict__, "model": model_id})
        prepared = _Turn(
            user_id=user_id,
            request_id=request_id,
            conversation=conversation,
            is_new=is_new,
            model_id=model_id,
            system=system,
            text=text,
            model_messages=messages,
            references=list(resolved.references),
        )
        return self._run(prepared)

    def run_turn(self, user_id: str, turn: TurnInput, *, request_id: str | None = None) -> TurnResult:
        """The whole turn, aggregated (the JSON form)."""
        return aggregate_turn(self.start_turn(user_id, turn, request_id=request_id))

    # -- validation -----------------------------------------------------------------------------

    def _message_text(self, turn: TurnInput) -> str:
        text = turn.message or ""
        if turn.preset is not None:
            prompt = preset_prompt(turn.preset)
            if not text.strip():
                text = prompt
        if not text.strip():
            raise InvalidInput("message must not be empty")
        if len(text) > self._config.max_message_chars:
            raise PayloadTooLarge(f"message is longer than {self._config.max_message_chars} characters")
        return text

    def _upload_ids(self, attachments: Sequence[str]) -> list[str]:
        if not attachments:
            return []
        if self._attachments is None:
            raise InvalidInput("Attachments are not supported by this deployment")
        if len(attachments) > MAX_ATTACHMENTS:
            raise InvalidInput(f"At most {MAX_ATTACHMENTS} attachments per message")
        ids = [validate_id(upload_id, "attachments[]") for upload_id in attachments]
        return list(dict.fromkeys(ids))

    def _resolve_attachments(
        self, user_id: str, upload_ids: list[str], history: list[Message], question: str
    ) -> ResolvedAttachments:
        if self._attachments is None:
            return ResolvedAttachments()
        earlier = document_references(history)
        if not upload_ids and not earlier:
            return ResolvedAttachments()
        return self._attachments.resolve(
            user_id, upload_ids, earlier, question, self._config.history_token_budget // 2
        )

    # -- the turn itself --------------------------------------------------------------------------

    def _run(self, turn: _Turn) -> Iterator[StreamEvent]:
        conversation = turn.conversation
        now = self._clock()
        user_message = Message(
            id=keys.new_id(),
            conversation_id=conversation.id,
            role="user",
            content=turn.text,
            created_at=iso_now(now),
            attachments=turn.references,
        )
        persisted = False

        def persist_request() -> None:
            # Written only once the model has answered something: a turn refused before its first
            # token (throttled after retries, invalid for the model) leaves no conversation or
            # question behind, so the client's retry does not duplicate them.
            # One request either way: a new conversation and its question together, or the question.
            nonlocal persisted
            if persisted:
                return
            if turn.is_new:
                self._store.start_conversation(conversation, user_message)
            else:
                self._store.append_message(turn.user_id, user_message)
            persisted = True

        assistant_id = keys.new_id()
        request = ModelRequest(
            model_id=turn.model_id,
            messages=turn.model_messages,
            system=turn.system,
            max_tokens=self._config.max_output_tokens,
        )

        # The first event, sent once the model has answered (or has finished answering nothing).
        meta = StreamEvent(
            "meta",
            {
                "conversationId": conversation.id,
                "messageId": assistant_id,
                "userMessageId": user_message.id,
                "model": turn.model_id,
            },
        )
        started = self._timer()
        parts: list[str] = []
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        meta_sent = False
        finished = False

        def finish(status: MessageStatus | CallStatus, error: DomainError | None = None) -> int:
            nonlocal finished
            finished = True
            latency_ms = int((self._timer() - started) * 1000)
            stored_status: MessageStatus | None = (
                status if status in ("complete", "incomplete", "stopped") else None  # type: ignore[assignment]
            )
            record = self._call_record(turn, status, input_tokens, output_tokens, latency_ms, error)  # type: ignore[arg-type]
            try:
                if persisted and stored_status is not None:
                    answer = Message(
                        id=assistant_id,
                        conversation_id=conversation.id,
                        role="assistant",
                        content="".join(parts),
                        created_at=iso_now(self._clock()),
                        status=stored_status,
                        usage=Usage(input_tokens, output_tokens),
                        model=turn.model_id,
                    )
                    self._record_answer(turn, answer, record)
                else:
                    self._calls.write(record)
            finally:
                self._calls.observe(record)
            return latency_ms

        chunks = self._model.stream(request)
        try:
            for chunk in chunks:
                if not meta_sent:
                    persist_request()
                    meta_sent = True
                    yield meta
                if chunk.text:
                    parts.append(chunk.text)
                    yield StreamEvent("delta", {"text": chunk.text})
                if chunk.input_tokens is not None:
                    input_tokens = chunk.input_tokens
                if chunk.output_tokens is not None:
                    output_tokens = chunk.output_tokens
                if chunk.stop_reason is not None:
                    stop_reason = chunk.stop_reason
        except GeneratorExit:
            if not finished:
                try:
                    persist_request()  # the user pressed stop: keep the question and what was said
                except DomainError:
                    _log.exception("could not store the question of a stopped turn")
                with _logged_on_failure("could not store the answer of a stopped turn"):
                    finish("stopped")
            raise
        except DomainError as exc:
            if not meta_sent:
                # Nothing reached the client: the caller answers with a plain HTTP error.
                finish("throttled" if isinstance(exc, Throttled) else "error", exc)
                raise
            finish("incomplete", exc)
            yield error_event(exc)
            return
        except Exception as exc:
            _log.exception("model stream failed unexpectedly")
            failure = DomainError("The answer could not be completed")
            if not meta_sent:
                finish("error", failure)
                raise failure from exc
            finish("incomplete", failure)
            yield error_event(failure)
            return
        finally:
            close_iterator(chunks)

        if not meta_sent:
            # The model answered nothing at all; still give the client a well-formed turn.
            persist_request()
            meta_sent = True
            yield meta
        try:
            latency_ms = finish("complete")
        except DomainError as exc:
            # The answer went out but could not be stored: say so rather than end silently.
            yield error_event(exc)
            return
        yield StreamEvent("usage", {"inputTokens": input_tokens, "outputTokens": output_tokens})
        yield StreamEvent("done", {"stopReason": stop_reason or "end_turn", "latencyMs": latency_ms})

    def _record_answer(self, turn: _Turn, answer: Message, record: CallRecord) -> None:
        """Store the answer, the conversation's touch and the call record in one write. The call
        record survives any failure of that write: it is then written alone."""
        changed_model = None if turn.model_id == turn.conversation.model else turn.model_id
        # Deleted while the turn ran (NotFound): the answer has nowhere to go (and leaves no orphan).
        self._calls.write_with_answer(
            record,
            lambda: self._store.record_answer(
                turn.user_id,
                answer,
                updated_at=iso_now(self._clock()),
                model=changed_model,
                call_record=record,
            ),
        )

    def _call_record(
        self,
        turn: _Turn,
        status: CallStatus,
        input_tokens: int,
        output_tokens: int,
        latency_ms: int,
        error: DomainError | None,
    ) -> CallRecord:
        return self._calls.new_record(
            user_id=turn.user_id,
            conversation_id=turn.conversation.id,
            model=turn.model_id,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            status=status,
            request_id=turn.request_id,
            error=error,
        )


@contextlib.contextmanager
def _logged_on_failure(what: str) -> Iterator[None]:
    try:
        yield
    except DomainError:
        _log.exception(what)


def aggregate_turn(events: Iterator[StreamEvent]) -> TurnResult:
    """Fold a turn's events into its JSON form; an `error` event raises its typed error."""
    collected = collect_events(events, "Model call failed")
    return TurnResult(
        conversation_id=collected.meta["conversationId"],
        message_id=collected.meta["messageId"],
        answer=collected.text,
        stop_reason=collected.done.get("stopReason"),
        usage=collected.usage,
        model=collected.meta["model"],
        latency_ms=int(collected.done.get("latencyMs", 0)),
    )

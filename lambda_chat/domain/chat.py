"""One chat turn: validate, load history, call the model streaming, store both messages.

`ChatService.start_turn` does everything that can be refused (bad input, unknown conversation or
model, unusable attachments) before anything is written, and returns a generator of
`StreamEvent`s that performs the turn. The SSE form forwards the events; the JSON form aggregates
them (`aggregate_turn`). Closing the generator early (client went away) stops the model and stores
the partial answer marked ``stopped``.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from chatbot_common import keys
from chatbot_common.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Throttled,
)
from chatbot_common.keys import validate_id
from chatbot_common.model_table import UNKNOWN_MODEL as UNKNOWN_PROFILE
from chatbot_common.model_table import ModelProfile, ModelTable, PromptCaching, load_model_table
from chatbot_common.timestamps import iso_now
from chatbot_common.typed_text import require_well_formed
from lambda_chat.domain.call_log import CallRecorder
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.conversations import validate_system
from lambda_chat.domain.cost import TokenUsage, cost_usd, plain_decimal
from lambda_chat.domain.entities import (
    CallRecord,
    CallStatus,
    Conversation,
    Message,
    Usage,
)
from lambda_chat.domain.errors import ConversationDeleted
from lambda_chat.domain.events import (
    OperationStopped,
    StreamEvent,
    collect_events,
    current_stop_signal,
    error_event,
)
from lambda_chat.domain.history import (
    document_references,
    history_budget,
    opened_by,
    visible_thread,
)
from lambda_chat.domain.inference import InferenceSettings, converse_inference_config, validate_inference
from lambda_chat.domain.ports import (
    AnsweredTurn,
    AttachmentRequest,
    AttachmentResolver,
    ChatMessage,
    ChatModel,
    ConversationRepository,
    HistoryWindow,
    ModelChunk,
    ModelRequest,
    ResolvedAttachments,
    close_iterator,
)
from lambda_chat.domain.presets import preset_prompt
from lambda_chat.domain.prompt_cache import plan_cache_points
from lambda_chat.domain.retry import RetryPolicy
from lambda_chat.domain.tokens import estimate_block_tokens, estimate_request_tokens, estimate_tokens
from lambda_chat.tools.agent_loop import (
    AgentConfig,
    AgentEvent,
    AgentRun,
    LoopDone,
    Notice,
    StepDone,
    TextDelta,
    ToolResultEvent,
    ToolUseEvent,
    tool_calls_summary,
)
from lambda_chat.tools.registry import ToolContext, ToolOutcome, ToolRegistry
from lambda_chat.tools.tool_catalog import ToolCatalog, ToolSnapshot
from lambda_chat.tools.tool_history import conversation_messages, trim_turns, with_question

_log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10
# Older document references a history window keeps (beyond them, earlier documents are forgotten).
_MAX_WINDOW_DOCUMENTS = 20


@dataclass(frozen=True)
class ChatConfig:
    max_message_chars: int = 32_000
    max_system_chars: int = 8_000
    history_token_budget: int = 6_000
    history_max_messages: int = 100
    max_output_tokens: int = 1_024
    # While an answer streams, how often to check that its conversation still exists (one
    # consistent GetItem each time): a delete stops the model within about this long.
    deletion_check_seconds: float = 1.0
    # A follow-up whose history ends with a question still being answered (a stop being stored,
    # a concurrent turn) waits up to this long for that answer, polling every `pending_poll_seconds`.
    pending_answer_wait_seconds: float = 3.0
    pending_poll_seconds: float = 0.05
    # A trailing question older than this is an abandoned turn (its Lambda ended): no wait. Lambda's
    # maximum duration (15 minutes, AWS Lambda quotas page).
    pending_answer_max_age_seconds: float = 900.0
    # The history read is sized by the token budget: first `history_token_budget /
    # history_tokens_per_message` messages (one Query), and the rest of `history_max_messages`
    # only when those came in under budget and more exist. 150 tokens is a typical chat message.
    history_tokens_per_message: int = 150
    # For models with prompt caching, the history's start moves in steps of this many messages
    # once old turns must be dropped (see `trim_history`), so its cached prefix stays valid.
    history_start_step: int = 16


@dataclass(frozen=True)
class TurnInput:
    message: str = ""
    conversation_id: str | None = None
    model: str | None = None
    system: str | None = None
    attachments: Sequence[str] = ()
    preset: str | None = None
    # Regenerate this answer (the newest of the conversation): same question, a new version.
    regenerate: str | None = None
    # Edit and resend this question: `message` replaces it; it and what followed are superseded.
    edit_of: str | None = None
    # The turn's own Converse inference settings (camelCase, as sent); they lie over the
    # conversation's stored ones (lambda_chat.domain.inference).
    inference_config: Mapping[str, Any] | None = None
    # Tool names for this turn (None: the conversation's, else the deployment's default).
    tools: Sequence[str] | None = None
    # Converse toolChoice for the first model call: "auto", "any" or an enabled tool's name.
    tool_choice: str | None = None


# One TransactWriteItems holds at most 100 items (DynamoDB quotas page): the edited question's
# Put plus the messages it supersedes.
MAX_SUPERSEDED = 99


@dataclass(frozen=True)
class _Rewrite:
    """How a regenerate or an edit reshapes a turn (docs/api.md "Versions")."""

    history: list[Message]
    question: Message | None = None  # regenerate: the stored question, reused as is
    question_version_of: str | None = None
    question_supersedes: tuple[str, ...] = ()
    answer_version_of: str | None = None
    answer_supersedes: tuple[str, ...] = ()
    upload_ids: tuple[str, ...] = ()


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
    # USD at the model's price (lambda_chat.domain.cost); None when the model has no known price.
    cost_usd: Decimal | None = None
    # [{id, name, input, status, output, step}] in call order (`tool_calls_summary`).
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


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
    # ~4 characters per token over everything sent (system, history, attachments, question):
    # the input count recorded when Bedrock sends none (a stopped or failed stream).
    input_token_estimate: int = 0
    # What the turn read (oldest first), older document references that did not fit, and the
    # conversation's message count they account for: the next history window is built from them.
    history: list[Message] = field(default_factory=list)
    earlier_documents: list[dict[str, Any]] = field(default_factory=list)
    window_base: int | None = None
    # Regenerate / edit (docs/api.md "Versions"); the defaults are a plain turn.
    rewrite: _Rewrite | None = None
    # The validated settings (turn over conversation) and the model's profile (limits, price).
    settings: InferenceSettings = field(default_factory=InferenceSettings)
    # The Converse inferenceConfig sent (`ChatService.inference_config` of `settings`).
    inference: dict[str, Any] = field(default_factory=dict)
    profile: ModelProfile | None = None
    # Tool use: the turn's registry, the names offered, the first call's toolChoice, the
    # notices to show (MCP servers left out), uploads this conversation references, and the
    # event set when the client goes away (stops a running tool batch at once).
    registry: ToolRegistry = field(default_factory=ToolRegistry)
    enabled_tools: list[str] = field(default_factory=list)
    tool_choice: str | None = None
    notices: tuple[str, ...] = ()
    conversation_upload_ids: tuple[str, ...] = ()
    cancel: threading.Event | None = None


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
        sleep: Callable[[float], None] = time.sleep,
        on_call: Callable[[CallRecord], None] | None = None,
        table: ModelTable | None = None,
        tools: ToolCatalog | None = None,
        agent: AgentConfig | None = None,
        retry: RetryPolicy | None = None,
        on_throttle: Callable[[ModelRequest], None] | None = None,
        on_tool: Callable[[ToolOutcome], None] | None = None,
    ) -> None:
        """`on_call` sees every call record (the app logs them as structured lines); `table` gives
        each model's limits, price and prompt caching (default: the built-in
        `chatbot_common.model_table`).

        Every turn runs the agent loop (`lambda_chat.tools.agent_loop.AgentRun`) over `model`:
        `tools` gives the registry per turn (none: plain turns), `agent` the step limit, `retry`
        the throttling retries of each model call (give the raw model, not a RetryingChatModel:
        the loop knows which step a chunk belongs to), `on_throttle` sees each throttled
        attempt and `on_tool` each tool outcome (for metrics).
        """
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()
        self._sleep = sleep
        self._tools = tools
        self._agent = agent or AgentConfig()
        self._retry = retry
        self._on_throttle = on_throttle
        self._on_tool = on_tool
        self._store = store
        self._model = model
        self._catalog = catalog
        self._config = config
        self._attachments = attachments
        self._clock = clock
        self._timer = timer
        self._calls = CallRecorder(store, clock=clock, on_call=on_call)
        self._table = table or load_model_table()

    @property
    def table(self) -> ModelTable:
        return self._table

    def turn_settings(
        self, model_id: str, own: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None
    ) -> InferenceSettings:
        """A turn's settings (`own`, over the conversation's `base`), checked against the model.

        Raises InvalidInferenceConfig (400) naming the field and the allowed range.
        """
        mine = InferenceSettings.from_json(own)
        stored = InferenceSettings.from_json(base)
        return validate_inference(mine.over(stored), self._table.profile_for(model_id), model_id=model_id)

    def inference_config(self, settings: InferenceSettings, profile: ModelProfile) -> dict[str, Any]:
        """The Converse inferenceConfig a turn sends for validated `settings`: maxTokens always,
        the deployment's default capped at the model's limit when unset
        (`lambda_chat.domain.inference.converse_inference_config`)."""
        return converse_inference_config(settings, profile, default_max_tokens=self._config.max_output_tokens)

    def request_history_budget(
        self,
        inference: Mapping[str, Any],
        profile: ModelProfile,
        tool_config: Mapping[str, Any] | None = None,
    ) -> int:
        """Tokens a request to this model may spend on history, system prompt and question: the
        configured budget within the model's context window, beside the answer's maxTokens (from
        the request's `inference` config, `inference_config`) and the tool definitions
        (`lambda_chat.domain.history.history_budget`)."""
        return history_budget(
            self._config.history_token_budget,
            context_window=profile.context_window,
            max_output_tokens=int(inference.get("maxTokens", self._config.max_output_tokens)),
            fixed_tokens=estimate_tokens(json.dumps(tool_config)) if tool_config else 0,
        )

    def start_turn(
        self, user_id: str, turn: TurnInput, *, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        """Check and prepare a turn; raise DomainError before writing anything if it is refused."""
        rewrite: _Rewrite | None = None
        if turn.regenerate is not None or turn.edit_of is not None:
            self._check_rewrite_input(turn)
        text = "" if turn.regenerate is not None else self._message_text(turn)
        system_override = validate_system(turn.system, self._config.max_system_chars)
        upload_ids = self._upload_ids(turn.attachments)
        snapshot = self.tool_snapshot()
        turn_tools = None if turn.tools is None else snapshot.registry.require(list(turn.tools))

        if turn.conversation_id is not None:
            conversation_id = validate_id(turn.conversation_id, "conversationId")
            # One storage round trip before the model is called: the conversation item carries the
            # newest messages (its history window) while its message count says they are all.
            conversation, count, window = self._store.get_conversation_with_history(user_id, conversation_id)
            if conversation.comparison_id is not None:
                # A lane's thread must stay the comparison's: every lane answers the same questions.
                raise Conflict(
                    f"Conversation {conversation_id} is a lane of comparison {conversation.comparison_id}: "
                    "continue it with POST /compare and that comparisonId."
                )
            if window is not None and window.count == count:
                history, earlier_documents = window.messages, window.documents
            else:
                # No current window (an older conversation, concurrent turns, a question still
                # being answered): query the messages, after the count so they include its messages.
                history, earlier_documents = self._settled_history(user_id, conversation_id), []
            window_base = count
            is_new = False
            if turn.regenerate is not None:
                rewrite = _regenerate(history, validate_id(turn.regenerate, "regenerate"))
            elif turn.edit_of is not None:
                rewrite = _edit(history, validate_id(turn.edit_of, "editOf"))
            # Earlier versions (regenerated answers, edited questions and what followed them) are
            # kept for the reader but never sent to the model again.
            history = rewrite.history if rewrite is not None else visible_thread(history)
            if rewrite is not None:
                if rewrite.question is not None:
                    text = rewrite.question.content
                if not upload_ids:
                    upload_ids = list(rewrite.upload_ids)
        else:
            now = iso_now(self._clock())
            # A new conversation keeps the tools its first turn named, as it keeps `system`.
            conversation = opened_by(Conversation, user_id, text, now, system_override, tools=turn_tools)
            history, earlier_documents = [], []
            window_base = 0
            is_new = True

        model_id = turn.model or conversation.model or self._catalog.default_model_id()
        self._catalog.require(model_id)
        settings = self.turn_settings(model_id, turn.inference_config, conversation.inference_config)
        system = system_override if system_override is not None else conversation.system
        system = system or None

        profile = self._table.profile_for(model_id)
        enabled = self._enabled_tools(snapshot, turn_tools, conversation, profile)
        # Validates toolChoice against what is enabled (400) before anything is written.
        tool_config = snapshot.registry.tool_config(enabled, turn.tool_choice)

        resolved = self._resolve_attachments(user_id, upload_ids, history, text, earlier_documents)
        reserved = estimate_tokens(system or "") + estimate_tokens(text)
        reserved += estimate_block_tokens(resolved.content_blocks)
        caching = profile.prompt_caching.supported
        inference = self.inference_config(settings, profile)
        budget = self.request_history_budget(inference, profile, tool_config)
        # Whole turns only (question, tool steps, answer): a toolUse never loses its toolResult;
        # for caching models the history's start moves in steps so the cached prefix holds.
        messages = trim_turns(
            conversation_messages(history),
            token_budget=budget,
            reserved_tokens=reserved,
            start_step=self._config.history_start_step if caching else 1,
            first_index=max(0, window_base - len(history)),
        )
        messages = with_question(
            messages, ChatMessage(role="user", content=[*resolved.content_blocks, {"text": text}])
        )
        input_estimate = estimate_request_tokens(system, messages)

        if is_new:
            # It keeps its first turn's inference settings too, as it keeps `system` and `tools`:
            # the page sends a new chat's settings with its first message.
            conversation = replace(conversation, model=model_id, inference_config=settings.to_json() or None)
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
            input_token_estimate=input_estimate,
            history=history,
            earlier_documents=earlier_documents,
            window_base=window_base,
            rewrite=rewrite,
            settings=settings,
            inference=inference,
            profile=profile,
            registry=snapshot.registry,
            enabled_tools=enabled,
            tool_choice=turn.tool_choice,
            notices=snapshot.notices,
            conversation_upload_ids=tuple(
                str(ref["uploadId"]) for ref in [*resolved.references, *document_references(history)]
            ),
            cancel=current_stop_signal(),
        )
        return self._run(prepared)

    def tool_snapshot(self) -> ToolSnapshot:
        """The tools available now (`GET /tools`, and each turn): none without a catalog."""
        if self._tools is None:
            return ToolSnapshot(ToolRegistry(), ())
        return self._tools.snapshot()

    @staticmethod
    def _enabled_tools(
        snapshot: ToolSnapshot,
        turn_tools: list[str] | None,
        conversation: Conversation,
        profile: ModelProfile,
    ) -> list[str]:
        """The turn's own list, else the conversation's (less tools gone since, such as those of
        an MCP server that is down), else the deployment's default (the built-ins) unless the
        model's profile says it is offered none by default (`ModelProfile.tools_by_default`)."""
        if turn_tools is not None:
            return turn_tools
        if conversation.tools is not None:
            return [name for name in conversation.tools if name in snapshot.registry]
        return snapshot.default_enabled() if profile.tools_by_default else []

    def run_turn(self, user_id: str, turn: TurnInput, *, request_id: str | None = None) -> TurnResult:
        """The whole turn, aggregated (the JSON form)."""
        return aggregate_turn(self.start_turn(user_id, turn, request_id=request_id))

    # -- validation (shared with comparisons) ----------------------------------------------------

    def message_text(self, turn: TurnInput) -> str:
        """The question's text, checked (400 empty or malformed, 413 too long)."""
        return self._message_text(turn)

    def upload_ids(self, attachments: Sequence[str]) -> list[str]:
        """The attachment upload ids, checked and de-duplicated (400)."""
        return self._upload_ids(attachments)

    def resolve_attachments(
        self, user_id: str, upload_ids: list[str], history: list[Message], question: str
    ) -> ResolvedAttachments:
        """The Converse blocks and references for the uploads and the history's documents."""
        return self._resolve_attachments(user_id, upload_ids, history, question)

    @staticmethod
    def _check_rewrite_input(turn: TurnInput) -> None:
        if turn.conversation_id is None:
            raise InvalidInput("regenerate and editOf need the conversationId they belong to")
        if turn.regenerate is not None and turn.edit_of is not None:
            raise InvalidInput("Send either regenerate or editOf, not both")
        if turn.regenerate is not None and (turn.message.strip() or turn.attachments or turn.preset):
            raise InvalidInput(
                "regenerate reuses the stored question: send no message, attachments or preset"
            )

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
        return require_well_formed(text, "message")

    def _background(self) -> Executor:
        """The service's worker threads (storage reads and writes that overlap a turn)."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="chat-io")
            return self._executor

    def _budgeted_history(self, user_id: str, conversation_id: str) -> list[Message]:
        """The newest messages, read in a size the token budget needs: one Query of
        budget/tokens-per-message items, and a second up to `history_max_messages` only when the
        first filled up under budget (long histories of short messages)."""
        config = self._config
        cap = config.history_max_messages
        first = min(cap, max(2, math.ceil(config.history_token_budget / config.history_tokens_per_message)))
        history = self._store.recent_messages(user_id, conversation_id, first)
        if len(history) < first or first >= cap:
            return history
        if sum(estimate_tokens(message.content) for message in history) >= config.history_token_budget:
            return history
        return self._store.recent_messages(user_id, conversation_id, cap)

    def _settled_history(
        self, user_id: str, conversation_id: str, history: list[Message] | None = None
    ) -> list[Message]:
        """The conversation's recent messages, once any answer still being stored has landed.

        A history that ends with a question (no answer after it) belongs to a turn still running,
        typically one the user just stopped whose partial answer is being written. The follow-up
        must see that answer, so it re-reads (bounded) until it appears. Works across Lambda
        instances: the store is the only thing both turns share.
        """
        if history is None:
            history = self._budgeted_history(user_id, conversation_id)
        deadline = self._timer() + self._config.pending_answer_wait_seconds
        while self._answer_pending(history) and self._timer() < deadline:
            self._sleep(self._config.pending_poll_seconds)
            history = self._budgeted_history(user_id, conversation_id)
        return history

    def _answer_pending(self, history: list[Message]) -> bool:
        if not history or history[-1].role != "user":
            return False
        try:
            asked = datetime.fromisoformat(history[-1].created_at).timestamp()
        except ValueError:
            return False
        return self._clock() - asked < self._config.pending_answer_max_age_seconds

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
        self,
        user_id: str,
        upload_ids: list[str],
        history: list[Message],
        question: str,
        earlier_documents: Sequence[dict[str, Any]] = (),
    ) -> ResolvedAttachments:
        if self._attachments is None:
            return ResolvedAttachments()
        earlier = _unique_documents([*document_references(history), *earlier_documents])
        if not upload_ids and not earlier:
            return ResolvedAttachments()
        return self._attachments.resolve(
            AttachmentRequest(user_id, upload_ids, earlier, question, self._config.history_token_budget // 2)
        )

    # -- the turn itself --------------------------------------------------------------------------

    def _run(self, turn: _Turn) -> Iterator[StreamEvent]:
        """Run the agent loop (model -> tools -> model ...) through a `TurnRecorder`; see its
        docstring for the states. A turn with no tool enabled is one model call."""
        recorder = TurnRecorder(
            turn,
            store=self._store,
            config=self._config,
            clock=self._clock,
            timer=self._timer,
            calls=self._calls,
            prompt_caching=self._table.profile_for(turn.model_id).prompt_caching,
            background=self._background(),
            step_ids=2 * (self._agent.max_steps + 1),
        )
        run = AgentRun(
            _ObservedModel(self._model, recorder.saw_chunk),
            turn.registry,
            recorder.request,
            ToolContext(
                user_id=turn.user_id,
                conversation_id=turn.conversation.id,
                request_id=turn.request_id,
                conversation_upload_ids=tuple(dict.fromkeys(turn.conversation_upload_ids)),
            ),
            enabled=turn.enabled_tools,
            tool_choice=turn.tool_choice,
            config=self._agent,
            retry=self._retry,
            on_throttle=self._on_throttle,
            cancel=turn.cancel,
        )
        recorder.agent = run
        chunks = run.events()
        try:
            for event in chunks:
                if isinstance(event, StepDone) and self._on_tool is not None:
                    for outcome in event.outcomes:
                        self._on_tool(outcome)
                yield from recorder.accept_agent(event)
                if isinstance(event, LoopDone) and event.stopped:
                    raise OperationStopped()
                recorder.check_conversation_exists()
        except OperationStopped:
            # The client went away (the HTTP layer throws this in): stop the model and any tool
            # still running, store what was said, and end the events as a stopped turn, for an
            # idempotent retry to replay.
            close_iterator(chunks)
            yield from recorder.stopped()
            return
        except GeneratorExit:
            recorder.stop()  # closed early by a caller that wants no more events
            raise
        except DomainError as exc:
            yield from recorder.fail(exc)
            return
        except Exception as exc:
            _log.exception("model stream failed unexpectedly")
            yield from recorder.fail(DomainError("The answer could not be completed"), cause=exc)
            return
        finally:
            close_iterator(chunks)  # stops generation upstream, whatever ended the loop
        yield from recorder.complete()


class _ObservedModel:
    """The chat model, telling `on_chunk` about every chunk received (even one with no text:
    a stream that fails after `messageStart` did run, and its input is counted)."""

    def __init__(self, inner: ChatModel, on_chunk: Callable[[ModelChunk], None]) -> None:
        self._inner = inner
        self._on_chunk = on_chunk

    def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        chunks = iter(self._inner.stream(request))
        try:
            for chunk in chunks:
                self._on_chunk(chunk)
                yield chunk
        finally:
            close_iterator(chunks)


class TurnState(enum.Enum):
    """Where a turn is; `TurnRecorder` moves it forward only (never back)."""

    WAITING = "waiting"  # the model has not answered yet: nothing stored, nothing sent
    ANSWERING = "answering"  # the question is stored and `meta` sent; deltas are flowing
    FINISHED = "finished"  # the answer (or the failure) is recorded; the call record written


class TurnRecorder:
    """What one chat turn has stored and sent, as three states a reader can follow:

        WAITING --first text or toolUse delta--> ANSWERING --stream ends--> FINISHED (complete)
        WAITING --stream ends with no answer-------------------------------> FINISHED (complete, empty)
        WAITING --model fails---------> FINISHED: nothing stored, the error is raised (plain HTTP error)
        ANSWERING --model fails-------> FINISHED: partial answer stored "incomplete", `error` event
        ANSWERING --conversation deleted--> FINISHED: nothing more stored, `error` event
        any --client gone (stop)------> FINISHED: question and partial answer stored "stopped"

    "The model answered" means the first text or tool-use delta, not `messageStart`: a stream that
    fails before it leaves no conversation, question or empty answer behind, so a client's retry
    does not duplicate them. Every path writes one call record; token counts are Bedrock's when it
    sent them, else estimates marked `estimated` (never 0 for work the model did).
    """

    def __init__(
        self,
        turn: _Turn,
        *,
        store: ConversationRepository,
        config: ChatConfig,
        clock: Callable[[], float],
        timer: Callable[[], float],
        calls: CallRecorder,
        prompt_caching: PromptCaching | None = None,
        background: Executor | None = None,
        step_ids: int = 0,
    ) -> None:
        """`prompt_caching` is the model's row of the model table (None: no cache points).
        With `background`, the question is written on it while the answer streams (joined before
        the answer is stored); without, before the first event is sent. `step_ids`: how many
        message ids to reserve for tool-step messages, so that they sort between the question and
        the answer (ids are time-ordered ULIDs and the answer's id is sent in `meta`, before any
        step runs)."""
        self._background = background
        self._question_write: Future[None] | None = None
        prompt_caching = prompt_caching or PromptCaching()
        self.turn = turn
        self.state = TurnState.WAITING
        self._store = store
        self._config = config
        self._clock = clock
        self._timer = timer
        self._calls = calls
        plan = plan_cache_points(prompt_caching, system=turn.system, messages=turn.model_messages)
        profile = turn.profile or UNKNOWN_PROFILE
        inference = turn.inference
        self.request = ModelRequest(
            model_id=turn.model_id,
            messages=turn.model_messages,
            system=turn.system,
            cache_system=plan.system,
            cache_after_messages=plan.after_messages,
            max_tokens=inference.get("maxTokens", config.max_output_tokens),
            inference_config=inference,
        )
        self._price = profile.price
        rewrite = turn.rewrite or _Rewrite(history=[])
        self.question = rewrite.question or Message(
            id=keys.new_id(),
            conversation_id=turn.conversation.id,
            role="user",
            content=turn.text,
            created_at=iso_now(clock()),
            attachments=turn.references,
            version_of=rewrite.question_version_of,
        )
        self._step_ids = [keys.new_id() for _ in range(step_ids)]
        self.answer_id = keys.new_id()
        self.agent: AgentRun | None = None
        self._pending_notices: list[StreamEvent] = [
            StreamEvent("notice", {"code": "tools_unavailable", "message": notice}) for notice in turn.notices
        ]
        self._events: list[AgentEvent] = []
        self._step = 1
        self._prior_input = 0
        self._prior_output = 0
        self._prior_estimated = False
        self._step_started = timer()
        self._step_limit_reached = False
        self._model_answered = False
        # A regenerate answers a question stored by an earlier turn.
        self._question_stored = rewrite.question is not None
        self._started = timer()
        self._last_existence_check = self._started
        self._parts: list[str] = []
        self._chunks_seen = 0
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
        self._cache_read_tokens = 0
        self._cache_write_tokens = 0
        self._stop_reason: str | None = None

    # -- events in -------------------------------------------------------------------------------

    def saw_chunk(self, chunk: ModelChunk) -> None:
        """A model chunk arrived (the model ran, whatever it said): keep Bedrock's token counts
        as they come, and whether the model has started answering (text or a toolUse part)."""
        self._chunks_seen += 1
        if chunk.input_tokens is not None:
            self._input_tokens = chunk.input_tokens
        if chunk.output_tokens is not None:
            self._output_tokens = chunk.output_tokens
        if chunk.cache_read_tokens is not None:
            self._cache_read_tokens = chunk.cache_read_tokens
        if chunk.cache_write_tokens is not None:
            self._cache_write_tokens = chunk.cache_write_tokens
        if chunk.answers:
            self._model_answered = True

    def accept_agent(self, event: AgentEvent) -> Iterator[StreamEvent]:
        """Take one event of the agent loop; yield the stream events it produces.

        The first text or toolUse is "the model answered" (question stored, `meta` sent, then
        any notice held back until then). Each finished tool step is stored at once: its toolUse
        message and toolResult message (tool-step messages) and its call record (with the step
        number), so a stop or failure later keeps every whole step and never half of one.
        """
        self._events.append(event)
        if isinstance(event, TextDelta | ToolUseEvent) and self.state is TurnState.WAITING:
            if self._background is not None:
                # As in `accept`: the first event goes out without waiting for the question's
                # write; a tool step and every ending join it first.
                self._question_write = self._background.submit(self._store_question)
            else:
                self._store_question()
            self.state = TurnState.ANSWERING
            yield self._meta()
            yield from self._pending_notices
            self._pending_notices = []
        if isinstance(event, TextDelta):
            self._step = event.step
            self._parts.append(event.text)
            yield event.stream_event()
        elif isinstance(event, ToolUseEvent):
            yield event.stream_event()
        elif isinstance(event, ToolResultEvent):
            streamed = event.stream_event()
            yield StreamEvent(streamed.name, {**streamed.data, "output": event.outcome.text})
        elif isinstance(event, Notice):
            notice = event.stream_event()
            if self.state is TurnState.WAITING:
                self._pending_notices.append(notice)
            else:
                yield notice
        elif isinstance(event, StepDone):
            self._step_done(event)
        elif isinstance(event, LoopDone):
            self._step_limit_reached = event.step_limit_reached
            if event.stop_reason is not None and not event.stopped:
                self._stop_reason = event.stop_reason

    def _step_done(self, event: StepDone) -> None:
        self._input_tokens = event.input_tokens
        self._output_tokens = event.output_tokens
        self._stop_reason = event.stop_reason
        if event.tool_results is None:
            return  # the final step: its call record is written with the answer
        self._join_question_write()  # a step's messages never land before their question
        created = iso_now(self._clock())
        step_text = "".join(str(b.get("text", "")) for b in event.assistant.content if "text" in b)
        ids = self._step_ids[:2] if len(self._step_ids) >= 2 else [keys.new_id(), keys.new_id()]
        self._step_ids = self._step_ids[2:]
        for message_id, role, message, content in (
            (ids[0], "assistant", event.assistant, step_text),
            (ids[1], "user", event.tool_results, ""),
        ):
            self._store.append_message(
                self.turn.user_id,
                Message(
                    id=message_id,
                    conversation_id=self.turn.conversation.id,
                    role=role,  # type: ignore[arg-type]  # the two literals above
                    content=content,
                    created_at=created,
                    model=self.turn.model_id if role == "assistant" else None,
                    stop_reason=event.stop_reason if role == "assistant" else None,
                    blocks=list(message.content),
                    tool_step=True,
                ),
            )
        self._calls.record(
            self._calls.new_record(
                user_id=self.turn.user_id,
                conversation_id=self.turn.conversation.id,
                model=self.turn.model_id,
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                latency_ms=event.latency_ms,
                status="complete",
                request_id=self.turn.request_id,
                error=None,
                stop_reason=event.stop_reason,
                step=event.step,
            )
        )
        # The next step starts afresh: its text is the answer (this step's is stored with it).
        self._prior_input += event.input_tokens
        self._prior_output += event.output_tokens
        self._parts = []
        self._input_tokens = None
        self._output_tokens = None
        self._stop_reason = None
        self._step = event.step + 1
        self._step_started = self._timer()

    def tool_calls(self) -> list[dict[str, Any]]:
        """The JSON form's `toolCalls` so far."""
        return tool_calls_summary(self._events)

    def check_conversation_exists(self) -> None:
        """Every `deletion_check_seconds` while answering, one consistent read of the conversation:
        raises ConversationDeleted when another request deleted it (the caller stops the model)."""
        if self.state is not TurnState.ANSWERING:
            return
        now = self._timer()
        if now - self._last_existence_check < self._config.deletion_check_seconds:
            return
        self._last_existence_check = now
        # The question's write (long done by now in practice) must have landed first: a new
        # conversation is not readable before it, and a write that found it deleted says so.
        self._join_question_write()
        try:
            self._store.get_conversation(self.turn.user_id, self.turn.conversation.id)
        except NotFound:
            raise self._deleted() from None

    # -- endings ---------------------------------------------------------------------------------

    def complete(self) -> Iterator[StreamEvent]:
        """The stream ended normally: store the answer, then `usage` and `done` (or `error`)."""
        answered = self.state is TurnState.ANSWERING
        if not answered:
            self._store_question()  # the model answered nothing at all: still a well-formed turn
        try:
            latency_ms = self._finish("complete")
        except DomainError as exc:
            # The answer went out but could not be stored: say so rather than end silently.
            if not answered:
                yield self._meta()
            yield error_event(exc)
            return
        if not answered:
            yield self._meta()
        usage = self._total_usage("complete")
        yield StreamEvent("usage", _usage_data(usage, self._cost(usage)))
        done: dict[str, Any] = {"stopReason": self._final_stop_reason(), "latencyMs": latency_ms}
        if self._step_limit_reached:
            done["stepLimitReached"] = True
        yield StreamEvent("done", done)

    def stopped(self) -> Iterator[StreamEvent]:
        """`stop`, then the events a stopped turn ends with: meta (if none went out), usage, and
        `done` with stopReason "stopped" (the message is stored with status `stopped`)."""
        answered = self.state is TurnState.ANSWERING
        latency_ms = self.stop()
        if not answered:
            yield self._meta()
        usage = self._total_usage("stopped")
        yield StreamEvent("usage", _usage_data(usage, self._cost(usage)))
        yield StreamEvent("done", {"stopReason": "stopped", "latencyMs": latency_ms})

    def stop(self) -> int:
        """The client went away: keep the question and what was said, marked `stopped`. Returns
        the latency in ms."""
        if self.state is TurnState.FINISHED:
            return 0
        try:
            self._join_question_write()
            self._store_question()
        except DomainError:
            _log.exception("could not store the question of a stopped turn")
        with _logged_on_failure("could not store the answer of a stopped turn"):
            return self._finish("stopped")
        return int((self._timer() - self._started) * 1000)

    def fail(self, error: DomainError, *, cause: BaseException | None = None) -> Iterator[StreamEvent]:
        """The model (or storage) failed. Before the model answered: record the call and raise, so
        the client gets a plain HTTP error and nothing is stored. After: store the partial answer
        as `incomplete` and end with an `error` event naming what was kept."""
        if isinstance(error, ConversationDeleted):
            self._finish("stopped", error)
            yield error_event(error)
            return
        if self.state is TurnState.WAITING and self._model_answered:
            # A toolUse had begun (no event yet: its input was incomplete): the model answered.
            self._store_question()
            self.state = TurnState.ANSWERING
            yield self._meta()
        if self.state is TurnState.WAITING:
            self._finish("throttled" if isinstance(error, Throttled) else "error", error)
            if cause is not None:
                raise error from cause
            raise error
        try:
            self._finish("incomplete", error)
        except DomainError:
            _log.exception("could not store the partial answer of a failed turn")
        error.details.update(self._ids())
        yield error_event(error)

    # -- internals -------------------------------------------------------------------------------

    def _join_question_write(self) -> None:
        """Wait for the question's background write; raise its failure as a DomainError."""
        pending, self._question_write = self._question_write, None
        if pending is None:
            return
        try:
            pending.result()
        except NotFound:
            raise self._deleted() from None
        except DomainError:
            raise
        except Exception as exc:
            raise DomainError("The question could not be stored") from exc

    def _store_question(self) -> None:
        # One request either way: a new conversation and its question together, or the question.
        if self._question_stored:
            return
        supersedes = self.turn.rewrite.question_supersedes if self.turn.rewrite else ()
        if self.turn.is_new:
            self._store.start_conversation(self.turn.conversation, self.question)
        elif supersedes:
            self._store.append_message(self.turn.user_id, self.question, supersedes=supersedes)
        else:
            # Written beside the stream, so it must not land after a delete of the conversation.
            self._store.append_message(self.turn.user_id, self.question, require_conversation=True)
        self._question_stored = True

    def _ids(self) -> dict[str, str]:
        return {"conversationId": self.turn.conversation.id, "messageId": self.answer_id}

    def _meta(self) -> StreamEvent:
        return StreamEvent(
            "meta", {**self._ids(), "userMessageId": self.question.id, "model": self.turn.model_id}
        )

    def _deleted(self) -> ConversationDeleted:
        return ConversationDeleted(
            "The conversation was deleted while its answer was being written; the model call was stopped",
            details={"conversationId": self.turn.conversation.id},
        )

    def _final_stop_reason(self) -> str:
        return self._stop_reason or "end_turn"

    def _usage(self, status: CallStatus) -> Usage:
        """Bedrock's counts when it sent them; otherwise the estimate of what the model read and
        wrote (`estimated=True`). A call refused before the model ran (throttled, no chunk) used
        nothing."""
        reported = (self._input_tokens or 0) + (self._output_tokens or 0)
        reported += self._cache_read_tokens + self._cache_write_tokens
        # All-zero counts (a stream that failed at its start) are no count: a model that read a
        # prompt never reports zero tokens of it.
        if reported > 0:
            return Usage(
                self._input_tokens or 0,
                self._output_tokens or 0,
                cache_read_tokens=self._cache_read_tokens,
                cache_write_tokens=self._cache_write_tokens,
            )
        ran = self._chunks_seen > 0 or status in ("complete", "incomplete", "stopped")
        if status == "throttled" or not ran:
            return Usage()
        return Usage(
            input_tokens=self.turn.input_token_estimate,
            output_tokens=estimate_tokens("".join(self._parts)),
            estimated=True,
        )

    def _cost(self, usage: Usage) -> Decimal | None:
        """USD for `usage` at the model's price (None when unknown; local models cost 0)."""
        tokens = TokenUsage(
            usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens
        )
        return plain_decimal(cost_usd(tokens, self._price))

    def _total_usage(self, status: CallStatus) -> Usage:
        """The whole turn's usage: the finished tool steps' counts plus the last step's (cache
        counts are the last step's)."""
        last = self._usage(status)
        return Usage(
            self._prior_input + last.input_tokens,
            self._prior_output + last.output_tokens,
            estimated=last.estimated,
            cache_read_tokens=last.cache_read_tokens,
            cache_write_tokens=last.cache_write_tokens,
        )

    def _finish(self, status: CallStatus, error: DomainError | None = None) -> int:
        """Write what the turn ends with; returns the latency in ms. Moves to FINISHED first, so
        a failure while writing never records the turn twice. The call record is the last
        model call's (earlier steps wrote theirs); the answer carries the whole turn's usage."""
        self.state = TurnState.FINISHED
        question_error: DomainError | None = None
        try:
            self._join_question_write()
        except DomainError as exc:
            # The question never landed: its answer must not either (no answer without its
            # question); the call record is still written and the failure reported.
            _log.error("could not store the question of a turn", exc_info=exc)
            question_error = exc
        now = self._timer()
        latency_ms = int((now - self._started) * 1000)
        usage = self._usage(status)
        cost = self._cost(usage)
        stop_reason = self._final_stop_reason() if status == "complete" else None
        record = self._calls.new_record(
            user_id=self.turn.user_id,
            conversation_id=self.turn.conversation.id,
            model=self.turn.model_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=int((now - self._step_started) * 1000),
            status=status,
            request_id=self.turn.request_id,
            error=error,
            stop_reason=stop_reason,
            tokens_estimated=usage.estimated,
            cost_usd=cost,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            step=self._step if self.agent is not None else None,
        )
        try:
            if self._question_stored and status in ("complete", "incomplete", "stopped"):
                answer = Message(
                    id=self.answer_id,
                    conversation_id=self.turn.conversation.id,
                    role="assistant",
                    content="".join(self._parts),
                    created_at=iso_now(self._clock()),
                    status=status,  # type: ignore[arg-type]  # narrowed by the test above
                    usage=self._total_usage(status),
                    model=self.turn.model_id,
                    stop_reason=stop_reason,
                    version_of=self.turn.rewrite.answer_version_of if self.turn.rewrite else None,
                    cost_usd=cost,
                    inference_config=self.turn.settings.to_json() or None,
                )
                self._record_answer(answer, record)
            else:
                self._calls.write(record)
        finally:
            self._calls.observe(record)
        if question_error is not None and not isinstance(error, ConversationDeleted):
            raise question_error
        return latency_ms

    def _next_window(self, answer: Message) -> HistoryWindow | None:
        """The history the next turn reads with the conversation: what this turn read, its
        question and answer, newest first while the token budget holds. It counts the two
        messages this turn adds, so any other write meanwhile leaves it out of date (and unused)."""
        turn = self.turn
        if turn.window_base is None:
            return None
        messages = [*turn.history, self.question, answer]
        budget, kept = self._config.history_token_budget, 0
        start = len(messages)
        while start > 0 and kept < self._config.history_max_messages:
            tokens = estimate_tokens(messages[start - 1].content)
            if budget - tokens < 0:
                break
            budget -= tokens
            kept += 1
            start -= 1
        documents = _unique_documents([*document_references(messages[:start]), *turn.earlier_documents])
        return HistoryWindow(
            count=turn.window_base + 2,
            messages=messages[start:],
            documents=documents[:_MAX_WINDOW_DOCUMENTS],
        )

    def _record_answer(self, answer: Message, record: CallRecord) -> None:
        """Store the answer, the conversation's touch and the call record in one write. The call
        record survives any failure of that write: it is then written alone."""
        turn = self.turn
        changed_model = None if turn.model_id == turn.conversation.model else turn.model_id
        # A regenerate or edit changes the thread: no window is written (the next turn reads the
        # messages again and writes one from the thread as it then reads).
        window = self._next_window(answer) if turn.rewrite is None else None
        answered = AnsweredTurn(
            answer,
            updated_at=iso_now(self._clock()),
            model=changed_model,
            call_record=record,
            history_window=window,
            supersedes=turn.rewrite.answer_supersedes if turn.rewrite else (),
        )
        stored = self._calls.write_with_answer(
            record, lambda: self._store.record_answer(turn.user_id, answered)
        )
        if not stored and answer.status == "complete":
            # Deleted while the turn ran: the answer has nowhere to go (and leaves no orphan).
            raise self._deleted()


def _unique_documents(references: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    unique = []
    for ref in references:
        if ref.get("uploadId") not in seen:
            seen.add(ref.get("uploadId"))
            unique.append(ref)
    return unique


def _regenerate(history: list[Message], answer_id: str) -> _Rewrite:
    """A regenerate of `answer_id`: it must be the conversation's newest answer (404 when it is
    not one of the caller's messages in it, 400 when it is a question, 409 `not_latest_answer`
    when a newer message exists, 409 `message_superseded` when it is an earlier version)."""
    thread = visible_thread(history)
    index = next((i for i, m in enumerate(thread) if m.id == answer_id), None)
    if index is not None and thread[index].role != "assistant":
        raise InvalidInput("regenerate must name an answer, not a question (to change a question: editOf)")
    if index is None:
        if any(m.id == answer_id for m in history):
            raise Conflict(
                "That answer was already regenerated or edited; reload the conversation",
                code="message_superseded",
            )
        raise NotFound("Answer not found in this conversation", details={"messageId": answer_id})
    if index != len(thread) - 1:
        raise Conflict("Only the newest answer can be regenerated", code="not_latest_answer")
    # The question is the last person-written message before the answer; tool steps between
    # them (toolUse / toolResult messages) belong to the old answer and are superseded with it.
    asked = next(
        (i for i in range(index - 1, -1, -1) if thread[i].role == "user" and not thread[i].tool_step), None
    )
    if asked is None:
        raise Conflict("That answer has no question to answer again", code="not_latest_answer")
    question = thread[asked]
    answer = thread[index]
    return _Rewrite(
        history=thread[:asked],
        question=question,
        answer_version_of=answer.version_group,
        answer_supersedes=tuple(m.id for m in thread[asked + 1 :]),
        upload_ids=_upload_ids_of(question),
    )


def _edit(history: list[Message], question_id: str) -> _Rewrite:
    """An edit of `question_id`: it and every later message of the thread are superseded (kept
    as the earlier version, docs/api.md "Versions")."""
    thread = visible_thread(history)
    index = next((i for i, m in enumerate(thread) if m.id == question_id), None)
    if index is None:
        if any(m.id == question_id for m in history):
            raise Conflict(
                "That message was already edited; reload the conversation", code="message_superseded"
            )
        raise NotFound("Message not found in this conversation", details={"messageId": question_id})
    original = thread[index]
    if original.role != "user":
        raise InvalidInput("editOf must name one of your messages, not an answer")
    superseded = tuple(m.id for m in thread[index:])
    if len(superseded) > MAX_SUPERSEDED:
        raise Conflict(
            f"Editing a message followed by more than {MAX_SUPERSEDED - 1} messages is not supported",
            code="edit_too_far_back",
        )
    return _Rewrite(
        history=thread[:index],
        question_version_of=original.version_group,
        question_supersedes=superseded,
        upload_ids=_upload_ids_of(original),
    )


def _upload_ids_of(question: Message) -> tuple[str, ...]:
    ids = [ref.get("uploadId") for ref in question.attachments if ref.get("kind") == "image"]
    return tuple(i for i in ids if isinstance(i, str))


def _usage_data(usage: Usage, cost: Decimal | None = None) -> dict[str, Any]:
    """The SSE `usage` event: Converse's token names and `costUsd` (null when unpriced)."""
    data: dict[str, Any] = {"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens}
    if usage.cache_read_tokens or usage.cache_write_tokens:
        data["cacheReadInputTokens"] = usage.cache_read_tokens
        data["cacheWriteInputTokens"] = usage.cache_write_tokens
    if usage.estimated:
        data["estimated"] = True
    data["costUsd"] = None if cost is None else float(cost)
    return data


@contextlib.contextmanager
def _logged_on_failure(what: str) -> Iterator[None]:
    try:
        yield
    except DomainError:
        _log.exception(what)


def aggregate_turn(events: Iterator[StreamEvent]) -> TurnResult:
    """Fold a turn's events into its JSON form; an `error` event raises its typed error."""
    seen: list[StreamEvent] = []

    def kept(stream: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        for event in stream:
            if event.name in ("tool_use", "tool_result"):
                seen.append(event)
            yield event

    collected = collect_events(kept(events), "Model call failed")
    return TurnResult(
        conversation_id=collected.meta["conversationId"],
        message_id=collected.meta["messageId"],
        answer=collected.text,
        stop_reason=collected.done.get("stopReason"),
        usage=collected.usage,
        model=collected.meta["model"],
        latency_ms=int(collected.done.get("latencyMs", 0)),
        cost_usd=_decimal_or_none(collected.usage_event.get("costUsd")),
        tool_calls=tool_calls_from_events(seen),
    )


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def tool_calls_from_events(events: Sequence[StreamEvent]) -> list[dict[str, Any]]:
    """`toolCalls` of the JSON form from `tool_use` and `tool_result` events: [{id, name, input,
    status, output, step}] in the order the results came (a call stopped before its result has
    status "stopped")."""
    calls: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event.data
        if event.name == "tool_use":
            calls[data["id"]] = {
                "id": data["id"],
                "name": data["name"],
                "input": data.get("input", {}),
                "status": "stopped",
                "output": "",
                "step": data.get("step"),
            }
        elif event.name == "tool_result":
            call = calls.setdefault(
                data["id"], {"id": data["id"], "name": data["name"], "input": {}, "step": data.get("step")}
            )
            call["status"] = data.get("status", "success")
            call["output"] = data.get("output", data.get("preview", ""))
    return list(calls.values())

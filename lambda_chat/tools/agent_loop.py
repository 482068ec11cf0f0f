"""The agent loop: model -> toolUse blocks -> run the tools -> toolResult message -> model again.

Plain domain code over the ``ChatModel`` port. ``AgentRun.events()`` is a (blocking) generator
of typed events, run in a worker thread like the chat turn. Its contract:

- Each model call is a *step*. A step whose answer holds toolUse blocks is a *tool step*: its
  calls run concurrently (per-tool timeout and output cap from the registry's ``ToolLimits``),
  their results go back as one user message of toolResult blocks in call order, and the model
  is called again. After ``max_steps`` tool steps, one last call is made without ``toolConfig``
  (tool blocks rewritten as text) so the model must answer; ``LoopDone.step_limit_reached`` says
  so, and ``stop_reason`` is that call's.
- An unknown tool, input failing the tool's schema, a tool error, a timeout: a toolResult with
  status ``error`` and a plain message, which the model reads. Never an exception.
- Throttling (``RETRYABLE``) is retried per step with the ``RetryPolicy`` while nothing of that
  step has been received; otherwise the DomainError propagates to the caller (steps already
  finished were reported by their ``StepDone`` events; ``AgentRun.step`` names the failed one).
- A model that refuses ``toolConfig`` (``ToolsUnsupported``) gets the step again without tools,
  and a ``Notice`` is yielded.
- A model that refuses the input as longer than its context window (``InputTooLong``: the
  history is sized by an estimate, and the model's tokenizer can count more) gets the step again
  without the older half of the conversation's earlier turns, as often as that leaves some, and
  a ``Notice`` is yielded; the stored conversation is unchanged.
- Closing the generator stops it: the model stream is closed, and running tools are cancelled
  (an external ``cancel`` event does the same between events, and stops a running tool batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from chatbot_common.errors import Throttled
from lambda_chat.domain.events import StreamEvent
from lambda_chat.domain.ports import ChatMessage, ChatModel, ModelRequest
from lambda_chat.domain.retry import RETRYABLE, RetryPolicy, close_iterator
from lambda_chat.tools.model_stream import (
    InputTooLong,
    ToolModelRequest,
    ToolsUnsupported,
    ToolUseDelta,
    ToolUseStart,
    ToolUseStop,
    history_shortened_text,
)
from lambda_chat.tools.registry import ToolCall, ToolContext, ToolOutcome, ToolRegistry
from lambda_chat.tools.tool_history import has_tool_blocks, older_half_cut, tool_blocks_as_text

_log = logging.getLogger(__name__)

STOPPED_TEXT = "The tool run was stopped."


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    step: int
    text: str

    def stream_event(self) -> StreamEvent:
        return StreamEvent("delta", {"text": self.text})


@dataclass(frozen=True)
class ToolUseEvent:
    """A toolUse block whose input is complete (`input` is {} when it was not valid JSON)."""

    step: int
    tool_use_id: str
    name: str
    input: dict[str, Any]

    def stream_event(self) -> StreamEvent:
        return StreamEvent(
            "tool_use", {"id": self.tool_use_id, "name": self.name, "input": self.input, "step": self.step}
        )


@dataclass(frozen=True)
class ToolResultEvent:
    step: int
    outcome: ToolOutcome
    preview_chars: int = 200

    def stream_event(self) -> StreamEvent:
        o = self.outcome
        return StreamEvent(
            "tool_result",
            {
                "id": o.tool_use_id,
                "name": o.name,
                "status": o.status,
                "preview": o.preview(self.preview_chars),
                "durationMs": o.duration_ms,
                "step": self.step,
            },
        )


@dataclass(frozen=True)
class StepDone:
    """One model call finished. `assistant` is the message to store and replay; `tool_results`
    the user message of toolResult blocks answering it (None when the step used no tool)."""

    step: int
    input_tokens: int
    output_tokens: int
    stop_reason: str | None
    latency_ms: int
    tools_offered: bool
    assistant: ChatMessage
    tool_results: ChatMessage | None
    outcomes: tuple[ToolOutcome, ...] = ()

    def stream_event(self) -> StreamEvent:
        return StreamEvent(
            "step",
            {
                "step": self.step,
                "inputTokens": self.input_tokens,
                "outputTokens": self.output_tokens,
                "stopReason": self.stop_reason,
            },
        )


@dataclass(frozen=True)
class Notice:
    code: str  # tools_unsupported, step_limit, history_shortened
    message: str

    def stream_event(self) -> StreamEvent:
        return StreamEvent("notice", {"code": self.code, "message": self.message})


@dataclass(frozen=True)
class LoopDone:
    """The loop ended. `text` is the final step's answer; `stopped` when cancelled."""

    steps: int
    stop_reason: str | None
    step_limit_reached: bool
    input_tokens: int
    output_tokens: int
    text: str
    stopped: bool = False

    def stream_event(self) -> StreamEvent | None:
        return None  # the chat turn sends its own usage/done


AgentEvent = TextDelta | ToolUseEvent | ToolResultEvent | StepDone | Notice | LoopDone


# --- running a step's tools ----------------------------------------------------------------------


class ToolExecutor:
    """Runs one step's calls concurrently on a private event loop in a helper thread, yielding
    outcomes as they finish. Closing the iterator (or setting `cancel`) cancels what still runs."""

    def __init__(self, registry: ToolRegistry, *, poll_seconds: float = 0.05) -> None:
        self._registry = registry
        self._poll = poll_seconds

    def run(
        self,
        calls: Sequence[ToolCall],
        context: ToolContext,
        *,
        enabled: Sequence[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[ToolOutcome]:
        if not calls:
            return
        results: queue.Queue[ToolOutcome | BaseException] = queue.Queue()
        abandon = threading.Event()

        def worker() -> None:
            # Not asyncio.run: it waits for the default executor's threads at the end, so a tool
            # that timed out inside asyncio.to_thread would hold the turn until it finished.
            # loop.close() shuts the executor down without waiting.
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self._run_all(calls, context, enabled, results, abandon, cancel))
            except BaseException as exc:  # surfaced in the consuming thread
                results.put(exc)
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=worker, name="tool-batch", daemon=True)
        thread.start()
        try:
            for _ in calls:
                item = results.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            abandon.set()
            thread.join()

    async def _run_all(
        self,
        calls: Sequence[ToolCall],
        context: ToolContext,
        enabled: Sequence[str] | None,
        results: queue.Queue[ToolOutcome | BaseException],
        abandon: threading.Event,
        cancel: threading.Event | None,
    ) -> None:
        async def one(call: ToolCall) -> None:
            results.put(await self._registry.run(call, context, enabled=enabled))

        tasks = {asyncio.create_task(one(call)): call for call in calls}
        pending = set(tasks)
        while pending:
            _done, pending = await asyncio.wait(pending, timeout=self._poll)
            if pending and (abandon.is_set() or (cancel is not None and cancel.is_set())):
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for task in pending:
                    call = tasks[task]
                    results.put(ToolOutcome(call.tool_use_id, call.name, "error", STOPPED_TEXT, 0, 0))
                return


# --- the loop ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentConfig:
    max_steps: int = 6  # tool steps before the forced final answer
    max_calls_per_step: int = 8
    preview_chars: int = 200


@dataclass
class _PendingUse:
    index: int
    tool_use_id: str
    name: str
    parts: list[str] = field(default_factory=list)


@dataclass
class _StepState:
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    bad_input: dict[str, str] = field(default_factory=dict)  # toolUseId -> problem
    open: dict[int, _PendingUse] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    received: bool = False


class AgentRun:
    """One turn's agent loop. Build it, then iterate ``events()`` once.

    `request`: model id, system, max tokens and the messages so far (history and the new
    question, with tool blocks of earlier turns). `enabled`: tool names offered (validated by
    the caller with ``ToolRegistry.require``); empty means a plain turn. `tool_choice`: "auto",
    "any" or a tool name, applied to the first step only (a forced choice on every step would
    never let the model answer).
    """

    def __init__(
        self,
        model: ChatModel,
        registry: ToolRegistry,
        request: ModelRequest,
        context: ToolContext,
        *,
        enabled: Sequence[str],
        tool_choice: str | None = None,
        config: AgentConfig | None = None,
        retry: RetryPolicy | None = None,
        on_throttle: Callable[[ModelRequest], None] | None = None,
        cancel: threading.Event | None = None,
        timer: Callable[[], float] = time.perf_counter,
        executor: ToolExecutor | None = None,
    ) -> None:
        self._model = model
        self._registry = registry
        self._base = request
        self._context = context
        self._enabled = list(enabled)
        self._tool_choice = tool_choice
        self._config = config or AgentConfig()
        self._retry = retry
        self._on_throttle = on_throttle
        self._cancel = cancel
        self._timer = timer
        self._executor = executor or ToolExecutor(registry)
        self.messages: list[ChatMessage] = list(request.messages)
        # Messages before the turn's question: the conversation's earlier turns (`_shorten_history`).
        self._earlier = max(0, len(self.messages) - 1)
        self.step = 0  # the step running (or last run), 1-based
        self.tools_available = bool(self._enabled)

    def _request(self, final: bool) -> ToolModelRequest:
        offer = self.tools_available and not final
        config = None
        if offer:
            choice = self._tool_choice if self.step == 1 else None
            config = self._registry.tool_config(self._enabled, choice)
        messages = self.messages
        if config is None and has_tool_blocks(messages):
            messages = tool_blocks_as_text(messages)
        # Every ModelRequest field rides along (inference settings added later included).
        carried = {f.name: getattr(self._base, f.name) for f in fields(ModelRequest)}
        return ToolModelRequest(**{**carried, "messages": messages, "tool_config": config})

    def events(self) -> Generator[AgentEvent, None, None]:
        totals = [0, 0]
        tool_steps = 0
        limit_reached = False
        while True:
            self.step += 1
            final = limit_reached
            started = self._timer()
            request, state = yield from self._fitted_step(final)
            totals[0] += state.input_tokens
            totals[1] += state.output_tokens
            calls = state.calls if request.tool_config is not None else []
            assistant = self._assistant_message(state, calls)
            latency_ms = int((self._timer() - started) * 1000)
            if not calls:
                yield StepDone(
                    self.step, state.input_tokens, state.output_tokens, state.stop_reason, latency_ms,
                    request.tool_config is not None, assistant, None,
                )  # fmt: skip
                yield LoopDone(
                    self.step, state.stop_reason, limit_reached, totals[0], totals[1], "".join(state.text)
                )
                return
            outcomes = yield from self._run_tools(state)
            results = ChatMessage(role="user", content=[o.result_block() for o in outcomes])
            self.messages.extend([assistant, results])
            yield StepDone(
                self.step, state.input_tokens, state.output_tokens, state.stop_reason, latency_ms,
                True, assistant, results, tuple(outcomes),
            )  # fmt: skip
            if self._cancel is not None and self._cancel.is_set():
                yield LoopDone(self.step, "stopped", False, totals[0], totals[1], "", stopped=True)
                return
            tool_steps += 1
            if tool_steps >= self._config.max_steps:
                limit_reached = True
                yield Notice(
                    "step_limit",
                    f"Reached the limit of {self._config.max_steps} tool steps; "
                    "answering without more tools.",
                )

    def _fitted_step(self, final: bool) -> Generator[AgentEvent, None, tuple[ToolModelRequest, _StepState]]:
        """One step's model call, made again without tools when the model has no tool use, and
        with fewer earlier turns while its input does not fit the model's context window."""
        shortened = False
        while True:
            request = self._request(final)
            try:
                return request, (yield from self._model_step(request))
            except ToolsUnsupported:
                if request.tool_config is None:
                    raise
                self.tools_available = False
                yield Notice(
                    "tools_unsupported",
                    f"The model {request.model_id} does not support tool use; answering without tools.",
                )
            except InputTooLong as exc:
                if not self._shorten_history():
                    raise InputTooLong.for_question(request.model_id) from exc
                if not shortened:  # one notice per step, however often it was shortened
                    shortened = True
                    yield Notice("history_shortened", history_shortened_text(request.model_id))

    def _shorten_history(self) -> int:
        """Leave out the older half (at least) of the earlier turns sent with this turn; returns
        how many messages were left out, 0 when none are left to drop.

        The cut falls where a turn starts (`tool_history.older_half_cut`). The request's
        prompt-cache checkpoints move with the messages they follow."""
        cut = older_half_cut(self.messages, self._earlier)
        if cut == 0:
            return 0
        self.messages = self.messages[cut:]
        self._earlier -= cut
        self._base = self._base.without_leading(cut)
        return cut

    def _assistant_message(self, state: _StepState, calls: list[ToolCall]) -> ChatMessage:
        text = "".join(state.text)
        content: list[dict[str, Any]] = [{"text": text}] if text.strip() else []
        content += [
            {"toolUse": {"toolUseId": c.tool_use_id, "name": c.name, "input": c.input}} for c in calls
        ]
        return ChatMessage(role="assistant", content=content or [{"text": text}])

    def _run_tools(self, state: _StepState) -> Generator[AgentEvent, None, list[ToolOutcome]]:
        limit = self._config.max_calls_per_step
        runnable = [c for c in state.calls[:limit] if c.tool_use_id not in state.bad_input]
        by_id: dict[str, ToolOutcome] = {}
        for call in state.calls:
            problem = state.bad_input.get(call.tool_use_id)
            if problem is None and call in runnable:
                continue
            text = problem or f"Too many tool calls in one step (the limit is {limit}); call fewer at a time."
            by_id[call.tool_use_id] = ToolOutcome(call.tool_use_id, call.name, "error", text, 0, 0)
            yield ToolResultEvent(self.step, by_id[call.tool_use_id], self._config.preview_chars)
        outcomes = self._executor.run(runnable, self._context, enabled=self._enabled, cancel=self._cancel)
        try:
            for outcome in outcomes:
                by_id[outcome.tool_use_id] = outcome
                _log.info(
                    "tool run",
                    extra={
                        "tool": outcome.name,
                        "status": outcome.status,
                        "durationMs": outcome.duration_ms,
                        "outputChars": outcome.output_chars,
                        "step": self.step,
                    },
                )
                yield ToolResultEvent(self.step, outcome, self._config.preview_chars)
        finally:
            close_iterator(outcomes)
        return [by_id[c.tool_use_id] for c in state.calls]

    def _model_step(self, request: ToolModelRequest) -> Generator[AgentEvent, None, _StepState]:
        attempt = 0
        while True:
            attempt += 1
            state = _StepState()
            chunks = iter(self._model.stream(request))
            try:
                for chunk in chunks:
                    yield from self._absorb(chunk, state)
                for pending in list(state.open.values()):
                    yield from self._finish_use(pending, state)
                return state
            except RETRYABLE as exc:
                if isinstance(exc, Throttled) and self._on_throttle is not None:
                    self._on_throttle(request)
                policy = self._retry
                if state.received or policy is None or attempt >= policy.max_attempts:
                    raise
            finally:
                close_iterator(chunks)
            policy.sleep(policy.delay(attempt - 1))

    def _absorb(self, chunk: Any, state: _StepState) -> Iterator[AgentEvent]:
        if chunk.text:
            state.received = True
            state.text.append(chunk.text)
            yield TextDelta(self.step, chunk.text)
        if chunk.input_tokens is not None:
            state.input_tokens = chunk.input_tokens
        if chunk.output_tokens is not None:
            state.output_tokens = chunk.output_tokens
        if chunk.stop_reason is not None:
            state.stop_reason = chunk.stop_reason
        part = getattr(chunk, "tool_part", None)
        if part is None:
            return
        state.received = True
        if isinstance(part, ToolUseStart):
            # A block starting ends any other open one (for adapters that cannot see stops).
            for other in [p for i, p in state.open.items() if i != part.index]:
                yield from self._finish_use(other, state)
            state.open[part.index] = _PendingUse(part.index, part.tool_use_id, part.name)
        elif isinstance(part, ToolUseDelta):
            pending = state.open.get(part.index)
            if pending is not None:
                pending.parts.append(part.input_json)
        elif isinstance(part, ToolUseStop):
            pending = state.open.get(part.index)
            if pending is not None:
                yield from self._finish_use(pending, state)

    def _finish_use(self, pending: _PendingUse, state: _StepState) -> Iterator[AgentEvent]:
        state.open.pop(pending.index, None)
        raw = "".join(pending.parts).strip()
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            value = None
        if not isinstance(value, dict):
            state.bad_input[pending.tool_use_id] = (
                f"The input for {pending.name} was not a complete JSON object (was the answer cut off?)."
            )
            value = {}
        call = ToolCall(pending.tool_use_id, pending.name, value)
        state.calls.append(call)
        yield ToolUseEvent(self.step, call.tool_use_id, call.name, value)


def run_to_completion(run: AgentRun) -> list[AgentEvent]:
    """Every event of a run (tests, and the JSON form's aggregation)."""
    with contextlib.closing(run.events()) as events:
        return list(events)


__all__ = [
    "AgentConfig",
    "AgentEvent",
    "AgentRun",
    "LoopDone",
    "Notice",
    "StepDone",
    "TextDelta",
    "ToolExecutor",
    "ToolResultEvent",
    "ToolUseEvent",
    "run_to_completion",
    "tool_calls_summary",
]


def tool_calls_summary(events: Sequence[AgentEvent]) -> list[dict[str, Any]]:
    """The JSON form's ``toolCalls``: [{id, name, input, status, output, step}] in call order."""
    uses = {e.tool_use_id: e for e in events if isinstance(e, ToolUseEvent)}
    summary = []
    for event in events:
        if isinstance(event, StepDone):
            for outcome in event.outcomes:
                use = uses.get(outcome.tool_use_id)
                summary.append(
                    {
                        "id": outcome.tool_use_id,
                        "name": outcome.name,
                        "input": use.input if use else {},
                        "status": outcome.status,
                        "output": outcome.text,
                        "step": event.step,
                    }
                )
    return summary

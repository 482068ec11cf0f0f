"""HTTP server speaking Bedrock Runtime's wire protocol (and the bits of the control plane a model
picker needs), in front of one or more engines.

Routes (all on one port; point both `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` and `AWS_ENDPOINT_URL_BEDROCK`
at it):
  POST /model/{modelId}/converse           Converse (JSON)
  POST /model/{modelId}/converse-stream    ConverseStream (application/vnd.amazon.eventstream)
  GET  /foundation-models[/{id}]           ListFoundationModels / GetFoundationModel
  GET  /inference-profiles                 ListInferenceProfiles (always empty)
  GET  /health                             {"status": "loading" | "ready" | "failed", "models": [...]}
  GET|POST|DELETE /_local/faults           fault injection (see FaultInjector.apply)
  GET  /_local/requests                    the Converse request bodies received so far
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local_stack.bedrock_runtime.engine import Engine, Finished, GenerationEvent, TextDelta, ToolCall
from local_stack.bedrock_runtime.errors import (
    BedrockError,
    ModelStreamError,
    ResourceNotFoundError,
    ThrottlingError,
    UnknownOperationError,
    ValidationError,
)
from local_stack.bedrock_runtime.eventstream import event_frame, exception_frame
from local_stack.bedrock_runtime.faults import FaultInjector
from local_stack.bedrock_runtime.prompt import build_prompt

logger = logging.getLogger(__name__)

_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
_INFERENCE_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|global|us-gov|jp|au|ca)\.")
_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
MSG_INVALID_MODEL = "The provided model identifier is invalid."
MSG_TOO_MANY_REQUESTS = "Too many requests, please wait before trying again."
# How many Converse bodies a long-running server keeps (they hold whole histories and base64 images).
LONG_RUNNING_RECORDED_REQUESTS = 200


class ModelRegistry:
    """Resolves the model ids clients send (plain ids, ARNs, inference-profile ids, aliases)."""

    def __init__(self, engines: Sequence[Engine], aliases: dict[str, str] | None = None) -> None:
        self.engines = list(engines)
        self._by_id = {e.description.model_id: e for e in self.engines}
        self._aliases = dict(aliases or {})

    def resolve(self, model_id: str) -> Engine | None:
        candidate = self._aliases.get(model_id, model_id)
        if candidate.startswith("arn:"):
            candidate = candidate.rsplit("/", 1)[-1]
        candidate = self._aliases.get(candidate, candidate)
        if candidate in self._by_id:
            return self._by_id[candidate]
        stripped = _INFERENCE_PROFILE_PREFIX.sub("", candidate)
        stripped = self._aliases.get(stripped, stripped)
        return self._by_id.get(stripped)


class InFlightLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._count >= self.limit:
                return False
            self._count += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._count -= 1


class RuntimeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        registry: ModelRegistry,
        faults: FaultInjector,
        max_in_flight: int,
        region: str,
        max_recorded_requests: int | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.registry = registry
        self.faults = faults
        self.limiter = InFlightLimiter(max_in_flight)
        self.region = region
        self.requests: list[dict[str, Any]] = []
        self.max_recorded_requests = max_recorded_requests
        self._record_lock = threading.Lock()

    def record(self, request: dict[str, Any]) -> None:
        with self._record_lock:
            self.requests.append(request)
            # A long-running server keeps only recent bodies (they can hold base64 images).
            limit = self.max_recorded_requests
            if limit is not None and len(self.requests) > limit:
                del self.requests[: len(self.requests) - limit]


def _model_summary(engine: Engine, region: str) -> dict[str, Any]:
    d = engine.description
    return {
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{d.model_id}",
        "modelId": d.model_id,
        "modelName": d.model_name,
        "providerName": d.provider_name,
        "inputModalities": list(d.input_modalities),
        "outputModalities": list(d.output_modalities),
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": "ACTIVE"},
    }


class _StreamEncoder:
    """Turns generation events into ConverseStream events, in Bedrock's order."""

    def __init__(self) -> None:
        self.index = 0
        self.text_open = False

    def events(self, event: GenerationEvent, started: float) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        if isinstance(event, TextDelta):
            if event.text:
                self.text_open = True
                out.append(
                    ("contentBlockDelta", {"contentBlockIndex": self.index, "delta": {"text": event.text}})
                )
            return out
        if self.text_open:
            out.append(("contentBlockStop", {"contentBlockIndex": self.index}))
            self.index += 1
            self.text_open = False
        if isinstance(event, ToolCall):
            start = {"toolUse": {"toolUseId": event.tool_use_id, "name": event.name}}
            delta = {"toolUse": {"input": json.dumps(event.input)}}
            out.append(("contentBlockStart", {"contentBlockIndex": self.index, "start": start}))
            out.append(("contentBlockDelta", {"contentBlockIndex": self.index, "delta": delta}))
            out.append(("contentBlockStop", {"contentBlockIndex": self.index}))
            self.index += 1
        elif isinstance(event, Finished):
            out.append(("messageStop", {"stopReason": event.stop_reason}))
            out.append(("metadata", {"usage": _usage(event), "metrics": {"latencyMs": _elapsed_ms(started)}}))
        return out


def _usage(event: Finished) -> dict[str, int]:
    return {
        "inputTokens": event.input_tokens,
        "outputTokens": event.output_tokens,
        "totalTokens": event.input_tokens + event.output_tokens,
    }


def _converse_response(events: Iterable[GenerationEvent], started: float) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    finished: Finished | None = None
    for event in events:
        if isinstance(event, TextDelta):
            if content and "text" in content[-1]:
                content[-1]["text"] += event.text
            elif event.text:
                content.append({"text": event.text})
        elif isinstance(event, ToolCall):
            content.append(
                {"toolUse": {"toolUseId": event.tool_use_id, "name": event.name, "input": event.input}}
            )
        elif isinstance(event, Finished):
            finished = event
    if finished is None:
        raise BedrockError("The model stopped without finishing its response.")
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": finished.stop_reason,
        "usage": _usage(finished),
        "metrics": {"latencyMs": _elapsed_ms(started)},
    }


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeHTTPServer

    def setup(self) -> None:
        super().setup()
        # Frames are small; without this Nagle would hold them back and streaming would stutter.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _request_id(self) -> str:
        return str(uuid.uuid4())

    def _send_json(self, status: int, body: Any, extra_headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("x-amzn-RequestId", self._request_id())
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _send_error(self, error: BedrockError) -> None:
        self._send_json(
            error.status,
            {"message": error.message},
            {"x-amzn-errortype": error.error_type + _ERROR_TYPE_SUFFIX},
        )

    def _region(self) -> str:
        match = _CREDENTIAL_REGION.search(self.headers.get("Authorization", ""))
        return match.group(1) if match else self.server.region

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        # Split before unquoting: an ARN model id arrives with its '/' percent-encoded.
        segments = [unquote(s) for s in url.path.split("/")[1:]]
        body = self._read_body() if method in ("POST", "DELETE") else b""
        try:
            self._route(method, segments, parse_qs(url.query), body)
        except BedrockError as exc:
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            logger.exception("unhandled error on %s %s", method, self.path)
            self._send_error(BedrockError("Internal server error."))

    def _route(self, method: str, seg: list[str], query: dict[str, list[str]], body: bytes) -> None:
        if (
            method == "POST"
            and len(seg) == 3
            and seg[0] == "model"
            and seg[2] in ("converse", "converse-stream")
        ):
            self._converse(seg[1], body, stream=seg[2] == "converse-stream")
        elif method == "GET" and seg == ["foundation-models"]:
            self._list_models(query)
        elif method == "GET" and len(seg) == 2 and seg[0] == "foundation-models":
            self._get_model(seg[1])
        elif method == "GET" and seg == ["inference-profiles"]:
            self._send_json(200, {"inferenceProfileSummaries": []})
        elif method == "GET" and seg == ["health"]:
            self._health()
        elif seg == ["_local", "faults"] and method in ("GET", "POST", "DELETE"):
            self._faults(method, body)
        elif method == "GET" and seg == ["_local", "requests"]:
            self._send_json(200, {"requests": list(self.server.requests)})
        else:
            raise UnknownOperationError(f"Unknown operation {method} {self.path}")

    # -- control plane and local endpoints --------------------------------------------------

    def _list_models(self, query: dict[str, list[str]]) -> None:
        region = self._region()
        summaries = [_model_summary(e, region) for e in self.server.registry.engines]
        if "byProvider" in query:
            wanted = query["byProvider"][0].lower()
            summaries = [s for s in summaries if s["providerName"].lower() == wanted]
        if "byOutputModality" in query:
            summaries = [s for s in summaries if query["byOutputModality"][0] in s["outputModalities"]]
        if "byInferenceType" in query:
            summaries = [s for s in summaries if query["byInferenceType"][0] in s["inferenceTypesSupported"]]
        if "byCustomizationType" in query:
            summaries = []
        self._send_json(200, {"modelSummaries": summaries})

    def _get_model(self, model_id: str) -> None:
        engine = self.server.registry.resolve(model_id)
        if engine is None:
            raise ResourceNotFoundError(f"Model {model_id} was not found.")
        self._send_json(200, {"modelDetails": _model_summary(engine, self._region())})

    def _health(self) -> None:
        models = []
        for engine in self.server.registry.engines:
            entry: dict[str, Any] = {"modelId": engine.description.model_id, "status": engine.status}
            if engine.load_error:
                entry["error"] = engine.load_error
            models.append(entry)
        statuses = {m["status"] for m in models}
        overall = "failed" if "failed" in statuses else "loading" if "loading" in statuses else "ready"
        self._send_json(200, {"status": overall, "models": models})

    def _faults(self, method: str, body: bytes) -> None:
        if method == "POST":
            try:
                spec = json.loads(body or b"{}")
            except json.JSONDecodeError as exc:
                raise ValidationError("The fault specification must be JSON.") from exc
            if not isinstance(spec, dict):
                raise ValidationError("The fault specification must be a JSON object.")
            self.server.faults.apply(spec)
        elif method == "DELETE":
            self.server.faults.clear()
        self._send_json(200, self.server.faults.snapshot())

    # -- Converse / ConverseStream ------------------------------------------------------------

    def _converse(self, model_id: str, body: bytes, stream: bool) -> None:
        started = time.perf_counter()
        try:
            parsed = json.loads(body or b"{}")
        except json.JSONDecodeError as exc:
            raise ValidationError("The request body is not valid JSON.") from exc
        if not isinstance(parsed, dict):
            raise ValidationError("The request body must be a JSON object.")
        request = {**parsed, "modelId": model_id, "stream": stream}
        self.server.record(request)
        if self.server.faults.take_throttle():
            raise ThrottlingError(MSG_TOO_MANY_REQUESTS)
        engine = self.server.registry.resolve(model_id)
        if engine is None:
            raise ValidationError(MSG_INVALID_MODEL)
        if not self.server.limiter.try_acquire():
            raise ThrottlingError(MSG_TOO_MANY_REQUESTS)
        cancel = threading.Event()
        try:
            prompt = build_prompt(engine.description.model_id, parsed)
            if stream:
                self._converse_stream(engine, prompt, request, cancel, started)
            else:
                events = engine.generate(prompt, request, cancel)
                self._send_json(200, _converse_response(events, started))
        finally:
            cancel.set()
            self.server.limiter.release()

    def _converse_stream(
        self, engine: Engine, prompt: Any, request: dict[str, Any], cancel: threading.Event, started: float
    ) -> None:
        if self.server.faults.take_throttle_in_stream():
            self._start_stream()
            self._send_frame(exception_frame("throttlingException", {"message": MSG_TOO_MANY_REQUESTS}))
            self._end_stream()
            return
        error_after = self.server.faults.take_stream_error()
        events: Iterator[GenerationEvent] = iter(engine.generate(prompt, request, cancel))
        # Pull the first event before answering, so validation errors (a prompt longer than the
        # context, a model that failed to load) still arrive as HTTP errors, as Bedrock sends them.
        first = next(events, None)
        self._start_stream()
        encoder = _StreamEncoder()
        tokens = 0
        try:
            self._send_frame(event_frame("messageStart", {"role": "assistant"}))
            pending = [first] if first is not None else []
            for event in itertools.chain(pending, events):
                if error_after is not None and tokens >= error_after:
                    raise ModelStreamError("The model stream was interrupted (injected fault).")
                if isinstance(event, TextDelta):
                    tokens += 1
                for event_type, payload in encoder.events(event, started):
                    self._send_frame(event_frame(event_type, payload))
            if error_after is not None and tokens >= error_after:
                raise ModelStreamError("The model stream was interrupted (injected fault).")
        except _ClientGone:
            cancel.set()
            self.close_connection = True
            logger.info("client disconnected; generation stopped")
            return
        except BedrockError as exc:
            cancel.set()
            body: dict[str, Any] = {"message": exc.message}
            if isinstance(exc, ModelStreamError):
                body.update({"originalStatusCode": 500, "originalMessage": exc.message})
            self._try_send(exception_frame(exc.stream_member, body))
        except Exception:
            cancel.set()
            logger.exception("stream failed")
            self._try_send(exception_frame("internalServerException", {"message": "Internal server error."}))
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        self._try_end()

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", self._request_id())
        self.end_headers()

    def _send_frame(self, frame: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            raise _ClientGone() from exc

    def _try_send(self, frame: bytes) -> None:
        try:
            self._send_frame(frame)
        except _ClientGone:
            self.close_connection = True

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _try_end(self) -> None:
        if self.close_connection:
            return
        try:
            self._end_stream()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True


class RunningRuntime:
    """A runtime serving in a background thread; see `serve_in_thread`."""

    def __init__(self, server: RuntimeHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.endpoint_url = f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every Converse/ConverseStream body received (plus `modelId`, `stream`), newest last."""
        return self._server.requests

    @property
    def faults(self) -> FaultInjector:
        return self._server.faults

    @property
    def engines(self) -> list[Engine]:
        return self._server.registry.engines

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until every engine has loaded (True) or one failed / timed out (False)."""
        deadline = time.monotonic() + timeout
        return all(e.wait_ready(max(0.0, deadline - time.monotonic())) for e in self.engines)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        for engine in self.engines:
            engine.close()

    def __enter__(self) -> RunningRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def create_server(
    engines: Sequence[Engine],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_in_flight: int = 32,
    aliases: dict[str, str] | None = None,
    region: str = "us-east-1",
    max_recorded_requests: int | None = None,
) -> RuntimeHTTPServer:
    """Bind the server (listening at once) and start loading every engine in the background.

    Every Converse body is recorded (`server.requests`); `max_recorded_requests` keeps only the
    most recent ones, for long-running servers.
    """
    if not engines:
        raise ValueError("At least one engine is required.")
    server = RuntimeHTTPServer(
        (host, port),
        ModelRegistry(engines, aliases),
        FaultInjector(),
        max_in_flight,
        region,
        max_recorded_requests,
    )
    for engine in engines:
        engine.start()
    return server


def serve_in_thread(
    engines: Sequence[Engine],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_in_flight: int = 32,
    aliases: dict[str, str] | None = None,
    region: str = "us-east-1",
    max_recorded_requests: int | None = None,
) -> RunningRuntime:
    """Start the runtime on a daemon thread and return at once; port 0 picks a free port."""
    server = create_server(
        engines,
        host,
        port,
        max_in_flight=max_in_flight,
        aliases=aliases,
        region=region,
        max_recorded_requests=max_recorded_requests,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="bedrock-runtime", daemon=True
    )
    thread.start()
    return RunningRuntime(server, thread)

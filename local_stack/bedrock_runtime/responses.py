"""Per-operation wire handling (moto's `responses.py`): parse and validate the request, call the
engine, serialise the answer. Handlers run on worker threads (engines block while generating).

Streaming handlers pull the first generation event before answering, so errors raised before any
output (a prompt longer than the context, a model that failed to load) still arrive as HTTP errors,
as Bedrock sends them; later errors become in-stream exception events.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from chatbot_common.eventstream import event_frame, exception_frame
from local_stack.bedrock_runtime.backend import RuntimeBackend
from local_stack.bedrock_runtime.converse import StreamEncoder, converse_response, elapsed_ms
from local_stack.bedrock_runtime.engine import Engine, GenerationEvent, TextDelta
from local_stack.bedrock_runtime.exceptions import (
    STREAM_EXCEPTIONS,
    BedrockError,
    ModelStreamErrorException,
    ResourceNotFoundException,
    ThrottlingException,
    ValidationException,
)
from local_stack.bedrock_runtime.faults import (
    CONVERSE_STREAM_EXCEPTIONS,
    INVOKE_STREAM_EXCEPTIONS,
    StreamFault,
)
from local_stack.bedrock_runtime.invoke import codec_for
from local_stack.bedrock_runtime.prompt import ModelPrompt, build_prompt
from local_stack.bedrock_runtime.validation import (
    check_converse_rules,
    check_guardrail,
    operation,
    validate_input,
)
from local_stack.bedrock_runtime.wire import Request, Response, StreamResponse

logger = logging.getLogger(__name__)

MSG_INVALID_MODEL = "The provided model identifier is invalid."
MSG_TOO_MANY_REQUESTS = "Too many requests, please wait before trying again."
MSG_INJECTED = "The model stream was interrupted (injected fault)."
_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


def operation_params(operation_name: str, request: Request, body: dict[str, Any] | None) -> dict[str, Any]:
    """The operation's input members from where its REST binding puts them (URI, headers, payload,
    JSON body), for botocore's validator."""
    op = operation(operation_name)
    shape = op.input_shape
    payload = shape.serialization.get("payload")
    params: dict[str, Any] = dict(body or {})
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            params[name] = request.params.get(wire_name, "")
        elif location == "header" and wire_name.lower() in request.headers:
            params[name] = request.headers[wire_name.lower()]
        elif name == payload:
            params[name] = request.body
    return params


def _exception_body(exc: BedrockError) -> dict[str, Any]:
    body: dict[str, Any] = {"message": exc.message}
    if isinstance(exc, ModelStreamErrorException):
        body.update({"originalStatusCode": 500, "originalMessage": exc.message})
    return body


class RuntimeResponses:
    """bedrock-runtime operations and the slice of the bedrock control plane a model picker needs."""

    def __init__(self, backend: RuntimeBackend) -> None:
        self.backend = backend

    # -- shared plumbing ----------------------------------------------------------------------

    def _engine(self, model_id: str) -> Engine:
        engine = self.backend.registry.resolve(model_id)
        if engine is None:
            raise ValidationException(MSG_INVALID_MODEL)
        return engine

    def _converse_body(
        self, operation_name: str, request: Request, stream: bool
    ) -> tuple[dict[str, Any], Engine]:
        body = request.json_body()
        model_id = request.params["modelId"]
        self.backend.record({**body, "modelId": model_id, "stream": stream})
        if self.backend.faults.take_throttle(model_id):
            raise ThrottlingException(MSG_TOO_MANY_REQUESTS)
        validate_input(operation_name, operation_params(operation_name, request, body))
        check_converse_rules(body)
        check_guardrail((body.get("guardrailConfig") or {}).get("guardrailIdentifier"))
        return body, self._engine(model_id)

    def _acquire(self) -> Callable[[], None]:
        if not self.backend.limiter.try_acquire():
            raise ThrottlingException(MSG_TOO_MANY_REQUESTS)
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self.backend.limiter.release()

        return release

    def _stream(
        self,
        engine: Engine,
        prompt: ModelPrompt,
        request: dict[str, Any],
        fault: StreamFault | None,
        encode: Callable[[Iterator[GenerationEvent]], Iterator[bytes]],
        release: Callable[[], None],
    ) -> StreamResponse:
        cancel = threading.Event()
        try:
            events = iter(engine.generate(prompt, request, cancel))
            first = next(events, None)
        except BaseException:
            cancel.set()
            release()
            raise

        def faulty(source: Iterator[GenerationEvent]) -> Iterator[GenerationEvent]:
            tokens = 0
            for event in source:
                if fault is not None and tokens >= fault.after_tokens:
                    raise STREAM_EXCEPTIONS[fault.exception](MSG_INJECTED)
                if isinstance(event, TextDelta):
                    tokens += 1
                yield event

        def frames() -> Iterator[bytes]:
            try:
                # Throttling in the stream comes first; other faults come after the stream's
                # opening event (messageStart for Converse), even after 0 tokens: the client sees a
                # stream that opened and failed before any text.
                if fault is not None and fault.before_start:
                    exc = STREAM_EXCEPTIONS[fault.exception](MSG_INJECTED)
                    yield exception_frame(fault.exception, _exception_body(exc))
                    return
                source = itertools.chain([first] if first is not None else [], events)
                yield from encode(faulty(source))
            except BedrockError as exc:
                yield exception_frame(exc.stream_member, _exception_body(exc))
            except Exception:
                logger.exception("stream failed")
                yield exception_frame("internalServerException", {"message": "Internal server error."})

        def close() -> None:
            cancel.set()
            closer = getattr(events, "close", None)
            if closer is not None:
                closer()
            release()

        return StreamResponse(frames(), cancel, on_close=close)

    # -- Converse / ConverseStream / CountTokens ----------------------------------------------

    def converse(self, request: Request) -> Response:
        started = time.perf_counter()
        body, engine = self._converse_body("Converse", request, stream=False)
        release = self._acquire()
        cancel = threading.Event()
        try:
            prompt = build_prompt(engine.description.model_id, body)
            events = engine.generate(
                prompt, {**body, "modelId": request.params["modelId"], "stream": False}, cancel
            )
            return Response.json(200, converse_response(events, started))
        finally:
            cancel.set()
            release()

    def converse_stream(self, request: Request) -> StreamResponse:
        started = time.perf_counter()
        body, engine = self._converse_body("ConverseStream", request, stream=True)
        release = self._acquire()
        try:
            prompt = build_prompt(engine.description.model_id, body)
        except BaseException:
            release()
            raise
        fault = self.backend.faults.take_stream_fault(CONVERSE_STREAM_EXCEPTIONS)

        def encode(events: Iterator[GenerationEvent]) -> Iterator[bytes]:
            encoder = StreamEncoder()
            yield event_frame("messageStart", {"role": "assistant"})
            for event in events:
                for event_type, payload in encoder.events(event, started):
                    yield event_frame(event_type, payload)

        record = {**body, "modelId": request.params["modelId"], "stream": True}
        return self._stream(engine, prompt, record, fault, encode, release)

    def count_tokens(self, request: Request) -> Response:
        body = request.json_body()
        validate_input("CountTokens", operation_params("CountTokens", request, body))
        engine = self._engine(request.params["modelId"])
        source = body["input"]
        if "converse" in source:
            converse = source["converse"]
            check_converse_rules(converse)
        else:
            native = _decode_blob(source["invokeModel"]["body"])
            converse = codec_for(request.params["modelId"], native).to_converse(native)
        prompt = build_prompt(engine.description.model_id, converse)
        counter = getattr(engine, "count_tokens", None)
        count = counter(prompt) if counter is not None else len(prompt.all_text().split())
        return Response.json(200, {"inputTokens": int(count)})

    def apply_guardrail(self, request: Request) -> Response:
        validate_input("ApplyGuardrail", operation_params("ApplyGuardrail", request, request.json_body()))
        raise ResourceNotFoundException(
            f"Guardrail {request.params['guardrailIdentifier']} version {request.params['guardrailVersion']} "
            "was not found. Guardrails are not emulated locally."
        )

    # -- InvokeModel / InvokeModelWithResponseStream --------------------------------------------

    def _invoke_setup(
        self, operation_name: str, request: Request, stream: bool
    ) -> tuple[Any, Engine, ModelPrompt, str]:
        model_id = request.params["modelId"]
        validate_input(operation_name, operation_params(operation_name, request, None))
        check_guardrail(request.headers.get("x-amzn-bedrock-guardrailidentifier"))
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if content_type not in ("application/json", ""):
            raise ValidationException(
                f"The provided Content-Type {content_type!r} is not supported; use application/json."
            )
        native = request.json_body()
        self.backend.record({**native, "modelId": model_id, "stream": stream, "operation": operation_name})
        if self.backend.faults.take_throttle(model_id):
            raise ThrottlingException(MSG_TOO_MANY_REQUESTS)
        codec = codec_for(model_id, native)
        engine = self._engine(model_id)
        prompt = build_prompt(engine.description.model_id, codec.to_converse(native))
        return codec, engine, prompt, model_id

    def invoke_model(self, request: Request) -> Response:
        started = time.perf_counter()
        codec, engine, prompt, model_id = self._invoke_setup("InvokeModel", request, stream=False)
        release = self._acquire()
        cancel = threading.Event()
        try:
            events = list(engine.generate(prompt, {"modelId": model_id, "stream": False}, cancel))
            payload = codec.response(model_id, events)
        finally:
            cancel.set()
            release()
        finished = events[-1]
        headers = {
            "x-amzn-bedrock-invocation-latency": str(elapsed_ms(started)),
            "x-amzn-bedrock-input-token-count": str(getattr(finished, "input_tokens", 0)),
            "x-amzn-bedrock-output-token-count": str(getattr(finished, "output_tokens", 0)),
        }
        return Response.json(200, payload, headers)

    def invoke_model_stream(self, request: Request) -> StreamResponse:
        started = time.perf_counter()
        codec, engine, prompt, model_id = self._invoke_setup(
            "InvokeModelWithResponseStream", request, stream=True
        )
        release = self._acquire()
        fault = self.backend.faults.take_stream_fault(INVOKE_STREAM_EXCEPTIONS)

        def encode(events: Iterator[GenerationEvent]) -> Iterator[bytes]:
            for chunk in codec.stream(model_id, events, started):
                raw = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
                yield event_frame("chunk", {"bytes": base64.b64encode(raw).decode("ascii")})

        response = self._stream(engine, prompt, {"modelId": model_id, "stream": True}, fault, encode, release)
        response.headers["x-amzn-bedrock-content-type"] = "application/json"
        return response

    # -- bedrock control plane ------------------------------------------------------------------

    def _region(self, request: Request) -> str:
        match = _CREDENTIAL_REGION.search(request.headers.get("authorization", ""))
        return match.group(1) if match else self.backend.region

    def _summary(self, engine: Engine, region: str) -> dict[str, Any]:
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

    def list_foundation_models(self, request: Request) -> Response:
        region = self._region(request)
        query = request.query
        summaries = [self._summary(e, region) for e in self.backend.registry.engines]
        if "byProvider" in query:
            wanted = query["byProvider"][0].lower()
            summaries = [s for s in summaries if s["providerName"].lower() == wanted]
        if "byOutputModality" in query:
            summaries = [s for s in summaries if query["byOutputModality"][0] in s["outputModalities"]]
        if "byInferenceType" in query:
            summaries = [s for s in summaries if query["byInferenceType"][0] in s["inferenceTypesSupported"]]
        if "byCustomizationType" in query:
            summaries = []
        return Response.json(200, {"modelSummaries": summaries})

    def get_foundation_model(self, request: Request) -> Response:
        model_id = request.params["modelIdentifier"]
        engine = self.backend.registry.resolve(model_id)
        if engine is None:
            raise ResourceNotFoundException(f"Model {model_id} was not found.")
        return Response.json(200, {"modelDetails": self._summary(engine, self._region(request))})

    def list_inference_profiles(self, request: Request) -> Response:
        return Response.json(200, {"inferenceProfileSummaries": []})


def _decode_blob(value: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValidationException("The invokeModel body is not base64-encoded JSON.") from exc
    if not isinstance(parsed, dict):
        raise ValidationException("The invokeModel body must be a JSON object.")
    return parsed

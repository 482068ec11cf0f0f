"""Chat benchmarks, all on 127.0.0.1 (moto + the local Bedrock runtime with the scripted model).

    python -m bench chat          (BENCH_CHAT_REQUESTS=200 sets the sample size of part 1)

1. Warm `/chat` overhead, model time excluded: per request, in one interleaved run,
   - the model double alone (boto3 `converse` straight to the runtime),
   - a minimal FastAPI + boto3 Converse handler (no storage) served by uvicorn,
   - our `/chat` through the local stack (JSON, and SSE read to the end).
   Overhead = latency - the model double's latency; the ratio compares ours to the minimal handler.
2. DynamoDB requests and bytes per turn at turn 10 and turn 1000: our ConversationStore (driven
   through the real chat app) against langchain_community's DynamoDBChatMessageHistory. Counted
   with botocore event hooks (`before-send`: requests and bytes sent, `after-call`: bytes received).
3. Fresh process to first answered `/chat` (the chat app alone, as a Lambda cold start does, and
   the whole `python -m local_stack`), and first-request latency against warm-request latency.
4-5. Turn-by-turn TTFT against the LangChain peer, and prompt-caching cost: bench/chat_turns.py.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.exceptions import ClientError
from pydantic import BaseModel

from bench import markdown_table, summarize_ms
from chatbot_common import keys
from chatbot_common.model_table import encode_model_table_setting
from chatbot_common.snapstart import BEFORE_CHECKPOINT_PATH
from lambda_chat.priming import freeze_start_up_heap
from local_stack.bedrock_runtime import ScriptedEngine
from local_stack.bedrock_runtime.server import LONG_RUNNING_RECORDED_REQUESTS
from local_stack.moto_service import DUMMY_CREDENTIALS, LOCAL_REGION, free_port
from local_stack.runner import BASE_LOCAL_ENV, REPO_ROOT, LocalStack

REQUESTS = int(os.environ.get("BENCH_CHAT_REQUESTS", "200"))
WARMUP = 20
TURNS = (10, 1000)
FRESH_PROCESS_RUNS = 3
# The scripted model stands in for a deployment's Bedrock model. Its own row in the model table is
# the local models' (a 4,096-token window, the embedded model's --ctx-size), within which the chat
# trims a 60-turn history far below the 6,000-token history budget; Bedrock's chat models have
# 128,000-300,000-token windows. With Claude's 200,000 the history is bounded by the budget, as
# deployed (the `modelTable` override a deployment can set, docs/deploy.md).
DEPLOYED_WINDOW = {"local.": {"contextWindow": 200_000}}
WARM_AFTER_FIRST = 20
# A realistic turn for the storage benchmark: a 100-character question, a 600-character answer.
QUESTION = "How should we phase the migration of the billing service to the new cluster next quarter?"[:100]
ANSWER = (
    "Phase it in three steps. First, mirror writes to the new cluster while reads stay on the old one, "
    "and compare results nightly. Second, move read traffic over service by service, starting with "
    "the reporting jobs that tolerate staleness, and keep the old path warm for a quick rollback. "
    "Third, cut writes over during a low-traffic window, freeze schema changes for a week, and only "
    "then decommission the old cluster. Budget two sprints for the mirroring work, one for the read "
    "migration, and keep an engineer on call during the cut-over. Track error rates and p95 latency "
    "per endpoint so regressions show up before customers notice them."
)[:600]


# -- helpers ----------------------------------------------------------------------------------------


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bedrock_client(endpoint_url: str) -> Any:
    return boto3.client(
        "bedrock-runtime", endpoint_url=endpoint_url, region_name=LOCAL_REGION, **DUMMY_CREDENTIALS
    )


class ChatIn(BaseModel):
    message: str


def minimal_converse_app(endpoint_url: str, model_id: str) -> Any:
    """The comparison: the least a FastAPI handler can do to answer a chat message with Bedrock."""
    from fastapi import FastAPI

    client = bedrock_client(endpoint_url)
    app = FastAPI()

    @app.post("/chat")
    def chat(body: ChatIn) -> dict[str, Any]:
        response = client.converse(
            modelId=model_id, messages=[{"role": "user", "content": [{"text": body.message}]}]
        )
        return {"answer": response["output"]["message"]["content"][0]["text"], "usage": response["usage"]}

    return app


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


# -- 1. warm overhead -------------------------------------------------------------------------------


def bench_overhead(stack: LocalStack) -> None:
    assert stack.bedrock_url is not None and stack.default_model_id is not None
    model_id = stack.default_model_id
    direct = bedrock_client(stack.bedrock_url)
    samples: dict[str, list[float]] = {"model": [], "minimal": [], "ours_json": [], "ours_sse": []}
    with (
        serve(minimal_converse_app(stack.bedrock_url, model_id)) as minimal_url,
        httpx.Client(timeout=60) as http,
    ):
        conversation: dict[str, str | None] = {"json": None, "sse": None}

        def ours(kind: str, turn: int) -> None:
            # A realistic warm turn: continue a conversation (history read), a fresh one every 10 turns.
            body: dict[str, Any] = {"message": f"question {turn}"}
            if turn % 10 and conversation[kind]:
                body["conversationId"] = conversation[kind]
            if kind == "json":
                response = http.post(stack.url + "/chat", json=body)
                response.raise_for_status()
                conversation[kind] = response.json()["conversationId"]
            else:
                with http.stream(
                    "POST", stack.url + "/chat", json=body, headers={"Accept": "text/event-stream"}
                ) as r:
                    r.raise_for_status()
                    text = r.read().decode()
                conversation[kind] = text.split('"conversationId":', 1)[1].split('"')[1]

        def model() -> None:
            direct.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": "question"}]}])

        def minimal() -> None:
            http.post(minimal_url + "/chat", json={"message": "question"}).raise_for_status()

        for turn in range(WARMUP + REQUESTS):
            # Interleaved, so drift in machine load affects every series alike.
            results = {
                "model": timed(model),
                "minimal": timed(minimal),
                "ours_json": timed(partial(ours, "json", turn)),
                "ours_sse": timed(partial(ours, "sse", turn)),
            }
            if turn >= WARMUP:
                for name, seconds in results.items():
                    samples[name].append(seconds)

    model_median, _ = summarize_ms(samples["model"])
    rows = []
    labels = {
        "model": "model double alone (boto3 converse)",
        "minimal": "minimal FastAPI + boto3 Converse",
        "ours_json": "our /chat (JSON)",
        "ours_sse": "our /chat (SSE)",
    }
    minimal_overhead = summarize_ms(samples["minimal"])[0] - model_median
    for name, label in labels.items():
        median, p95 = summarize_ms(samples[name])
        overhead = median - model_median
        ratio = (
            ""
            if name == "model"
            else f"{overhead / minimal_overhead:.1f}x"
            if minimal_overhead > 0
            else "n/a"
        )
        rows.append(
            (label, f"{median:.1f}", f"{p95:.1f}", "" if name == "model" else f"{overhead:.1f}", ratio)
        )
    print(
        f"### 1. Warm /chat overhead ({REQUESTS} sequential requests per row, interleaved, "
        f"after {WARMUP} warm-up)"
    )
    print()
    print(
        markdown_table(
            ["handler", "median ms", "p95 ms", "overhead ms (median - model)", "overhead vs minimal"], rows
        )
    )
    print()
    print(
        "Ours does what the minimal handler does not: read the conversation with its history window "
        "(one GetItem), store the question (one TransactWriteItems, beside the stream), then the "
        "answer, the conversation's update and a call-log record together (one TransactWriteItems): "
        "three DynamoDB requests, two for a new conversation (created with its question in one "
        "TransactWriteItems). And it goes through langchain-aws ConverseStream."
    )
    print()


# -- 2. DynamoDB per turn ----------------------------------------------------------------------------


class DynamoTraffic:
    """Counts requests and bytes on one boto3 client via botocore's event hooks."""

    def __init__(self, client: Any) -> None:
        self.requests = 0
        self.sent = 0
        self.received = 0
        self.operations: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._before_send)
        client.meta.events.register("after-call.dynamodb", self._after_call)

    def _before_send(self, request: Any, **_: Any) -> None:
        self.requests += 1
        body = request.body or b""
        self.sent += len(body.encode() if isinstance(body, str) else body)

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        self.operations[model.name] += 1
        self.received += len(http_response.content or b"")

    def reset(self) -> None:
        self.requests = self.sent = self.received = 0
        self.operations.clear()

    def row(self, label: str, turn: int) -> tuple[str, ...]:
        ops = ", ".join(f"{name} {count}" for name, count in sorted(self.operations.items()))
        total = self.sent + self.received
        return (
            label,
            str(turn),
            str(self.requests),
            f"{self.sent:,}",
            f"{self.received:,}",
            f"{total:,}",
            ops,
        )


def dynamodb_client(stack: LocalStack) -> Any:
    assert stack.moto_url is not None
    return boto3.client(
        "dynamodb", endpoint_url=stack.moto_url, region_name=LOCAL_REGION, **DUMMY_CREDENTIALS
    )


def our_turns(stack: LocalStack, engine: ScriptedEngine) -> list[tuple[str, ...]]:
    """Our store, through the real chat app (in-process ASGI) with an instrumented DynamoDB client."""
    from starlette.testclient import TestClient

    from chatbot_common.timestamps import iso_now
    from lambda_chat.adapters.conversation_store import ConversationStore
    from lambda_chat.app import create_app
    from lambda_chat.domain.entities import Message

    client = dynamodb_client(stack)
    traffic = DynamoTraffic(client)
    settings = stack.settings
    assert settings is not None
    store = ConversationStore(client, settings.table_name, retention_days=settings.retention_days)
    app = create_app(settings, store=store, clients=stack.clients)
    engine.reply = ANSWER
    rows = []
    try:
        with TestClient(app) as http:
            for turn in TURNS:
                first = http.post("/chat", json={"message": QUESTION})
                first.raise_for_status()
                conversation_id = first.json()["conversationId"]
                # Turns 2 .. turn-1, written straight through the store (the model is not the point).
                prefill = [
                    Message(
                        id=keys.new_id(),
                        conversation_id=conversation_id,
                        role="user" if i % 2 == 0 else "assistant",
                        content=QUESTION if i % 2 == 0 else ANSWER,
                        created_at=iso_now(time.time()),
                    )
                    for i in range(2 * (turn - 3))
                ]
                _parallel(lambda m: store.append_message(settings.dev_user_id, m), prefill)
                # Messages written around the chat path leave the history window out of date: one
                # turn reads them back (a Query) and rewrites it; the measured turn is the next.
                http.post(
                    "/chat", json={"message": QUESTION, "conversationId": conversation_id}
                ).raise_for_status()
                traffic.reset()
                answer = http.post("/chat", json={"message": QUESTION, "conversationId": conversation_id})
                answer.raise_for_status()
                assert answer.json()["answer"] == ANSWER
                rows.append(traffic.row("ours (one item per message)", turn))
    finally:
        engine.reply = None
    return rows


def _parallel(work: Callable[[Any], None], items: list[Any], threads: int = 8) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, items))


def langchain_turns(stack: LocalStack) -> tuple[list[tuple[str, ...]], int | None]:
    """DynamoDBChatMessageHistory: read the history for the prompt, then add_messages([human, ai])."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.chat_message_histories import DynamoDBChatMessageHistory
    from langchain_core.messages import AIMessage, HumanMessage, messages_to_dict

    session = boto3.session.Session(region_name=LOCAL_REGION, **DUMMY_CREDENTIALS)
    turn_messages = [HumanMessage(QUESTION), AIMessage(ANSWER)]

    def history_for(session_id: str) -> DynamoDBChatMessageHistory:
        return DynamoDBChatMessageHistory(
            table_name=stack.table_name,
            session_id=session_id,
            endpoint_url=stack.moto_url,
            key={"pk": f"LANGCHAIN#{session_id}", "sk": "HISTORY"},
            boto3_session=session,
        )

    def prefill(history: DynamoDBChatMessageHistory, turns: int) -> bool:
        """Store `turns` earlier turns in one write; False if DynamoDB refuses the item (400 KB)."""
        if turns == 0:
            return True
        try:
            history.table.put_item(Item={**history.key, "History": messages_to_dict(turn_messages * turns)})
        except ClientError:
            return False
        return True

    # The largest history one item can hold: the first turn past it fails.
    low, high = 1, 5000
    probe = history_for("probe")
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if prefill(probe, middle) else (low, middle - 1)
    first_failing_turn = low + 1 if low < 5000 else None

    rows: list[tuple[str, ...]] = []
    for turn in TURNS:
        history = history_for(f"turn-{turn}")
        traffic = DynamoTraffic(history.table.meta.client)
        if not prefill(history, turn - 1):
            rows.append(
                (
                    "langchain DynamoDBChatMessageHistory",
                    str(turn),
                    "fails",
                    "",
                    "",
                    "",
                    "history item > 400 KB",
                )
            )
            continue
        traffic.reset()
        try:
            _ = history.messages  # the prompt needs the history
            history.add_messages(turn_messages)
        except ClientError as exc:
            detail = exc.response["Error"].get("Message", "")[:60]
            rows.append(("langchain DynamoDBChatMessageHistory", str(turn), "fails", "", "", "", detail))
            continue
        rows.append(traffic.row("langchain DynamoDBChatMessageHistory", turn))
    return rows, first_failing_turn


def bench_storage(stack: LocalStack, engine: ScriptedEngine) -> None:
    ours = our_turns(stack, engine)
    theirs, first_failing = langchain_turns(stack)
    print(
        f"### 2. DynamoDB traffic for one turn ({len(QUESTION)}-char question, {len(ANSWER)}-char answer; "
        "bytes are HTTP request/response bodies)"
    )
    print()
    print(
        markdown_table(
            [
                "store",
                "turn",
                "requests",
                "bytes sent",
                "bytes received",
                "bytes total",
                "operations",
            ],
            ours + theirs,
        )
    )
    print()
    if first_failing:
        print(
            f"DynamoDBChatMessageHistory keeps the whole conversation in one item: with these messages "
            f"turn {first_failing} is the first that no longer fits DynamoDB's 400 KB item limit."
        )
    print(
        "Ours reads the conversation item with its history window (newest messages within the history "
        "token budget, zlib-compressed) in one GetItem, whatever the conversation's length; a Query "
        "sized by the budget only when the window is out of date."
    )
    print()


# -- 3. fresh process ---------------------------------------------------------------------------------


def process_env(stack: LocalStack) -> dict[str, str]:
    env = {**os.environ, **{k: v for k, v in BASE_LOCAL_ENV.items() if v is not None}}
    for name in [k for k, v in {**BASE_LOCAL_ENV, **stack.env}.items() if v is None]:
        env.pop(name, None)
    env.update({k: v for k, v in stack.env.items() if v is not None})
    return env


def wait_until(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise TimeoutError(url)


def fresh_chat_app(
    stack: LocalStack, *, models_first: bool = False, snapstart: bool = False
) -> dict[str, float]:
    """The chat app alone in a new interpreter (a Lambda cold start's init), moto and model already up.
    `models_first`: GET /models before the first /chat, as the web client does when a page loads
    (it fills the model picker): the model list is then cached when the first /chat comes.
    `snapstart`: built for SnapStart, and its before-checkpoint hook called once ready, as the Web
    Adapter does before the snapshot (the first /chat then stands for the first after a restore;
    what a restore itself costs, and its new connections, are not measured here)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "lambda_chat.app:serve_app"]  # as run.sh
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    # Lambda runs the bundle's shipped bytecode: a shell's PYTHONDONTWRITEBYTECODE would make
    # every module imported later compile from source on each run.
    env = {k: v for k, v in process_env(stack).items() if k != "PYTHONDONTWRITEBYTECODE"}
    if snapstart:
        env["CHATBOT_SNAPSTART_HOOKS"] = "true"
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(base + "/health", started + 120)
        ready = time.monotonic()
        with httpx.Client(base_url=base, timeout=60) as http:
            if models_first:
                http.get("/models").raise_for_status()
            if snapstart:
                hook = http.post(BEFORE_CHECKPOINT_PATH)
                hook.raise_for_status()
                if not hook.json()["warmUpRequests"]:
                    raise RuntimeError(f"the SnapStart warm-up failed: {hook.text}")
            first = timed(lambda: http.post("/chat", json={"message": "first"}).raise_for_status())
            answered = time.monotonic()
            warm = [
                timed(lambda: http.post("/chat", json={"message": "warm"}).raise_for_status())
                for _ in range(WARM_AFTER_FIRST)
            ]
    finally:
        process.terminate()
        process.wait(timeout=10)
    return {
        "init": ready - started,
        "first": first,
        "warm": statistics.median(warm),
        "to_first_answer": answered - started,
        # The warm-up curve: requests 2-5 against the warm median (how fast the excess decays).
        **{f"request {n}": warm[n - 2] for n in range(2, 6)},
    }


def fresh_local_stack(model: str) -> dict[str, float]:
    """`python -m local_stack` from nothing to the first answered /chat."""
    with tempfile.TemporaryDirectory() as state_dir:
        command = [sys.executable, "-m", "local_stack", "--port", "0", "--model", model]
        command += ["--state-dir", state_dir, "--no-persist"]
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert process.stdout is not None
            url = ""
            for line in process.stdout:
                if line.startswith("App: "):
                    url = line.split()[1].rstrip("/")
                    break
            ready = time.monotonic()
            with httpx.Client(timeout=120) as http:
                first = timed(
                    lambda: http.post(url + "/api/chat", json={"message": "Hello!"}).raise_for_status()
                )
                answered = time.monotonic()
                warm = [
                    timed(lambda: http.post(url + "/api/chat", json={"message": "Hi"}).raise_for_status())
                    for _ in range(5)
                ]
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "init": ready - started,
        "first": first,
        "warm": statistics.median(warm),
        "to_first_answer": answered - started,
    }


def bench_cold_start(stack: LocalStack) -> None:
    runs = [fresh_chat_app(stack) for _ in range(FRESH_PROCESS_RUNS)]
    app_row = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    after_models = [fresh_chat_app(stack, models_first=True) for _ in range(FRESH_PROCESS_RUNS)]
    models_row = {key: statistics.median(run[key] for run in after_models) for key in after_models[0]}
    snapstart_runs = [fresh_chat_app(stack, snapstart=True) for _ in range(FRESH_PROCESS_RUNS)]
    snapstart_row = {key: statistics.median(run[key] for run in snapstart_runs) for key in snapstart_runs[0]}
    stack_rows = [
        ("python -m local_stack --model " + m, fresh_local_stack(m)) for m in ("scripted", "embedded")
    ]
    rows = []
    app_rows = [
        (f"chat app process (median of {FRESH_PROCESS_RUNS})", app_row),
        ("chat app process, GET /models before the first /chat (as the web page does)", models_row),
        ("chat app process built for SnapStart, before-checkpoint hook called first", snapstart_row),
    ]
    for label, figures in [*app_rows, *stack_rows]:
        rows.append(
            (
                label,
                f"{figures['init'] * 1000:.0f}",
                f"{figures['first'] * 1000:.0f}",
                f"{figures['warm'] * 1000:.0f}",
                f"{figures['first'] / figures['warm']:.1f}x",
                f"{figures['to_first_answer'] * 1000:.0f}",
            )
        )
    print("### 3. Fresh process to first answered /chat")
    print()
    print(
        markdown_table(
            [
                "process",
                "start -> ready ms",
                "first /chat ms",
                "warm /chat ms (median)",
                "first / warm",
                "start -> first answer ms",
            ],
            rows,
        )
    )
    print()
    print(
        "Start -> ready holds what create_app does (imports incl. langchain-aws, AWS clients, the "
        "model list, and the offline priming of a chat turn: lambda_chat.priming): the init phase. "
        "What the first /chat still pays is a warm-up spread over the first few requests (the curve "
        "below): each of its steps and AWS calls runs 30-50% slower than later, not one thing built "
        "once (docs/benchmarks.md, issue 16). Built for SnapStart, the app warms up in the Web "
        "Adapter's before-checkpoint hook (thirty offline turns), which the snapshot keeps: that row's "
        "first /chat stands for the first after a restore, minus the restore and its new "
        "connections. The embedded rows include loading SmolLM2-135M; its /chat times are "
        "generation time."
    )
    for label, row in (
        ("", app_row),
        (", model list already loaded", models_row),
        (", SnapStart warm-up before the snapshot", snapstart_row),
    ):
        ratio = row["first"] / row["warm"]
        verdict = "met" if ratio <= 1.3 else "NOT met"
        print(f"First /chat / warm for the chat app process{label}: {ratio:.2f} (goal <= 1.3: {verdict})")
    curve = ", ".join(
        f"{app_row[key] / app_row['warm']:.2f}" for key in ("first", *(f"request {n}" for n in range(2, 6)))
    )
    print(f"Requests 1-5 of a fresh chat app process / its warm median (medians over runs): {curve}")
    print()


def main() -> None:
    engine = ScriptedEngine()
    with (
        tempfile.TemporaryDirectory() as state_dir,
        # Configured as `python -m local_stack` runs it: the runtime keeps only its newest request
        # bodies (every body holds a whole history; section 6 measures the runner's memory).
        LocalStack(
            port=0,
            state_dir=Path(state_dir),
            engines=[engine],
            persist=False,
            max_recorded_requests=LONG_RUNNING_RECORDED_REQUESTS,
            settings_overrides={"model_table": encode_model_table_setting(DEPLOYED_WINDOW)},
        ) as stack,
    ):
        # As the served processes do (lambda_chat.app.serve_app, python -m local_stack): the
        # start-up heap leaves the garbage collector's scans.
        freeze_start_up_heap()
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"(model {stack.default_model_id}; machine: {os.cpu_count()} CPUs, load average {load})")
        print()
        bench_overhead(stack)
        bench_storage(stack, engine)
        bench_cold_start(stack)
        from bench.chat_turns import bench_cache_cost, bench_memory, bench_turn_latency

        bench_turn_latency(stack)
        bench_cache_cost(stack, engine)
        bench_memory(stack)


if __name__ == "__main__":
    main()

"""`chatbot`: a terminal client for the chatbot, local (`make run`) or deployed.

    chatbot chat "Hello"                      # streams the answer
    chatbot chat                              # interactive session (/new, /quit)
    chatbot compare -m MODEL -m MODEL "question"   # lanes side by side (-t per lane's temperature)
    chatbot conversations | chatbot show ID
    chatbot logs --since 1h --status error    # the call log in DynamoDB
    chatbot logs --since 1d --costs           # cost (USD) by user, model and day
    chatbot logs --tail --function chat       # the Lambda's CloudWatch logs (AWS)

Without --api-url (or CHATBOT_API_URL) it talks to the running local stack, found through
`<state dir>/endpoints.json` (CHATBOT_STATE_DIR, default .state), else http://127.0.0.1:8000.
Against a deployed stack: `--api-url https://<distribution>/api --token <Cognito ID token>`
(or CHATBOT_API_URL / CHATBOT_TOKEN).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from cli.api_client import ApiError, ChatbotApi
from cli.formatting import (
    calls_table,
    conversation_text,
    conversations_table,
    costs_table,
    feedback_table,
    format_cost,
    format_table,
    parse_time,
    tool_event_line,
    usage_line,
)
from cli.local import FALLBACK_API_URL, local_logs_note, read_local_endpoints, resolve_api_url
from local_stack import DEFAULT_STATE_DIR

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
REPL_HELP = "Commands: /new (start a new conversation), /quit (or Ctrl-D). Ctrl-C stops an answer."


def _time_arg(value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatbot", description="Terminal client for the Bedrock chatbot.")
    parser.add_argument(
        "--api-url",
        help="API base URL (env CHATBOT_API_URL; default: the running local stack's URL from "
        f"<state dir>/endpoints.json, else {FALLBACK_API_URL})",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("CHATBOT_TOKEN"),
        help="bearer token (Cognito ID token) for a deployed API (env CHATBOT_TOKEN)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for an answer")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="send a message (streamed); no message: interactive session")
    chat.add_argument("message", nargs="?", help="the message; '-' reads it from stdin")
    chat.add_argument("-c", "--conversation", help="continue this conversation id")
    chat.add_argument("-m", "--model", help="model id (see `chatbot models`)")
    chat.add_argument("-s", "--system", help="system prompt for a new conversation")
    chat.add_argument("-t", "--temperature", type=float, help="this turn's temperature (inferenceConfig)")
    chat.add_argument("--max-tokens", type=_positive_int, help="this turn's maxTokens (inferenceConfig)")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer (JSON API)")
    chat.add_argument("--json", action="store_true", help="print the JSON answer (implies --no-stream)")

    compare = commands.add_parser(
        "compare",
        help="ask 2-4 lanes the same question, streamed side by side (labelled lines)",
        description="Lanes are the -m models, paired in order with the --temperature values; one model "
        "with several temperatures compares settings (e.g. -m local.x -t 0.2 -t 1.0).",
    )
    compare.add_argument("message", help="the question; '-' reads it from stdin")
    compare.add_argument("-m", "--model", action="append", default=[], help="a lane's model (repeat)")
    compare.add_argument(
        "-t", "--temperature", action="append", type=float, default=[], help="a lane's temperature (repeat)"
    )
    compare.add_argument("--max-tokens", type=_positive_int, help="maxTokens for every lane")
    compare.add_argument("--comparison", help="follow up on this comparison id (its lanes)")
    compare.add_argument("-s", "--system", help="system prompt for every lane")
    compare.add_argument("--json", action="store_true", help="print the JSON answer (no streaming)")

    convs = commands.add_parser("conversations", help="list your conversations, newest first")
    convs.add_argument("--limit", type=_positive_int, default=20)
    convs.add_argument("--cursor", help="next page (from a previous listing)")
    convs.add_argument("--json", action="store_true")

    show = commands.add_parser("show", help="print one conversation with its messages")
    show.add_argument("conversation_id", metavar="ID")
    show.add_argument("--limit", type=_positive_int, default=50)
    show.add_argument("--cursor", help="next page of messages")
    show.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="list the models you can chat with")
    models.add_argument("--json", action="store_true")

    logs = commands.add_parser(
        "logs",
        help="query the call log (DynamoDB), or --tail the Lambdas' CloudWatch logs",
        description="Without --tail: model calls from the call log, newest first. The table is "
        "--table (with --endpoint-url for moto), --stack-name's output, CHATBOT_TABLE_NAME, or the "
        "running local stack (<state dir>/endpoints.json). With --tail: CloudWatch logs of a Lambda.",
    )
    logs.add_argument("--user", help="only this user id (reads one partition)")
    logs.add_argument("--conversation", help="only this conversation id")
    logs.add_argument(
        "--status",
        choices=["complete", "incomplete", "stopped", "throttled", "error"],
        help="only this status",
    )
    logs.add_argument(
        "--since", type=_time_arg, help="30m, 1h, 2d, or ISO time (default: 24h before --until)"
    )
    logs.add_argument("--until", type=_time_arg, help="end of the window (default now)")
    logs.add_argument(
        "--feedback",
        action="store_true",
        help="ratings of answers (Good/Bad answer, with reasons) instead of model calls",
    )
    logs.add_argument("--rating", choices=["up", "down"], help="with --feedback: only this rating")
    logs.add_argument("--limit", type=_positive_int, default=50)
    logs.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    logs.add_argument(
        "--costs",
        action="store_true",
        help="sum calls, tokens and cost (USD) by user, model and UTC day over the window",
    )
    logs.add_argument(
        "--by",
        default="user,model,day",
        help="with --costs: which of user, model, day to group by (comma-separated)",
    )
    logs.add_argument("--table", help="DynamoDB table name")
    logs.add_argument("--endpoint-url", help="DynamoDB endpoint (the local stack's moto)")
    logs.add_argument("--region", help="AWS region (default from the environment)")
    logs.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("CHATBOT_STATE_DIR", DEFAULT_STATE_DIR)),
        help="the local stack's state dir, to find it when it runs (default .state)",
    )
    logs.add_argument(
        "--stack-name",
        default=os.environ.get("CHATBOT_STACK_NAME"),
        help="deployed CloudFormation stack (env CHATBOT_STACK_NAME; --tail default Chatbot-dev)",
    )
    logs.add_argument("--tail", action="store_true", help="print and follow CloudWatch logs (AWS only)")
    logs.add_argument("--function", choices=["chat", "upload"], default="chat", help="with --tail")
    logs.add_argument("--log-group", help="with --tail: this log group instead of the stack's output")
    logs.add_argument("--filter", dest="filter_pattern", help="with --tail: CloudWatch filter pattern")
    logs.add_argument("--no-follow", action="store_true", help="with --tail: print and exit")
    return parser


def main(
    argv: list[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command; returns the exit status. Streams default to the process's own."""
    args = build_parser().parse_args(argv)
    stdin, out, err = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    source = ""
    try:
        if args.command == "logs":
            return run_logs(args, out, err)
        state_dir = Path(os.environ.get("CHATBOT_STATE_DIR", DEFAULT_STATE_DIR))
        args.api_url, source = resolve_api_url(args.api_url, state_dir)
        with ChatbotApi(args.api_url, token=args.token, timeout=args.timeout) as api:
            if args.command == "chat":
                return run_chat(api, args, stdin, out, err)
            if args.command == "compare":
                return run_compare(api, args, stdin, out, err)
            if args.command == "conversations":
                page = api.list_conversations(args.limit, args.cursor)
                _print_json_or(out, page, args.json, lambda: _conversations_text(page))
            elif args.command == "show":
                conversation = api.get_conversation(args.conversation_id, args.limit, args.cursor)
                _print_json_or(out, conversation, args.json, lambda: conversation_text(conversation))
            elif args.command == "models":
                listing = api.list_models()
                _print_json_or(out, listing, args.json, lambda: _models_text(listing))
        return EXIT_OK
    except ApiError as exc:
        err.write(f"error: {exc}\n")
        if exc.code == "connection_error" and source == "default":
            err.write("No running local stack was found: start one with `make run`, or pass --api-url.\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _print_json_or(out: TextIO, value: Any, as_json: bool, render: Any) -> None:
    out.write((json.dumps(value, indent=2, ensure_ascii=False) if as_json else render()) + "\n")


def _conversations_text(page: dict[str, Any]) -> str:
    items = page.get("items") or []
    if not items:
        return 'No conversations yet. Start one with: chatbot chat "Hello"'
    text = conversations_table(items)
    if page.get("nextCursor"):
        text += f"\n(more: --cursor {page['nextCursor']})"
    return text


def _models_text(listing: dict[str, Any]) -> str:
    default = listing.get("defaultModel")
    rows = [
        ("*" if m.get("id") == default else "", m.get("id"), m.get("name"), m.get("provider"))
        for m in listing.get("models") or []
    ]
    return format_table(rows, ["", "ID", "NAME", "PROVIDER"])


# -- chat -----------------------------------------------------------------------------------------


def chat_body(
    message: str,
    conversation: str | None,
    model: str | None,
    system: str | None,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The POST /chat body (docs/api.md): only what was given; `temperature` and `max_tokens`
    become the turn's Converse inferenceConfig (the server checks them against the model)."""
    body: dict[str, Any] = {"message": message}
    if conversation:
        body["conversationId"] = conversation
    if model:
        body["model"] = model
    if system:
        body["system"] = system
    settings: dict[str, Any] = {}
    if temperature is not None:
        settings["temperature"] = temperature
    if max_tokens is not None:
        settings["maxTokens"] = max_tokens
    if settings:
        body["inferenceConfig"] = settings
    return body


def stream_answer(api: ChatbotApi, body: dict[str, Any], out: TextIO, err: TextIO) -> str | None:
    """Print an answer as it streams; returns the conversation id. Raises ApiError on an `error` event."""
    meta: dict[str, Any] = {}
    usage: dict[str, Any] = {}
    wrote_text = False
    for event in api.chat_stream(body):
        data = event.json()
        if event.event == "meta":
            meta = data
        elif event.event == "delta":
            text = str(data.get("text", ""))
            out.write(text)
            out.flush()
            wrote_text = wrote_text or bool(text)
        elif event.event in ("tool_use", "tool_result", "notice"):
            # Tool steps and notices go to stderr: stdout stays the answer alone.
            if wrote_text:
                out.write("\n")
                out.flush()
                wrote_text = False
            err.write(tool_event_line(event.event, data) + "\n")
            err.flush()
        elif event.event == "usage":
            usage = data
        elif event.event == "error":
            if wrote_text:
                out.write("\n")
                out.flush()
            raise ApiError(str(data.get("message", "the answer failed")), code=str(data.get("code", "error")))
        elif event.event == "done":
            out.write("\n")
            out.flush()
            err.write(usage_line(meta, usage, data) + "\n")
            err.flush()
    conversation_id = meta.get("conversationId")
    return str(conversation_id) if conversation_id else None


def run_chat(api: ChatbotApi, args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    if args.message is None:
        return run_repl(api, args, stdin, out, err)
    message = stdin.read() if args.message == "-" else args.message
    body = chat_body(
        message,
        args.conversation,
        args.model,
        args.system,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
    )
    if args.json or args.no_stream:
        answer = api.chat(body)
        if args.json:
            out.write(json.dumps(answer, indent=2, ensure_ascii=False) + "\n")
        else:
            out.write(str(answer.get("answer", "")) + "\n")
            # The footer a streamed answer ends with, from the JSON answer's fields.
            usage = {**(answer.get("usage") or {}), "costUsd": answer.get("costUsd")}
            done = {"latencyMs": answer.get("latencyMs"), "stopReason": answer.get("stopReason")}
            err.write(usage_line(answer, usage, done) + "\n")
        return EXIT_OK
    stream_answer(api, body, out, err)
    return EXIT_OK


def run_repl(api: ChatbotApi, args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    conversation = args.conversation
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):  # no readline on Windows
            import readline  # noqa: F401  (line editing and history for input())
        err.write(f"Chatting with {api.base_url}. {REPL_HELP}\n")
    while True:
        try:
            line = input("you> ") + "\n" if interactive else stdin.readline()
        except EOFError:
            line = ""
        except KeyboardInterrupt:
            out.write("\n")
            return EXIT_OK
        if not line:
            if interactive:
                out.write("\n")
            return EXIT_OK
        message = line.strip()
        if not message:
            continue
        if message in ("/quit", "/exit"):
            return EXIT_OK
        if message == "/new":
            conversation = None
            err.write("(new conversation)\n")
            continue
        if message == "/help":
            err.write(REPL_HELP + "\n")
            continue
        # The system prompt applies when a conversation starts; later turns keep the stored one.
        system = args.system if conversation is None else None
        try:
            body = chat_body(
                message,
                conversation,
                args.model,
                system,
                temperature=args.temperature,
                max_tokens=args.max_tokens,
            )
            conversation = stream_answer(api, body, out, err) or conversation
        except ApiError as exc:
            err.write(f"error: {exc}\n")
        except KeyboardInterrupt:
            # Hanging up makes the server stop generating and keep the partial answer as "stopped".
            out.write("\n")
            err.write("(stopped)\n")


# -- compare --------------------------------------------------------------------------------------


def compare_lanes(
    models: list[str], temperatures: list[float], max_tokens: int | None
) -> list[dict[str, Any]]:
    """The request's lanes: models paired in order with temperatures; a single model (or none:
    the default) is repeated for every temperature, a single temperature for every model."""
    count = max(len(models), len(temperatures))
    if len(models) > 1 and len(temperatures) > 1 and len(models) != len(temperatures):
        raise ApiError("give one --temperature per --model, or a single one for all", code="invalid_input")
    lanes: list[dict[str, Any]] = []
    for index in range(count):
        lane: dict[str, Any] = {}
        model = models[index] if len(models) > 1 else (models[0] if models else None)
        if model:
            lane["model"] = model
        settings: dict[str, Any] = {}
        if temperatures:
            settings["temperature"] = temperatures[index] if len(temperatures) > 1 else temperatures[0]
        if max_tokens is not None:
            settings["maxTokens"] = max_tokens
        if settings:
            lane["inferenceConfig"] = settings
        lanes.append(lane)
    return lanes


def lane_label(lane: dict[str, Any]) -> str:
    """ "[0 model t=0.2]": how a lane's lines are labelled."""
    settings = lane.get("inferenceConfig") or {}
    extra = "".join(f" t={settings['temperature']}" for _ in [0] if "temperature" in settings)
    return f"[{lane.get('lane')} {lane.get('model')}{extra}]"


def run_compare(api: ChatbotApi, args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    message = stdin.read() if args.message == "-" else args.message
    body: dict[str, Any] = {"message": message}
    if args.comparison:
        body["comparisonId"] = args.comparison
        if args.max_tokens is not None and not (args.model or args.temperature):
            raise ApiError(
                "--max-tokens on a follow-up needs its lanes restated with -m/-t (otherwise the "
                "comparison's lanes keep their own settings)",
                code="invalid_input",
            )
    if args.model or args.temperature or not args.comparison:
        body["lanes"] = compare_lanes(args.model, args.temperature, args.max_tokens)
    if args.system:
        body["system"] = args.system
    if args.json:
        out.write(json.dumps(api.compare(body), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    stream_comparison(api, body, out, err)
    return EXIT_OK


def stream_comparison(api: ChatbotApi, body: dict[str, Any], out: TextIO, err: TextIO) -> str | None:
    """Print the lanes as they stream, each line labelled with its lane (a new label whenever
    the speaking lane changes); per-lane usage and cost, then the total, go to stderr.
    Returns the comparison id."""
    labels: dict[int, str] = {}
    usage: dict[int, dict[str, Any]] = {}
    speaking: int | None = None
    comparison_id: str | None = None
    failed = 0

    def switch_to(lane: int) -> None:
        nonlocal speaking
        if speaking != lane:
            if speaking is not None:
                out.write("\n")
            out.write(f"{labels.get(lane, f'[{lane}]')} ")
            speaking = lane

    for event in api.compare_stream(body):
        data = event.json()
        if event.event == "meta":
            comparison_id = data.get("comparisonId")
            labels = {lane["lane"]: lane_label(lane) for lane in data.get("lanes", [])}
        elif event.event == "delta":
            switch_to(int(data["lane"]))
            text = str(data.get("text", ""))
            out.write(text.replace("\n", "\n" + " " * (len(labels.get(speaking or 0, "")) + 1)))
            out.flush()
        elif event.event == "usage":
            usage[int(data["lane"])] = data
        elif event.event == "error" and "lane" in data:
            failed += 1
            switch_to(int(data["lane"]))
            out.write(f"(failed: {data.get('message')} [{data.get('code')}])")
        elif event.event == "done" and "lane" not in data:
            out.write("\n")
            out.flush()
            for lane in data.get("lanes", []):
                lane_usage = usage.get(lane["lane"], {})
                err.write(
                    usage_line(
                        {
                            "conversationId": comparison_id,
                            "model": labels.get(lane["lane"], lane.get("model")),
                        },
                        lane_usage,
                        {
                            "latencyMs": lane.get("latencyMs"),
                            "stopReason": lane.get("stopReason") or lane.get("status"),
                        },
                    ).replace("conversation ", "comparison ", 1)
                    + "\n"
                )
            if data.get("costUsd") is not None:
                err.write(f"[total {format_cost(data['costUsd'])}]\n")
            err.flush()
    if failed and failed == len(labels):
        raise ApiError("every lane failed", code="upstream_error")
    return comparison_id


# -- logs -----------------------------------------------------------------------------------------


def _print_costs(calls: list[dict[str, Any]], args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chatbot_common.model_table import load_model_table
    from lambda_chat.domain.cost import summarize_costs

    by = [part.strip() for part in args.by.split(",") if part.strip()]
    try:
        rows = summarize_costs(calls, table=load_model_table(), by=by)  # type: ignore[arg-type]
    except ValueError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_ERROR
    summary = [row.to_json() for row in rows]
    return write_rows(
        out, summary, as_json=args.json, table=costs_table, empty="No model calls in that window."
    )


def write_rows(
    out: TextIO,
    rows: list[dict[str, Any]],
    *,
    as_json: bool,
    table: Callable[[list[dict[str, Any]]], str],
    empty: str,
) -> int:
    """`chatbot logs` output: the rows as JSON, as a table, or `empty` when there are none."""
    if as_json:
        out.write(json.dumps(rows, indent=2) + "\n")
    else:
        out.write((table(rows) if rows else empty) + "\n")
    return EXIT_OK


def run_logs(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from chatbot_common.errors import DomainError
    from cli.logs import (
        DEFAULT_STACK_NAME,
        LogsError,
        query_calls,
        resolve_log_group,
        resolve_table,
        tail_log_group,
    )

    try:
        if args.tail and not (args.stack_name or args.log_group):
            local = read_local_endpoints(args.state_dir)
            if local is not None or not _has_aws_credentials():
                # A laptop run logs to its terminal; CloudWatch would only answer "no credentials".
                err.write(local_logs_note(args.state_dir, local))
                return EXIT_OK if local is not None else EXIT_ERROR
        if args.tail:
            import boto3

            log_group = args.log_group or resolve_log_group(
                args.function, args.stack_name or DEFAULT_STACK_NAME, region=args.region
            )
            since = args.since or datetime.now(UTC) - timedelta(minutes=10)
            logs_client = (
                boto3.client("logs", region_name=args.region) if args.region else boto3.client("logs")
            )
            err.write(f"# {log_group} (Ctrl-C to stop)\n")
            tail_log_group(
                logs_client,
                log_group,
                since=since,
                out=out,
                follow=not args.no_follow,
                filter_pattern=args.filter_pattern,
            )
            return EXIT_OK
        target = resolve_table(
            table=args.table,
            endpoint_url=args.endpoint_url,
            region=args.region,
            stack_name=args.stack_name,
            state_dir=args.state_dir,
        )
        if args.feedback:
            from chatbot_common.timestamps import iso_utc
            from lambda_chat.adapters.feedback_log import query_feedback

            ratings = query_feedback(
                target.dynamodb_client(),
                target.table,
                user_id=args.user,
                rating=args.rating,
                since=iso_utc(args.since) if args.since else None,
                until=iso_utc(args.until) if args.until else None,
                limit=args.limit,
            )
            return write_rows(
                out, ratings, as_json=args.json, table=feedback_table, empty="No feedback in that window."
            )
        calls = query_calls(
            target.dynamodb_client(),
            target.table,
            user=args.user,
            conversation=args.conversation,
            status=args.status,
            since=args.since,
            until=args.until,
            limit=args.limit,
        )
    except LogsError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_ERROR
    except DomainError as exc:
        err.write(f"error: {exc.message} ({exc.code})\n")
        return EXIT_ERROR
    except (ClientError, BotoCoreError) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_ERROR
    if args.costs:
        return _print_costs(calls, args, out, err)
    return write_rows(
        out, calls, as_json=args.json, table=calls_table, empty="No model calls in that window."
    )


def _has_aws_credentials() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


if __name__ == "__main__":
    sys.exit(main())

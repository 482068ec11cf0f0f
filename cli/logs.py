"""`chatbot logs`: the call log in DynamoDB, and the Lambdas' CloudWatch logs.

The call-log query is the chat service's own (`lambda_chat.adapters.call_log.CallLog`), so the
CLI reads exactly the layout the service writes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cdk.constants import OUTPUT_CHAT_LOG_GROUP, OUTPUT_TABLE_NAME, OUTPUT_UPLOAD_LOG_GROUP, STACK_ID_PREFIX
from chatbot_common.timestamps import iso_utc
from cli.local import read_local_endpoints
from local_stack import ENDPOINTS_FILE

DEFAULT_STACK_NAME = f"{STACK_ID_PREFIX}-dev"
LOG_GROUP_OUTPUTS = {"chat": OUTPUT_CHAT_LOG_GROUP, "upload": OUTPUT_UPLOAD_LOG_GROUP}


class LogsError(Exception):
    """A problem the user can fix: no table configured, unknown stack, missing output..."""


@dataclass(frozen=True)
class TableTarget:
    """Where the call log lives: a table name and, for the local stack, moto's endpoint."""

    table: str
    endpoint_url: str | None = None
    region: str | None = None
    source: str = ""

    def dynamodb_client(self) -> Any:
        import boto3

        kwargs: dict[str, Any] = {"region_name": self.region or _default_region()}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
            if boto3.Session().get_credentials() is None:
                # moto accepts any credentials; this never reaches AWS (the endpoint is local).
                kwargs.update(aws_access_key_id="local", aws_secret_access_key="local")
        return boto3.client("dynamodb", **kwargs)


def _default_region() -> str:
    import boto3

    return boto3.Session().region_name or "us-east-1"


def resolve_table(
    *,
    table: str | None,
    endpoint_url: str | None,
    region: str | None,
    stack_name: str | None,
    state_dir: Path,
    environ: dict[str, str] | None = None,
    cloudformation: Any = None,
) -> TableTarget:
    """Explicit flags first, then the deployed stack's output, the environment, a running `make run`."""
    env = dict(os.environ if environ is None else environ)
    endpoint_url = endpoint_url or env.get("AWS_ENDPOINT_URL_DYNAMODB") or None
    if table:
        return TableTarget(table, endpoint_url, region, "--table")
    if stack_name:
        outputs = stack_outputs(stack_name, cloudformation=cloudformation, region=region)
        if OUTPUT_TABLE_NAME not in outputs:
            raise LogsError(f"stack {stack_name} has no {OUTPUT_TABLE_NAME} output")
        return TableTarget(outputs[OUTPUT_TABLE_NAME], endpoint_url, region, f"stack {stack_name}")
    if env.get("CHATBOT_TABLE_NAME"):
        return TableTarget(env["CHATBOT_TABLE_NAME"], endpoint_url, region, "CHATBOT_TABLE_NAME")
    local = read_local_endpoints(state_dir)
    if local and local.get("table") and (local.get("moto") or local.get("aws")):
        return TableTarget(
            str(local["table"]),
            endpoint_url or local.get("moto"),
            region or local.get("region"),
            f"local stack ({state_dir / ENDPOINTS_FILE})",
        )
    raise LogsError(
        f"no call-log table: no local stack found in {state_dir} (run `make run`, or pass --state-dir "
        "for a stack started with another STATE_DIR), or pass --table (with --endpoint-url for moto), "
        "or --stack-name for a deployed stack"
    )


def call_to_dict(record: Any) -> dict[str, Any]:
    """A `CallRecord` in the API's camelCase, for tables and `--json`."""
    plain = asdict(record)
    return {
        "createdAt": plain["created_at"],
        "callId": plain["call_id"],
        "userId": plain["user_id"],
        "conversationId": plain["conversation_id"],
        "model": plain["model"],
        "kind": plain.get("kind"),
        "status": plain["status"],
        "errorCode": plain.get("error_code"),
        "inputTokens": plain["input_tokens"],
        "outputTokens": plain["output_tokens"],
        "latencyMs": plain["latency_ms"],
        "requestId": plain["request_id"],
        "cacheReadInputTokens": plain.get("cache_read_tokens", 0),
        "cacheWriteInputTokens": plain.get("cache_write_tokens", 0),
        # Exact decimal text (a float would round sums of many small costs); None: unpriced.
        "costUsd": None if plain.get("cost_usd") is None else str(plain["cost_usd"]),
    }


def query_calls(
    client: Any,
    table: str,
    *,
    user: str | None = None,
    conversation: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Call records newest first (the service's query: one partition per user, or by day)."""
    from lambda_chat.adapters.call_log import CallLog

    records = CallLog(client, table).query(
        user_id=user,
        conversation_id=conversation,
        status=status,
        since=iso_utc(since) if since else None,
        until=iso_utc(until) if until else None,
        limit=limit,
    )
    return [call_to_dict(record) for record in records]


# -- CloudWatch -----------------------------------------------------------------------------------


def stack_outputs(
    stack_name: str, *, cloudformation: Any = None, region: str | None = None
) -> dict[str, str]:
    import boto3
    from botocore.exceptions import ClientError

    client = cloudformation or boto3.client("cloudformation", region_name=region or _default_region())
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise LogsError(
            f"cannot read stack {stack_name}: {exc.response['Error'].get('Message', exc)}"
        ) from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}


def resolve_log_group(
    function: str, stack_name: str, *, cloudformation: Any = None, region: str | None = None
) -> str:
    output = LOG_GROUP_OUTPUTS[function]
    outputs = stack_outputs(stack_name, cloudformation=cloudformation, region=region)
    if output not in outputs:
        raise LogsError(f"stack {stack_name} has no {output} output; pass --log-group")
    return outputs[output]


def tail_log_group(
    logs_client: Any,
    log_group: str,
    *,
    since: datetime,
    out: TextIO,
    follow: bool = True,
    filter_pattern: str | None = None,
    poll_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int | None = None,
) -> int:
    """Print events from `since` on, then keep polling (`filter_log_events`) until interrupted.

    Returns how many events were printed. Events seen in an earlier poll are not repeated
    (polls overlap by a few seconds because CloudWatch ingestion is not instantaneous).
    """
    start_ms = int(since.timestamp() * 1000)
    seen: set[str] = set()
    printed = 0
    polls = 0
    while True:
        params: dict[str, Any] = {"logGroupName": log_group, "startTime": start_ms}
        if filter_pattern:
            params["filterPattern"] = filter_pattern
        newest = start_ms
        while True:
            page = logs_client.filter_log_events(**params)
            for event in page.get("events", []):
                event_id = event.get("eventId") or f"{event['timestamp']}:{event.get('message')}"
                newest = max(newest, int(event["timestamp"]))
                if event_id in seen:
                    continue
                seen.add(event_id)
                stamp = datetime.fromtimestamp(event["timestamp"] / 1000).astimezone().strftime("%H:%M:%S")
                out.write(f"{stamp} {event.get('message', '').rstrip()}\n")
                printed += 1
            out.flush()
            if not page.get("nextToken"):
                break
            params["nextToken"] = page["nextToken"]
        polls += 1
        if not follow or (max_polls is not None and polls >= max_polls):
            return printed
        start_ms = max(start_ms, newest - 10_000)
        sleep(poll_seconds)

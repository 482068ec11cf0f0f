"""Turning API answers and call-log records into terminal text; parsing time options."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """`30m`, `1h`, `2d`, `1w` (that long before now), `now`, or an ISO-8601 date/time (UTC if naive)."""
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    if text == "now":
        return now
    match = _RELATIVE.match(text)
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {value!r} (use 30m, 1h, 2d, 1w, now, or ISO-8601)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], *, max_width: int = 60) -> str:
    """A plain left-aligned table; cells longer than `max_width` are cut with an ellipsis."""
    cells = [[_cell(value, max_width) for value in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))
    lines = ["  ".join(_pad(h, widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Terminal columns `text` takes: two for East Asian wide and fullwidth characters (Unicode
    UAX #11, `unicodedata.east_asian_width` W and F), none for combining marks, one otherwise."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _cell(value: Any, max_width: int) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # one line per row
    if display_width(text) <= max_width:
        return text
    while display_width(text) > max_width - 1:
        text = text[:-1]
    return text + "…"


def short_time(iso: str | None) -> str:
    """`2026-01-02T03:04:05.678Z` -> `2026-01-02 03:04:05`."""
    if not iso:
        return ""
    return iso.replace("T", " ")[:19]


def conversations_table(items: list[dict[str, Any]]) -> str:
    rows = [
        (c.get("id"), short_time(c.get("updatedAt")), c.get("model") or "", c.get("title") or "")
        for c in items
    ]
    return format_table(rows, ["ID", "UPDATED (UTC)", "MODEL", "TITLE"])


def conversation_text(conversation: dict[str, Any]) -> str:
    """A conversation as a transcript: header, then each message with its role and status."""
    lines = [f"# {conversation.get('title') or '(untitled)'}", f"id: {conversation.get('id')}"]
    if conversation.get("model"):
        lines.append(f"model: {conversation['model']}")
    if conversation.get("system"):
        lines.append(f"system: {conversation['system']}")
    created, updated = short_time(conversation.get("createdAt")), short_time(conversation.get("updatedAt"))
    lines.append(f"created: {created}  updated: {updated}")
    for message in conversation.get("messages") or []:
        status = message.get("status") or "complete"
        marker = "" if status == "complete" else f" [{status}]"
        names = [a.get("filename") or a.get("uploadId") for a in message.get("attachments") or []]
        attached = f" (attached: {', '.join(str(n) for n in names)})" if names else ""
        lines.append("")
        if message.get("toolStep"):
            lines.append(f"{message.get('role', '?')} · tool step")
            lines.extend(tool_block_lines(message.get("blocks") or []))
            continue
        lines.append(f"{message.get('role', '?')} · {short_time(message.get('createdAt'))}{marker}{attached}")
        lines.append(str(message.get("content", "")))
    if conversation.get("nextCursor"):
        lines.append("")
        lines.append(f"(more messages: --cursor {conversation['nextCursor']})")
    return "\n".join(lines)


CALL_COLUMNS = [
    "TIME (UTC)",
    "USER",
    "CONVERSATION",
    "MODEL",
    "STATUS",
    "IN",
    "CACHE R/W",
    "OUT",
    "MS",
    "COST",
    "REQUEST ID",
]


def calls_table(calls: list[dict[str, Any]]) -> str:
    rows = [
        (
            short_time(c.get("createdAt")),
            c.get("userId"),
            c.get("conversationId") or "",
            c.get("model"),
            str(c.get("status")) + (f" ({c['errorCode']})" if c.get("errorCode") else ""),
            c.get("inputTokens"),
            _cache_cell(c),
            c.get("outputTokens"),
            c.get("latencyMs"),
            format_cost(c.get("costUsd")),
            c.get("requestId") or "",
        )
        for c in calls
    ]
    return format_table(rows, CALL_COLUMNS, max_width=40)


def _cache_cell(call: dict[str, Any]) -> str:
    """Prompt-cache reads/writes of a call ("3192/0"), blank when it used none: Converse counts
    them apart from inputTokens, so IN alone understates what the model read."""
    read, write = call.get("cacheReadInputTokens") or 0, call.get("cacheWriteInputTokens") or 0
    return f"{read}/{write}" if read or write else ""


def format_cost(value: Any) -> str:
    """A USD amount for people: "$0.000540", "$0" for free (local) calls, "" when unknown."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    if amount == 0:
        return "$0"
    return f"${amount:.6f}" if amount < 1 else f"${amount:.2f}"


def costs_table(rows: list[dict[str, Any]]) -> str:
    """`chatbot logs --costs`: calls, tokens and USD summed by day, user and model."""
    table = [
        (
            r.get("day") or "",
            r.get("userId") or "",
            r.get("model") or "",
            r.get("calls"),
            r.get("inputTokens"),
            r.get("outputTokens"),
            (r.get("cacheReadInputTokens") or 0) + (r.get("cacheWriteInputTokens") or 0),
            format_cost(r.get("costUsd"))
            + (f" (+{r['unpricedCalls']} unpriced)" if r.get("unpricedCalls") else ""),
        )
        for r in rows
    ]
    return format_table(table, ["DAY", "USER", "MODEL", "CALLS", "IN", "OUT", "CACHED", "COST"], max_width=48)


def usage_line(meta: dict[str, Any], usage: dict[str, Any], done: dict[str, Any]) -> str:
    """The dim footer printed after a streamed answer (to stderr)."""
    parts = [f"conversation {meta.get('conversationId')}"]
    if meta.get("model"):
        parts.append(str(meta["model"]))
    if usage:
        # Converse's inputTokens leaves out the prompt-cache counts; they are input too.
        read, write = usage.get("cacheReadInputTokens"), usage.get("cacheWriteInputTokens")
        cached = "".join(
            f", {count} {what}" for count, what in ((read, "cache read"), (write, "cache write")) if count
        )
        parts.append(
            f"{usage.get('inputTokens', '?')} in{cached} / {usage.get('outputTokens', '?')} out tokens"
        )
        if usage.get("costUsd") is not None:
            parts.append(format_cost(usage["costUsd"]))
    if done.get("latencyMs") is not None:
        parts.append(f"{done['latencyMs']} ms")
    if done.get("stopReason") and done["stopReason"] != "end_turn":
        parts.append(f"stop: {done['stopReason']}")
    return "[" + " · ".join(parts) + "]"


FEEDBACK_COLUMNS = ["TIME (UTC)", "USER", "CONVERSATION", "MESSAGE", "MODEL", "RATING", "REASON"]


def feedback_table(ratings: list[dict[str, Any]]) -> str:
    """`chatbot logs --feedback`: one row per rated answer, newest first."""
    rows = [
        (
            short_time(r.get("createdAt")),
            r.get("userId"),
            r.get("conversationId") or "",
            r.get("messageId") or "",
            r.get("model") or "",
            r.get("rating"),
            r.get("reason") or "",
        )
        for r in ratings
    ]
    return format_table(rows, FEEDBACK_COLUMNS, max_width=40)


def _one_line(value: Any, max_chars: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def tool_event_line(event: str, data: dict[str, Any]) -> str:
    """One stderr line per SSE tool event: `[tool current_time {"timezone": "Asia/Tokyo"}]`,
    `[tool current_time → success: 2025-11-30 21:00 ...]`, `[notice step_limit: ...]`."""
    if event == "tool_use":
        return f"[tool {data.get('name')} {_one_line(data.get('input', {}))}]"
    if event == "tool_result":
        return f"[tool {data.get('name')} → {data.get('status')}: {_one_line(data.get('preview', ''))}]"
    return f"[notice {data.get('code')}: {data.get('message')}]"


def tool_block_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """A stored tool step's blocks as transcript lines (text, calls, results)."""
    lines = []
    for block in blocks:
        if "text" in block and str(block["text"]).strip():
            lines.append(str(block["text"]))
        elif "toolUse" in block:
            use = block["toolUse"]
            lines.append(f"  used {use.get('name')} {_one_line(use.get('input', {}))}")
        elif "toolResult" in block:
            result = block["toolResult"]
            text = " ".join(str(c.get("text", "")) for c in result.get("content", []))
            lines.append(f"  → {result.get('status', 'success')}: {_one_line(text)}")
    return lines

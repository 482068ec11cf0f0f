"""The tool registry: what a tool is, how its input is checked, and the Converse ``toolConfig``.

A tool is a name, a description, a JSON Schema for its input and an async implementation. Input
is validated with ``jsonschema`` before the implementation runs; a failure of any kind becomes a
``ToolOutcome`` with status ``error`` and a plain message the model can read, never an exception
out of ``run``.

Rules from the Bedrock API reference (ToolSpecification, ToolChoice):
- a tool name matches ``[a-zA-Z0-9_-]+`` and is 1-64 characters long;
- a description, when sent, is at least 1 character;
- ``toolChoice`` is one of ``{"auto": {}}``, ``{"any": {}}``, ``{"tool": {"name": ...}}``
  (``any`` and ``tool`` are supported by some models only: Anthropic Claude 3+, Mistral Large 2,
  Amazon Nova).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from chatbot_common.errors import InvalidInput

_log = logging.getLogger(__name__)

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_DESCRIPTION_CHARS = 2_000
ToolStatus = Literal["success", "error"]


class ToolError(Exception):
    """Raised by a tool implementation for a failure the model should read (unknown time zone,
    division by zero, ...). The message is sent as the toolResult text; keep it plain."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ToolContext:
    """Who a tool runs for. Identity comes from the authenticated request only.

    `conversation_upload_ids`: document uploads referenced by this conversation's messages (the
    chat turn has them from `document_references(history)`), so tools can scope to "this
    conversation" without another read.
    """

    user_id: str
    conversation_id: str | None = None
    request_id: str | None = None
    conversation_upload_ids: tuple[str, ...] = ()


ToolOutput = str | dict[str, Any] | list[Any]
ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[ToolOutput]]


@dataclass(frozen=True)
class Tool:
    """One tool. `source` is "builtin" or the MCP server's configured name."""

    name: str
    description: str
    input_schema: dict[str, Any]
    run: ToolFunction = field(repr=False, compare=False)
    source: str = "builtin"
    title: str | None = None

    def __post_init__(self) -> None:
        if not TOOL_NAME.match(self.name):
            raise ValueError(
                f"Tool name {self.name!r} is not a valid Bedrock tool name ([a-zA-Z0-9_-]{{1,64}})"
            )
        check_input_schema(self.input_schema)

    def tool_spec(self) -> dict[str, Any]:
        """The Converse ``toolSpec`` for this tool."""
        description = (self.description or self.title or self.name).strip()[:MAX_DESCRIPTION_CHARS]
        return {
            "toolSpec": {
                "name": self.name,
                "description": description or self.name,
                "inputSchema": {"json": self.input_schema},
            }
        }

    def describe(self) -> dict[str, Any]:
        """What ``GET /tools`` lists for the tool (camelCase, like the rest of the API)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "source": self.source,
        }


def check_input_schema(schema: Mapping[str, Any]) -> None:
    """Raise ValueError unless `schema` is a valid JSON Schema (draft 2020-12) for an object, the
    only input shape Converse accepts for a tool."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid input schema: {exc.message}") from exc
    if schema.get("type") != "object":
        raise ValueError('a tool input schema must have "type": "object"')


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run a tool (a Converse ``toolUse`` block)."""

    tool_use_id: str
    name: str
    input: Any


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one call. `text` is what the model reads (capped); `output_chars` is the
    size before capping (for logs and metrics)."""

    tool_use_id: str
    name: str
    status: ToolStatus
    text: str
    duration_ms: int
    output_chars: int
    truncated: bool = False

    def result_block(self) -> dict[str, Any]:
        """The Converse ``toolResult`` block. Text content only: langchain-aws rewrites the keys of
        ``json`` content to camelCase, which would change the tool's output."""
        return {
            "toolResult": {
                "toolUseId": self.tool_use_id,
                "content": [{"text": self.text or "(no output)"}],
                "status": self.status,
            }
        }

    def preview(self, max_chars: int = 200) -> str:
        """One line for the user interface: whitespace collapsed, cut at `max_chars`."""
        line = " ".join(self.text.split())
        return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


@dataclass(frozen=True)
class ToolLimits:
    timeout_seconds: float = 20.0
    max_output_chars: int = 16_000


def render_output(output: ToolOutput) -> str:
    """A tool's return value as the text the model reads: strings as they are, anything else as
    compact JSON."""
    if isinstance(output, str):
        return output
    return json.dumps(output, ensure_ascii=False, separators=(",", ":"), default=str)


def cap_text(text: str, max_chars: int) -> tuple[str, bool]:
    """`text` cut to `max_chars` with a note saying how much was left out."""
    if len(text) <= max_chars:
        return text, False
    note = f"\n[output truncated: first {max_chars:,} of {len(text):,} characters]"
    return text[: max(max_chars - len(note), 0)] + note, True


class ToolRegistry:
    """The tools a deployment offers, by name. Immutable after construction; build a new one to
    change it (``with_tools``)."""

    def __init__(self, tools: Iterable[Tool] = (), *, limits: ToolLimits | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"Two tools are named {tool.name!r}")
            self._tools[tool.name] = tool
            self._validators[tool.name] = Draft202012Validator(tool.input_schema)
        self.limits = limits or ToolLimits()

    def with_tools(self, tools: Iterable[Tool]) -> ToolRegistry:
        """A registry holding these tools and the extra ones (same limits)."""
        return ToolRegistry([*self._tools.values(), *tools], limits=self.limits)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def describe(self) -> list[dict[str, Any]]:
        """Every tool as ``GET /tools`` lists it, in registration order."""
        return [tool.describe() for tool in self._tools.values()]

    def require(self, names: Sequence[str]) -> list[str]:
        """`names` deduplicated, in order; InvalidInput (400) naming every unknown one."""
        unknown = [name for name in names if name not in self._tools]
        if unknown:
            raise InvalidInput(f"Unknown tools: {', '.join(sorted(set(unknown)))}")
        return list(dict.fromkeys(names))

    def tool_config(self, enabled: Sequence[str], tool_choice: str | None = None) -> dict[str, Any] | None:
        """The Converse ``toolConfig`` for the enabled tools, or None when none is enabled.

        `tool_choice`: None or "auto" (the model decides), "any" (it must call some tool), or a
        tool name (it must call that one). InvalidInput for unknown names or a choice naming a
        tool that is not enabled.
        """
        names = self.require(enabled)
        if not names:
            if tool_choice not in (None, "auto"):
                raise InvalidInput("toolChoice needs at least one enabled tool")
            return None
        config: dict[str, Any] = {"tools": [self._tools[name].tool_spec() for name in names]}
        if tool_choice in (None, "auto"):
            config["toolChoice"] = {"auto": {}}
        elif tool_choice == "any":
            config["toolChoice"] = {"any": {}}
        elif tool_choice in names:
            config["toolChoice"] = {"tool": {"name": tool_choice}}
        else:
            raise InvalidInput(f"toolChoice must be auto, any or an enabled tool's name, not {tool_choice!r}")
        return config

    async def run(
        self, call: ToolCall, context: ToolContext, *, enabled: Sequence[str] | None = None
    ) -> ToolOutcome:
        """Run one call: check the name (and that it is enabled), validate the input, run the
        implementation under the timeout, cap the output. Never raises for a tool's failure."""
        started = time.perf_counter()

        def outcome(status: ToolStatus, text: str) -> ToolOutcome:
            capped, truncated = cap_text(text, self.limits.max_output_chars)
            return ToolOutcome(
                tool_use_id=call.tool_use_id,
                name=call.name,
                status=status,
                text=capped,
                duration_ms=int((time.perf_counter() - started) * 1000),
                output_chars=len(text),
                truncated=truncated,
            )

        tool = self._tools.get(call.name)
        if tool is None or (enabled is not None and call.name not in enabled):
            available = ", ".join(enabled if enabled is not None else self.names()) or "none"
            return outcome("error", f"There is no tool named {call.name!r}. Available tools: {available}.")
        problem = self.input_problem(call.name, call.input)
        if problem is not None:
            return outcome("error", f"Invalid input for {call.name}: {problem}")
        try:
            output = await asyncio.wait_for(tool.run(dict(call.input), context), self.limits.timeout_seconds)
        except ToolError as exc:
            return outcome("error", exc.message)
        except TimeoutError:
            return outcome(
                "error", f"The tool {call.name} did not answer within {self.limits.timeout_seconds:g} s."
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("tool failed", extra={"tool": call.name})
            return outcome("error", f"The tool {call.name} failed unexpectedly.")
        return outcome("success", render_output(output))

    def input_problem(self, name: str, value: Any) -> str | None:
        """Why `value` is not valid input for tool `name` (the most relevant error), or None."""
        if not isinstance(value, dict):
            return "the input must be a JSON object"
        first = best_match(self._validators[name].iter_errors(value))
        if first is None:
            return None
        where = "/".join(str(part) for part in first.absolute_path)
        return f"{first.message} (at {where})" if where else first.message

"""Remote MCP servers as tool sources, with the official ``mcp`` SDK (2.x) over streamable HTTP.

Only the deployer lists servers (``cdk.json`` -> the chat Lambda's settings); users never supply
a URL. Each entry: ``{"name", "url", "authHeader"?: {"name", "ssmParameter" | "secretArn"}}``.

- Discovery (``tools/list``, every page) runs at start-up for all servers concurrently, each
  bounded by its timeout; the tools are cached.
- A tool is exposed as ``<server>__<tool>``. Bedrock tool names are ``[a-zA-Z0-9_-]{1,64}``:
  other characters become ``_``, and a name that would be too long (or collide) is cut and ends
  with 8 hex digits of a SHA-256 of the original name, so it stays unique and stable.
- A server that cannot be reached (or whose secret cannot be read) is left out with a notice,
  and discovered again on a later turn once ``retry_after_seconds`` have passed. A call that
  fails to reach its server marks the server for rediscovery too ("refreshed on failure").
- A tool whose input schema is not a JSON Schema for an object is left out with a notice.

Each call opens its own MCP session (Lambda keeps no background connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from lambda_chat.tools.registry import Tool, ToolContext, ToolError, check_input_schema

_log = logging.getLogger(__name__)

SEPARATOR = "__"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_LOOPBACK_HOSTS = {"localhost"}


class AuthHeader(BaseModel):
    """An HTTP header sent to the server, its value read from SSM Parameter Store (SecureString
    allowed) or Secrets Manager (SecretString) at discovery, never written in configuration."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    name: str = Field(description="Header name, e.g. Authorization or X-Api-Key")
    ssm_parameter: str | None = Field(default=None, alias="ssmParameter")
    secret_arn: str | None = Field(default=None, alias="secretArn")

    @field_validator("name")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError("a header name is letters, digits and '-'")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> AuthHeader:
        if (self.ssm_parameter is None) == (self.secret_arn is None):
            raise ValueError("authHeader needs exactly one of ssmParameter or secretArn")
        return self


class McpServerConfig(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    # No "_" in server names: "<server>__<tool>" then splits one way only.
    name: str = Field(pattern=r"^[a-zA-Z0-9-]{1,24}$")
    url: str
    auth_header: AuthHeader | None = Field(default=None, alias="authHeader")
    timeout_seconds: float = Field(default=15.0, gt=0, le=120, alias="timeoutSeconds")

    @field_validator("url")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("url must be an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("url must not carry credentials; use authHeader")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("url must use https (plain http is accepted for loopback addresses only)")
        return value


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_mcp_servers(raw: str | Sequence[Any] | None) -> list[McpServerConfig]:
    """The deployer's server list (JSON text or decoded list); ValueError naming the problem.
    Names must be unique."""
    if raw is None or raw == "":
        return []
    data = json.loads(raw) if isinstance(raw, str) else list(raw)
    servers = TypeAdapter(list[McpServerConfig]).validate_python(data)
    names = [s.name for s in servers]
    if len(set(names)) != len(names):
        raise ValueError("MCP server names must be unique")
    return servers


class SecretSource(Protocol):
    def header_value(self, header: AuthHeader) -> str:
        """The header's value. Raises on any failure (the server is then left out)."""
        ...


class AwsSecretSource:
    """``SecretSource`` over SSM ``GetParameter`` (WithDecryption) and Secrets Manager
    ``GetSecretValue``. Values are kept for the life of the process (one read per cold start)."""

    def __init__(self, ssm_client: Any, secretsmanager_client: Any) -> None:
        self._ssm = ssm_client
        self._secrets = secretsmanager_client
        self._cache: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def header_value(self, header: AuthHeader) -> str:
        key = ("ssm", header.ssm_parameter) if header.ssm_parameter else ("secret", str(header.secret_arn))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        if header.ssm_parameter:
            value = self._ssm.get_parameter(Name=header.ssm_parameter, WithDecryption=True)["Parameter"][
                "Value"
            ]
        else:
            value = self._secrets.get_secret_value(SecretId=header.secret_arn)["SecretString"]
        with self._lock:
            self._cache[key] = str(value)
        return str(value)


def namespaced_name(server: str, tool: str, taken: set[str]) -> str:
    """``<server>__<tool>`` made valid for Bedrock (see module docstring)."""
    safe = _UNSAFE.sub("_", tool) or "tool"
    name = f"{server}{SEPARATOR}{safe}"
    if len(name) <= 64 and name not in taken:
        return name
    digest = hashlib.sha256(tool.encode()).hexdigest()[:8]
    room = 64 - len(server) - len(SEPARATOR) - len(digest) - 1
    return f"{server}{SEPARATOR}{safe[:room]}_{digest}"


def _result_text(result: Any) -> str:
    """An MCP CallToolResult as text: text content joined; other content named; structured
    content as JSON when there is no text."""
    parts: list[str] = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} content omitted]")
        elif kind == "resource_link":
            parts.append(f"[resource {getattr(item, 'uri', '')}]")
        elif kind == "resource":
            resource = item.resource
            parts.append(getattr(resource, "text", None) or f"[resource {getattr(resource, 'uri', '')}]")
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


@dataclass
class _ServerState:
    config: McpServerConfig
    tools: list[Tool] = field(default_factory=list)
    notice: str | None = None
    retry_at: float = 0.0  # monotonic time when a failed or stale server is discovered again
    stale: bool = True  # never discovered, failed, or a call could not reach it


class McpToolSource:
    """The tools of the deployer's MCP servers, discovered once and cached.

    Thread-safe: turns run in worker threads. ``discover()`` blocks (start-up); ``current()``
    returns the cached tools and notices, first rediscovering servers that are due.
    """

    def __init__(
        self,
        servers: Sequence[McpServerConfig],
        secrets: SecretSource | None = None,
        *,
        retry_after_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states = {s.name: _ServerState(s) for s in servers}
        self._secrets = secrets
        self._retry_after = retry_after_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def discover(self, names: Sequence[str] | None = None, *, budget_seconds: float | None = None) -> None:
        """Discover the named servers (default: all) concurrently; blocks until each answered
        or timed out (its own timeout, or `budget_seconds` when shorter: a Lambda's init phase
        has 10 s in all). Never raises: a failing server gets a notice."""
        targets = [self._states[n] for n in (names if names is not None else list(self._states))]
        if not targets:
            return
        outcome: list[tuple[_ServerState, list[Tool] | None, str | None]] = []

        async def all_servers() -> None:
            found = await asyncio.gather(*(self._discover_one(state, budget_seconds) for state in targets))
            outcome.extend(
                (state, tools, notice) for state, (tools, notice) in zip(targets, found, strict=True)
            )

        _run_blocking(all_servers())
        now = self._clock()
        with self._lock:
            for state, tools, notice in outcome:
                if tools is None:
                    state.tools, state.stale, state.retry_at = [], True, now + self._retry_after
                    state.notice = notice
                    _log.warning("MCP server left out", extra={"server": state.config.name, "reason": notice})
                else:
                    state.tools, state.stale, state.notice = tools, False, notice

    def current(self, *, budget_seconds: float = 3.0) -> tuple[list[Tool], list[str]]:
        """The cached tools of reachable servers, and one notice per server left out (or tool
        skipped). Servers that failed or were marked stale are rediscovered first when due,
        within `budget_seconds` (this delays the turn that does it)."""
        now = self._clock()
        with self._lock:
            due = [n for n, s in self._states.items() if s.stale and s.retry_at <= now]
            for name in due:  # one turn rediscovers; concurrent turns use the cache meanwhile
                self._states[name].retry_at = now + self._retry_after
        if due:
            self.discover(due, budget_seconds=budget_seconds)
        with self._lock:
            tools = [t for s in self._states.values() for t in s.tools]
            notices = [s.notice for s in self._states.values() if s.notice]
        return tools, notices

    def mark_stale(self, server: str) -> None:
        """A call could not reach `server`: rediscover it on the next turn."""
        with self._lock:
            state = self._states.get(server)
            if state is not None:
                state.stale = True
                state.retry_at = self._clock()

    async def _discover_one(
        self, state: _ServerState, budget_seconds: float | None
    ) -> tuple[list[Tool] | None, str | None]:
        config = state.config
        timeout = min(config.timeout_seconds, budget_seconds or config.timeout_seconds)
        try:
            headers = self._headers(config)
        except Exception:
            _log.exception("MCP server secret unreadable", extra={"server": config.name})
            return None, f"The tools of {config.name} are unavailable: its credentials could not be read."
        try:
            listed = await asyncio.wait_for(self._list_tools(config, headers), timeout)
        except Exception as exc:
            _log.warning("MCP discovery failed", extra={"server": config.name, "error": type(exc).__name__})
            return None, f"The tools of {config.name} are unavailable: the server could not be reached."
        tools: list[Tool] = []
        skipped: list[str] = []
        taken: set[str] = set()
        for remote in listed:
            name = namespaced_name(config.name, remote.name, taken)
            schema = dict(remote.input_schema or {})
            try:
                check_input_schema(schema)
            except ValueError:
                skipped.append(remote.name)
                continue
            taken.add(name)
            tools.append(
                Tool(
                    name=name,
                    title=getattr(remote, "title", None),
                    description=(remote.description or getattr(remote, "title", None) or remote.name).strip(),
                    input_schema=schema,
                    run=self._caller(config, headers, remote.name),
                    source=config.name,
                )
            )
        notice = (
            f"Tools of {config.name} left out (invalid input schema): {', '.join(skipped)}"
            if skipped
            else None
        )
        return tools, notice

    def _headers(self, config: McpServerConfig) -> dict[str, str]:
        if config.auth_header is None:
            return {}
        if self._secrets is None:
            raise RuntimeError("no secret source configured")
        return {config.auth_header.name: self._secrets.header_value(config.auth_header)}

    async def _list_tools(self, config: McpServerConfig, headers: dict[str, str]) -> list[Any]:
        tools: list[Any] = []
        async with _session(config, headers) as client:
            cursor: str | None = None
            for _ in range(20):  # a bounded walk over the pages
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
        return tools

    def _caller(self, config: McpServerConfig, headers: dict[str, str], remote_name: str) -> Any:
        async def run(arguments: dict[str, Any], context: ToolContext) -> str:
            try:
                async with _session(config, headers) as client:
                    result = await client.call_tool(
                        remote_name, arguments, read_timeout_seconds=config.timeout_seconds
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.mark_stale(config.name)
                _log.warning("MCP call failed", extra={"server": config.name, "error": type(exc).__name__})
                raise ToolError(
                    f"The MCP server {config.name} could not be reached; try again later."
                ) from exc
            text = _result_text(result)
            if result.is_error:
                raise ToolError(text or f"The tool {remote_name} reported an error.")
            return text

        return run


@contextlib.asynccontextmanager
async def _session(config: McpServerConfig, headers: dict[str, str]) -> AsyncIterator[Any]:
    """An MCP client session over streamable HTTP with the configured headers."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(config.timeout_seconds)) as http:
        transport = streamable_http_client(config.url, http_client=http)
        async with Client(transport, read_timeout_seconds=config.timeout_seconds) as client:
            yield client


def _run_blocking(coroutine: Any) -> None:
    """Run a coroutine to completion from synchronous code, also when the calling thread already
    runs an event loop (then on a short-lived helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="mcp-discovery")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]

"""Every tool a deployment offers, as one registry per turn: the built-ins plus the tools of the
deployer's MCP servers (which can come and go as servers fail and recover)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lambda_chat.tools.builtins import calculator_tool, current_time_tool
from lambda_chat.tools.document_search import DocumentSearch, search_documents_tool
from lambda_chat.tools.mcp_servers import McpToolSource
from lambda_chat.tools.registry import Tool, ToolLimits, ToolRegistry

BUILTIN_NAMES = ("current_time", "calculator", "search_documents")


def builtin_tools(search: DocumentSearch | None, clock: Callable[[], float] = time.time) -> list[Tool]:
    """current_time, calculator, and search_documents when the app has a document library."""
    tools = [current_time_tool(clock), calculator_tool()]
    if search is not None:
        tools.append(search_documents_tool(search))
    return tools


@dataclass(frozen=True)
class ToolSnapshot:
    """The registry for one turn and the notices to show (MCP servers left out)."""

    registry: ToolRegistry
    notices: tuple[str, ...]

    def default_enabled(self) -> list[str]:
        """What a conversation has on unless it chose otherwise: the built-ins."""
        return [name for name in self.registry.names() if name in BUILTIN_NAMES]


class ToolCatalog:
    def __init__(
        self, builtins: Sequence[Tool], mcp: McpToolSource | None = None, *, limits: ToolLimits | None = None
    ) -> None:
        self._builtins = list(builtins)
        self._mcp = mcp
        self._limits = limits or ToolLimits()
        self._registry = ToolRegistry(self._builtins, limits=self._limits)

    def snapshot(self) -> ToolSnapshot:
        """The tools available now. MCP servers due for rediscovery are tried first (bounded;
        see ``McpToolSource.current``)."""
        if self._mcp is None:
            return ToolSnapshot(self._registry, ())
        remote, notices = self._mcp.current()
        return ToolSnapshot(self._registry.with_tools(remote), tuple(notices))

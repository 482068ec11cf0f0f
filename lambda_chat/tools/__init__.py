"""Tool use for chat turns (issue 13): one registry of tools (built-ins and remote MCP servers'),
the agent loop that runs them between model calls, and the history rules tool steps need.

Plain domain code: nothing here imports FastAPI or reads ``os.environ``. The MCP client
(``mcp_servers``) is the one adapter kept in this package, because it produces ``Tool`` objects.
"""

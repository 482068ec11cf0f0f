"""GET /tools: what the model can be offered (built-ins and the deployer's MCP servers' tools)."""

from __future__ import annotations

from fastapi import APIRouter

from lambda_chat.schemas import ToolsResponse, error_responses
from lambda_chat.services import CurrentIdentity, Services

router = APIRouter(tags=["tools"])


@router.get(
    "/tools",
    response_model=ToolsResponse,
    responses=error_responses(401, 429, 500),
    summary="List the tools a turn or conversation can enable",
    description=(
        "Built-ins (current_time, calculator, search_documents) and the tools of the MCP servers "
        "the deployment lists, named `server__tool`. A server that is down is left out and named "
        "in `notices`. Enable tools per conversation (PATCH /conversations/{id} `tools`) or per "
        "turn (POST /chat `tools`, `toolChoice`)."
    ),
)
def list_tools(identity: CurrentIdentity, services: Services) -> ToolsResponse:
    snapshot = services.chat.tool_snapshot()
    return ToolsResponse.model_validate(
        {
            "tools": snapshot.registry.describe(),
            "default_enabled": snapshot.default_enabled(),
            "notices": list(snapshot.notices),
        }
    )

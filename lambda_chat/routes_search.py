"""GET /search: the caller's conversations whose title or message text holds the query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lambda_chat.domain.search import MAX_QUERY_CHARS, MAX_RESULTS, SearchService
from lambda_chat.schemas import SearchResponse, error_responses
from lambda_chat.services import CurrentIdentity, Services

router = APIRouter(tags=["conversations"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(400, 401, 429, 500, 502),
    summary="Search conversations: titles and message text (case-insensitive substring)",
    description=(
        "Reads the caller's 50 most recently active conversations and up to 200 newest messages "
        "of each (one Query each; never a Scan); see docs/api.md for the cost per query."
    ),
)
def search(
    identity: CurrentIdentity,
    services: Services,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="Text to find")],
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
) -> SearchResponse:
    hits = SearchService(services.store).search(identity.user_id, q, limit=limit)
    return SearchResponse.model_validate({"items": hits})

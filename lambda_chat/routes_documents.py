"""POST /documents/{uploadId}/summary: a whole-document summary, as JSON or Server-Sent Events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import Field

from chatbot_common.errors import DomainError
from chatbot_common.http import ID_SCHEMA, ApiModel, ApiRequest
from lambda_chat.attachments.summary_service import DocumentSummaryService, SummaryOutcome, aggregate_summary
from lambda_chat.schemas import UsageOut, error_responses
from lambda_chat.services import CurrentIdentity, Services, request_id_for
from lambda_chat.sse import SSE_OPENAPI, respond

router = APIRouter(tags=["documents"])


class SummaryRequest(ApiRequest):
    conversation_id: str | None = Field(
        default=None, description="Add the summary to this conversation; omit to start one"
    )
    model: str | None = Field(default=None, description="A model id from GET /models")


class SummaryResponse(ApiModel):
    conversation_id: str
    message_id: str
    summary: str
    chunks: int = Field(description="How many parts of the document were summarized (all of them)")
    stop_reason: str = Field(
        description="Converse stopReason of the final call: end_turn, or max_tokens when the output "
        "limit cut the summary"
    )
    usage: UsageOut
    model: str
    latency_ms: int
    cost_usd: float | None = Field(
        default=None, description="USD for every call of the summary (null when the model is unpriced)"
    )


def get_summaries(services: Services) -> DocumentSummaryService:
    """The summary service built with the app (lambda_chat.app.create_app)."""
    if services.summaries is None:
        raise DomainError("Document summaries are unavailable: the app was built without a document library")
    return services.summaries


def _json(outcome: SummaryOutcome) -> SummaryResponse:
    return SummaryResponse.model_validate(outcome)


@router.post(
    "/documents/{uploadId}/summary",
    response_model=SummaryResponse,
    responses={**SSE_OPENAPI, **error_responses(400, 401, 404, 409, 413, 415, 422, 429, 500, 502)},
    summary="Summarize a whole uploaded document",
    description=(
        "Extracts the document's text (refusing hostile files with a 4xx), summarizes every part "
        "(map calls run concurrently, then a recursive reduce), and stores a 'Summarize <file>' "
        "message carrying the document reference plus the summary in the conversation (a new one "
        "when `conversationId` is absent). With `Accept: text/event-stream`: `meta`, `progress` "
        "{done, total}, `delta` {text} of the final summary, `usage`, `done` {stopReason, latencyMs, "
        "chunks}, or `error`. `stopReason` is `max_tokens` when the output limit cut the summary."
    ),
)
async def post_summary(
    upload_id: Annotated[
        str,
        Path(alias="uploadId", description="An upload id from POST /uploads", json_schema_extra=ID_SCHEMA),
    ],
    request: Request,
    identity: CurrentIdentity,
    summaries: Annotated[DocumentSummaryService, Depends(get_summaries)],
    services: Services,
    body: SummaryRequest | None = None,
) -> SummaryResponse | Response:
    body = body or SummaryRequest()
    request_id = request_id_for(request, identity)
    return await respond(
        request,
        lambda: summaries.start_summary(
            identity.user_id,
            upload_id,
            conversation_id=body.conversation_id,
            model=body.model,
            request_id=request_id,
        ),
        lambda events: _json(aggregate_summary(events)),
        idempotency=services.idempotency,
        user_id=identity.user_id,
        operation=f"summary:{upload_id}",
        body=body.model_dump(mode="json", by_alias=True),
    )

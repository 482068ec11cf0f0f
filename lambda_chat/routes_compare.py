"""POST /compare (one question on 2-4 lanes, JSON or SSE) and the stored comparisons:
GET /comparisons, GET /comparisons/{id}, POST /comparisons/{id}/continue {lane}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from chatbot_common.errors import NotFound
from chatbot_common.http import ID_SCHEMA
from lambda_chat.domain.compare import ComparisonResult, LaneInput, aggregate_comparison
from lambda_chat.domain.comparisons import CompareInput, ComparisonService
from lambda_chat.schemas import (
    CompareRequest,
    CompareResponse,
    ComparisonDetail,
    ComparisonList,
    ContinueLaneRequest,
    ConversationOut,
    StopLaneResponse,
    error_responses,
)
from lambda_chat.services import ChatServices, CurrentIdentity, Services, request_id_for
from lambda_chat.sse import SSE_OPENAPI, respond

router = APIRouter(tags=["compare"])

ComparisonId = Annotated[str, Path(json_schema_extra=ID_SCHEMA)]


def _comparisons(services: ChatServices) -> ComparisonService:
    if services.comparisons is None:
        raise NotFound("Comparisons are not available in this deployment")
    return services.comparisons


def _json(result: ComparisonResult) -> CompareResponse:
    conversations = result.meta.get("conversationIds", [])
    answers = []
    for answer in result.answers:
        entry = answer.to_json()
        if answer.lane < len(conversations):
            entry["conversationId"] = conversations[answer.lane]
        answers.append(entry)
    return CompareResponse.model_validate(
        {
            "comparisonId": result.meta.get("comparisonId"),
            "answers": answers,
            "costUsd": result.cost_usd,
            "latencyMs": result.latency_ms,
        }
    )


@router.post(
    "/compare",
    response_model=CompareResponse,
    responses={**SSE_OPENAPI, **error_responses(400, 401, 404, 409, 413, 415, 422, 429, 500, 502)},
    summary="Ask 2-4 lanes (models, or one model with different settings) the same question",
    description=(
        "Runs every lane concurrently; one lane's throttling or failure never fails the others. "
        "With `comparisonId` (and `lanes` omitted) it is a follow-up: every lane continues with its own "
        "history. With `Accept: text/event-stream` one stream multiplexes the lanes: `meta` "
        "{comparisonId, conversationIds, lanes}, `delta` {lane, model, text}, per lane `usage` "
        "{lane, model, inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens, costUsd} "
        "and `done` {lane, model, stopReason, latencyMs, costUsd} or `error` {lane, model, code, message}, "
        "then a final `done` {lanes, costUsd, latencyMs}; `ping` {} keeps an idle stream open."
    ),
)
async def post_compare(
    body: CompareRequest,
    request: Request,
    identity: CurrentIdentity,
    services: Services,
) -> CompareResponse | Response:
    compare = CompareInput(
        message=body.message,
        lanes=[
            LaneInput(lane.model, lane.inference_config.to_json() if lane.inference_config else None)
            for lane in body.lanes or []
        ],
        comparison_id=body.comparison_id,
        system=body.system,
        attachments=tuple(body.attachments),
    )
    request_id = request_id_for(request, identity)
    return await respond(
        request,
        lambda: _comparisons(services).start(identity.user_id, compare, request_id=request_id),
        lambda events: _json(aggregate_comparison(events)),
        idempotency=services.idempotency,
        user_id=identity.user_id,
        operation="compare",
        body=body.model_dump(mode="json", by_alias=True),
    )


@router.get(
    "/comparisons",
    response_model=ComparisonList,
    responses=error_responses(400, 401, 429, 500, 502),
    summary="The caller's comparisons, newest activity first",
)
def list_comparisons(
    identity: CurrentIdentity,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="nextCursor from the previous page")] = None,
) -> ComparisonList:
    page = _comparisons(services).list(identity.user_id, limit=limit, cursor=cursor)
    return ComparisonList.of(page)


@router.get(
    "/comparisons/{comparison_id}",
    response_model=ComparisonDetail,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="A comparison with each lane's messages, oldest first",
)
def get_comparison(
    comparison_id: ComparisonId,
    identity: CurrentIdentity,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ComparisonDetail:
    found = _comparisons(services).get(identity.user_id, comparison_id, limit=limit)
    return ComparisonDetail.of(found)


@router.delete(
    "/comparisons/{comparison_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="Delete a comparison and its lanes' conversations (a lane continued as a conversation is kept)",
)
def delete_comparison(
    comparison_id: ComparisonId,
    identity: CurrentIdentity,
    services: Services,
) -> Response:
    _comparisons(services).delete(identity.user_id, comparison_id)
    return Response(status_code=204)


@router.post(
    "/comparisons/{comparison_id}/stop",
    status_code=202,
    response_model=StopLaneResponse,
    responses=error_responses(400, 401, 404, 415, 429, 500, 502),
    summary="Stop one lane of a running comparison (the others go on)",
    description=(
        'The lane ends within about a second with `done` {stopReason: "stopped"}; its partial answer '
        "is kept. To stop every lane, close the stream (or abandon the JSON request)."
    ),
)
def stop_lane(
    comparison_id: ComparisonId,
    body: ContinueLaneRequest,
    identity: CurrentIdentity,
    services: Services,
) -> StopLaneResponse:
    _comparisons(services).stop_lane(identity.user_id, comparison_id, body.lane)
    return StopLaneResponse(comparison_id=comparison_id, lane=body.lane)


@router.post(
    "/comparisons/{comparison_id}/continue",
    response_model=ConversationOut,
    responses=error_responses(400, 401, 404, 409, 415, 429, 500, 502),
    summary="Continue with this answer: the lane becomes an ordinary conversation",
)
def continue_lane(
    comparison_id: ComparisonId,
    body: ContinueLaneRequest,
    identity: CurrentIdentity,
    services: Services,
) -> ConversationOut:
    conversation = _comparisons(services).continue_lane(identity.user_id, comparison_id, body.lane)
    return ConversationOut.model_validate(conversation)

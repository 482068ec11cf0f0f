"""POST /chat: one turn, as JSON or Server-Sent Events from the same event stream."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lambda_chat.domain.chat import TurnInput, TurnResult, aggregate_turn
from lambda_chat.schemas import ChatRequest, ChatResponse, error_responses
from lambda_chat.services import CurrentIdentity, Services, request_id_for
from lambda_chat.sse import SSE_OPENAPI, respond

router = APIRouter(tags=["chat"])


def _json(result: TurnResult) -> ChatResponse:
    return ChatResponse.model_validate(result)


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={**SSE_OPENAPI, **error_responses(400, 401, 404, 409, 413, 415, 422, 429, 500, 502)},
    summary="Send a message and get the answer",
    description=(
        "Without `conversationId` a new conversation is created (titled from the message). "
        "With `Accept: text/event-stream` the answer streams as SSE events: `meta` "
        "{conversationId, messageId, userMessageId, model}, `delta` {text}, `usage` "
        "{inputTokens, outputTokens, costUsd}, `done` {stopReason, latencyMs, stepLimitReached?}, or `error` "
        "{code, message} if the stream fails after it started (the partial answer is stored as "
        "incomplete). Tool use adds `tool_use` {id, name, input, step} once a call's input is "
        "complete, `tool_result` {id, name, status, preview, output, durationMs, step}, and "
        "`notice` {code, message} (tools left out, step limit); see docs/tools.md."
    ),
)
async def post_chat(
    body: ChatRequest,
    request: Request,
    identity: CurrentIdentity,
    services: Services,
) -> ChatResponse | Response:
    turn = TurnInput(
        message=body.message,
        conversation_id=body.conversation_id,
        model=body.model,
        system=body.system,
        attachments=tuple(body.attachments),
        preset=body.preset,
        regenerate=body.regenerate,
        edit_of=body.edit_of,
        inference_config=body.inference_config.to_json() if body.inference_config is not None else None,
        tools=None if body.tools is None else tuple(body.tools),
        tool_choice=body.tool_choice,
    )
    request_id = request_id_for(request, identity)
    return await respond(
        request,
        lambda: services.chat.start_turn(identity.user_id, turn, request_id=request_id),
        lambda events: _json(aggregate_turn(events)),
        idempotency=services.idempotency,
        user_id=identity.user_id,
        operation="chat",
        body=body.model_dump(mode="json", by_alias=True),
    )

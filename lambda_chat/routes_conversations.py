"""GET/PATCH/DELETE /conversations: a user's own conversations and their messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from chatbot_common.http import ID_SCHEMA
from lambda_chat.schemas import (
    ConversationDetail,
    ConversationList,
    ConversationOut,
    ConversationPatch,
    error_responses,
)
from lambda_chat.services import CurrentIdentity, Services

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[str, Path(json_schema_extra=ID_SCHEMA)]


@router.get(
    "/conversations",
    response_model=ConversationList,
    responses=error_responses(400, 401, 429, 500, 502),
    summary="The caller's conversations, newest activity first",
)
def list_conversations(
    identity: CurrentIdentity,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="nextCursor from the previous page")] = None,
) -> ConversationList:
    page = services.conversations.list(identity.user_id, limit=limit, cursor=cursor)
    return ConversationList.model_validate(page)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="A conversation and a page of its messages, oldest first",
)
def get_conversation(
    conversation_id: ConversationId,
    identity: CurrentIdentity,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> ConversationDetail:
    found = services.conversations.get(identity.user_id, conversation_id, limit=limit, cursor=cursor)
    return ConversationDetail.of(found)


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses=error_responses(400, 401, 404, 409, 413, 429, 500, 502),
    summary="Change the title, system prompt, model, inference settings or enabled tools",
)
def patch_conversation(
    conversation_id: ConversationId,
    body: ConversationPatch,
    identity: CurrentIdentity,
    services: Services,
) -> ConversationOut:
    conversation = services.conversations.update(
        identity.user_id,
        conversation_id,
        title=body.title,
        system=body.system,
        model=body.model,
        inference_config=body.inference_config.to_json() if body.inference_config is not None else None,
        tools=body.tools,
    )
    return ConversationOut.model_validate(conversation)


@router.delete(
    "/conversations/{conversation_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="Delete a conversation and its messages",
)
def delete_conversation(
    conversation_id: ConversationId,
    identity: CurrentIdentity,
    services: Services,
) -> Response:
    services.conversations.delete(identity.user_id, conversation_id)
    return Response(status_code=204)

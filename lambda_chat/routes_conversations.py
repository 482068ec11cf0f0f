"""GET/PATCH/DELETE /conversations: a user's own conversations and their messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from chatbot_common.http import ID_SCHEMA
from chatbot_common.identity import Identity
from lambda_chat.schemas import (
    ConversationDetail,
    ConversationList,
    ConversationOut,
    ConversationPatch,
    error_responses,
)
from lambda_chat.services import ChatServices, current_identity, get_services

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[str, Path(json_schema_extra=ID_SCHEMA)]
Caller = Depends(current_identity)
Services = Depends(get_services)


@router.get(
    "/conversations",
    response_model=ConversationList,
    responses=error_responses(400, 401, 429, 500, 502),
    summary="The caller's conversations, newest activity first",
)
def list_conversations(
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, description="nextCursor from the previous page"),
    identity: Identity = Caller,
    services: ChatServices = Services,
) -> ConversationList:
    page = services.conversations.list(identity.user_id, limit=limit, cursor=cursor)
    return ConversationList.of(page)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="A conversation and a page of its messages, oldest first",
)
def get_conversation(
    conversation_id: ConversationId,
    limit: int = Query(default=50, ge=1, le=100),
    cursor: str | None = Query(default=None),
    identity: Identity = Caller,
    services: ChatServices = Services,
) -> ConversationDetail:
    found = services.conversations.get(identity.user_id, conversation_id, limit=limit, cursor=cursor)
    return ConversationDetail.with_messages(found)


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses=error_responses(400, 401, 404, 409, 413, 429, 500, 502),
    summary="Change the title, system prompt or model",
)
def patch_conversation(
    conversation_id: ConversationId,
    body: ConversationPatch,
    identity: Identity = Caller,
    services: ChatServices = Services,
) -> ConversationOut:
    conversation = services.conversations.update(
        identity.user_id, conversation_id, title=body.title, system=body.system, model=body.model
    )
    return ConversationOut.of(conversation)


@router.delete(
    "/conversations/{conversation_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="Delete a conversation and its messages",
)
def delete_conversation(
    conversation_id: ConversationId,
    identity: Identity = Caller,
    services: ChatServices = Services,
) -> Response:
    services.conversations.delete(identity.user_id, conversation_id)
    return Response(status_code=204)

"""GET/PATCH/DELETE /conversations: a user's own conversations and their messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from chatbot_common.http import ID_SCHEMA
from lambda_chat.domain.entities import Message
from lambda_chat.schemas import (
    ConversationDetail,
    ConversationList,
    ConversationOut,
    ConversationPatch,
    FeedbackIn,
    MessageOut,
    error_responses,
)
from lambda_chat.services import ChatServices, CurrentIdentity, Services

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[str, Path(json_schema_extra=ID_SCHEMA)]
MessageId = Annotated[str, Path(json_schema_extra=ID_SCHEMA)]


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
    include_superseded: Annotated[
        bool,
        Query(
            alias="includeSuperseded",
            description="Also list earlier versions (old answers, edited questions and what followed them)",
        ),
    ] = False,
) -> ConversationDetail:
    found = services.conversations.get(
        identity.user_id,
        conversation_id,
        limit=limit,
        cursor=cursor,
        include_superseded=include_superseded,
    )
    return ConversationDetail.of(found)


@router.put(
    "/conversations/{conversation_id}/messages/{message_id}/feedback",
    response_model=MessageOut,
    responses=error_responses(400, 401, 404, 413, 415, 429, 500, 502),
    summary="Rate an answer (Good answer / Bad answer, optional reason); a retry changes nothing",
)
def put_feedback(
    conversation_id: ConversationId,
    message_id: MessageId,
    body: FeedbackIn,
    identity: CurrentIdentity,
    services: Services,
) -> MessageOut:
    message = services.conversations.set_feedback(
        identity.user_id, conversation_id, message_id, body.rating, body.reason
    )
    _log_feedback(services, identity.user_id, message)
    return MessageOut.model_validate(message)


@router.delete(
    "/conversations/{conversation_id}/messages/{message_id}/feedback",
    response_model=MessageOut,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="Withdraw the rating of an answer",
)
def delete_feedback(
    conversation_id: ConversationId,
    message_id: MessageId,
    identity: CurrentIdentity,
    services: Services,
) -> MessageOut:
    message = services.conversations.set_feedback(identity.user_id, conversation_id, message_id, None)
    _log_feedback(services, identity.user_id, message)
    return MessageOut.model_validate(message)


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses=error_responses(400, 401, 404, 409, 413, 415, 429, 500, 502),
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


def _log_feedback(services: ChatServices, user_id: str, message: Message) -> None:
    """One structured log line per rating (CloudWatch); the record itself is in the table."""
    services.logger.info(
        "feedback",
        extra={
            "userId": user_id,
            "conversationId": message.conversation_id,
            "messageId": message.id,
            "rating": (message.feedback or {}).get("rating"),
            "model": message.model,
        },
    )

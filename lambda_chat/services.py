"""What the routes use, built once per app at start-up and kept on `app.state.services`.

Other routers of this app (documents) reach the same objects through `get_services` and
`current_identity` rather than building their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from fastapi import Depends, Request

from chatbot_common.identity import Identity
from chatbot_common.settings import Settings
from lambda_chat.attachments.summary_service import DocumentSummaryService
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatService
from lambda_chat.domain.comparisons import ComparisonService
from lambda_chat.domain.conversations import ConversationService
from lambda_chat.domain.ports import AttachmentResolver, ChatModel, ConversationRepository
from lambda_chat.domain.prompts import PromptService
from lambda_chat.idempotency import IdempotentOperations


@dataclass(frozen=True)
class ChatServices:
    settings: Settings
    logger: Logger
    store: ConversationRepository
    model: ChatModel  # retrying wrapper around the Bedrock adapter
    catalog: ModelCatalog
    chat: ChatService
    conversations: ConversationService
    attachments: AttachmentResolver | None
    identity: Callable[[Request], Identity]
    clients: Any = None  # chatbot_common.aws_clients.AwsClients when built by create_app
    summaries: DocumentSummaryService | None = None  # None when built without a document library
    # Idempotency-Key support (lambda_chat.idempotency); None when built without the DynamoDB table.
    idempotency: IdempotentOperations | None = None
    # Saved prompts (/prompts); None when built without the DynamoDB table (routes answer 404).
    prompts: PromptService | None = None
    # POST /compare and the stored comparisons (lambda_chat.domain.comparisons).
    comparisons: ComparisonService | None = None


def get_services(request: Request) -> ChatServices:
    services: ChatServices = request.app.state.services
    return services


Services = Annotated[ChatServices, Depends(get_services)]


def current_identity(request: Request, services: Services) -> Identity:
    """The caller, from the authenticated request context only (chatbot_common.identity)."""
    return services.identity(request)


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


def request_id_for(request: Request, identity: Identity) -> str | None:
    return identity.request_id or request.headers.get("x-correlation-id")

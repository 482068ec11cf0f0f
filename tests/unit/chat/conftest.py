from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatConfig, ChatService
from lambda_chat.domain.conversations import ConversationService
from lambda_chat.domain.entities import CallRecord
from lambda_chat.domain.retry import RetryingChatModel, RetryPolicy
from tests.fakes.chat import MODEL_ID, FakeDirectory, FakeModel, FakeResolver, FakeStore


@dataclass
class Harness:
    store: FakeStore
    model: FakeModel
    sleeps: list[float]
    chat: ChatService
    conversations: ConversationService
    resolver: FakeResolver | None = None
    config: ChatConfig = field(default_factory=ChatConfig)


def build(
    config: ChatConfig | None = None,
    *,
    resolver: FakeResolver | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
) -> Harness:
    config = config or ChatConfig(max_message_chars=500, max_system_chars=200, history_token_budget=1_000)
    store, model, sleeps = FakeStore(), FakeModel(), []
    catalog = ModelCatalog(FakeDirectory(), default_model_id=MODEL_ID)
    retrying = RetryingChatModel(model, RetryPolicy(max_attempts=3, sleep=sleeps.append, rand=lambda: 0.5))
    chat = ChatService(store, retrying, catalog, config, attachments=resolver, on_call=on_call)
    conversations = ConversationService(store, catalog, max_system_chars=config.max_system_chars)
    return Harness(store, model, sleeps, chat, conversations, resolver, config)


@pytest.fixture
def harness() -> Harness:
    return build()

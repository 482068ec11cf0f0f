"""Reading and managing a user's conversations (everything but the chat turn itself)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatbot_common.errors import Conflict, InvalidInput, PayloadTooLarge
from chatbot_common.keys import validate_id
from chatbot_common.model_table import ModelTable, load_model_table
from chatbot_common.timestamps import iso_now
from chatbot_common.typed_text import require_well_formed
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.entities import Conversation, ConversationChanges, Message, Page
from lambda_chat.domain.history import earlier_versions, visible_thread
from lambda_chat.domain.inference import InferenceSettings, validate_inference
from lambda_chat.domain.ports import ConversationRepository

MAX_TITLE_CHARS = 200
MAX_PAGE_SIZE = 100
MAX_FEEDBACK_REASON_CHARS = 2_000


def validate_system(system: str | None, max_chars: int) -> str | None:
    """The system prompt as given; PayloadTooLarge (413) over `max_chars`, InvalidInput when it
    holds an unpaired surrogate (chatbot_common.typed_text)."""
    if system is None:
        return None
    if len(system) > max_chars:
        raise PayloadTooLarge(f"system is longer than {max_chars} characters")
    return require_well_formed(system, "system")


@dataclass(frozen=True)
class ConversationWithMessages:
    """A conversation and one page of its messages. `versions`: the earlier versions of the
    page's regenerated answers and edited questions, by version group (oldest first)."""

    conversation: Conversation
    messages: Page[Message]
    versions: dict[str, list[Message]] = field(default_factory=dict)


def _page_size(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return limit


class ConversationService:
    def __init__(
        self,
        store: ConversationRepository,
        catalog: ModelCatalog,
        *,
        max_system_chars: int,
        clock: Callable[[], float] = time.time,
        table: ModelTable | None = None,
        require_tools: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        """`table` gives each model's inference limits (default: the built-in model table);
        `require_tools` checks tool names for PATCH (InvalidInput naming unknown ones) and returns
        them deduplicated; without it a conversation's tools cannot be changed."""
        self._table = table or load_model_table()
        self._require_tools = require_tools
        self._store = store
        self._catalog = catalog
        self._max_system_chars = max_system_chars
        self._clock = clock

    def list(self, user_id: str, *, limit: int = 20, cursor: str | None = None) -> Page[Conversation]:
        return self._store.list_conversations(user_id, _page_size(limit), cursor or None)

    def get(
        self,
        user_id: str,
        conversation_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        include_superseded: bool = False,
    ) -> ConversationWithMessages:
        """One page of messages, oldest first. Without `include_superseded`, the page holds the
        thread as it reads now (superseded versions left out) and their earlier versions come
        in `versions`; with it, every stored message of the page (old branches of edits too)."""
        validate_id(conversation_id, "conversation id")
        size = _page_size(limit)
        conversation = self._store.get_conversation(user_id, conversation_id)
        messages = self._store.list_messages(user_id, conversation_id, size, cursor or None)
        if include_superseded:
            return ConversationWithMessages(conversation, messages)
        visible = Page(visible_thread(messages.items), messages.next_cursor)
        return ConversationWithMessages(conversation, visible, earlier_versions(messages.items))

    def set_feedback(
        self,
        user_id: str,
        conversation_id: str,
        message_id: str,
        rating: str | None,
        reason: str | None = None,
    ) -> Message:
        """Store (rating "up"/"down") or clear (rating None) the feedback on an answer; the
        reason is optional, at most MAX_FEEDBACK_REASON_CHARS. NotFound unless the message is
        one of the caller's answers in that conversation."""
        validate_id(conversation_id, "conversation id")
        validate_id(message_id, "message id")
        if rating is None:
            return self._store.set_feedback(user_id, conversation_id, message_id, None)
        if rating not in ("up", "down"):
            raise InvalidInput('rating must be "up" or "down"')
        feedback: dict[str, str] = {"rating": rating, "at": iso_now(self._clock())}
        if reason is not None and reason.strip():
            reason = require_well_formed(reason.strip(), "reason")
            if len(reason) > MAX_FEEDBACK_REASON_CHARS:
                raise PayloadTooLarge(f"reason is longer than {MAX_FEEDBACK_REASON_CHARS} characters")
            feedback["reason"] = reason
        return self._store.set_feedback(user_id, conversation_id, message_id, feedback)

    def update(
        self,
        user_id: str,
        conversation_id: str,
        *,
        title: str | None = None,
        system: str | None = None,
        model: str | None = None,
        inference_config: Mapping[str, Any] | None = None,
        tools: Sequence[str] | None = None,
    ) -> Conversation:
        """Change title, system prompt (empty string clears it), model, inference settings
        (replaced whole; {} clears them) or enabled tools (names from GET /tools; [] turns tool use
        off). Settings are checked against the model the conversation will use:
        InvalidInferenceConfig (400) names the field and the allowed range."""
        validate_id(conversation_id, "conversation id")
        if title is not None:
            title = " ".join(require_well_formed(title, "title").split())
            if not title:
                raise InvalidInput("title must not be empty")
            if len(title) > MAX_TITLE_CHARS:
                raise InvalidInput(f"title is longer than {MAX_TITLE_CHARS} characters")
        validate_system(system, self._max_system_chars)
        if model is not None:
            self._catalog.require(model)
        current = self._store.get_conversation(user_id, conversation_id)
        settings: dict[str, Any] | None = None
        if inference_config is not None or (model is not None and current.inference_config):
            # The settings as they will be, checked against the model they will be sent to.
            model_id = model or current.model or self._catalog.default_model_id()
            raw = inference_config if inference_config is not None else current.inference_config
            parsed = InferenceSettings.from_json(raw)
            validate_inference(parsed, self._table.profile_for(model_id), model_id=model_id)
            settings = parsed.to_json() if inference_config is not None else None
        if tools is not None:
            if self._require_tools is None:
                raise InvalidInput("Tools are not available in this deployment")
            tools = self._require_tools(builtins.list(tools))
        changes = ConversationChanges(
            updated_at=iso_now(self._clock()),
            title=title,
            system=system,
            model=model,
            inference_config=settings,
            tools=None if tools is None else builtins.list(tools),
        )
        return self._store.update_conversation(user_id, conversation_id, changes)

    def delete(self, user_id: str, conversation_id: str) -> None:
        """Delete the caller's conversation and its messages. Raises NotFound when it is not the
        caller's, Conflict for a comparison lane's conversation: deleting it alone would leave
        the comparison's next follow-up that lane without its history (DELETE the comparison, or
        continue the lane as a conversation first)."""
        validate_id(conversation_id, "conversation id")
        conversation = self._store.get_conversation(user_id, conversation_id)
        if conversation.comparison_id is not None:
            raise Conflict(
                f"Conversation {conversation_id} is a lane of comparison {conversation.comparison_id}: "
                "delete the comparison (DELETE /comparisons/{id}), or continue the lane as a "
                "conversation first."
            )
        self._store.delete_conversation(user_id, conversation_id)

"""Search the caller's conversations: titles and message text (GET /search).

Cost per query, stated in docs/api.md: one Query of the caller's conversation index (the
`SEARCH_CONVERSATIONS` most recently active) and then one bounded Query per conversation (its
`SEARCH_MESSAGES_PER_CONVERSATION` newest messages), stopping as soon as `limit` hits are found.
Never a Scan; every read is under the caller's own partition keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatbot_common.errors import InvalidInput
from chatbot_common.typed_text import require_well_formed
from lambda_chat.domain.history import visible_thread
from lambda_chat.domain.ports import ConversationRepository

SEARCH_CONVERSATIONS = 50
SEARCH_MESSAGES_PER_CONVERSATION = 200
MAX_QUERY_CHARS = 200
MAX_RESULTS = 50
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class SearchHit:
    """One match: the conversation, and the message when the text (not the title) matched.
    `snippet` is the matching text around the first occurrence (at most SNIPPET_CHARS)."""

    conversation_id: str
    title: str
    updated_at: str
    message_id: str | None
    role: str | None
    snippet: str


def normalise_query(query: str) -> str:
    """The query as matched: whitespace collapsed, casefolded. InvalidInput when empty or longer
    than MAX_QUERY_CHARS."""
    text = " ".join(require_well_formed(query, "q").split())
    if not text:
        raise InvalidInput("q must not be empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"q is longer than {MAX_QUERY_CHARS} characters")
    return text.casefold()


def snippet(text: str, needle: str, width: int = SNIPPET_CHARS) -> str:
    """`width` characters of `text` around the first case-insensitive occurrence of `needle`."""
    flat = " ".join(text.split())
    at = flat.casefold().find(needle)
    if at < 0 or len(flat) <= width:
        return flat[:width]
    start = max(0, min(at - width // 3, len(flat) - width))
    cut = flat[start : start + width]
    return ("…" if start else "") + cut + ("…" if start + width < len(flat) else "")


class SearchService:
    def __init__(self, store: ConversationRepository) -> None:
        self._store = store

    def search(self, user_id: str, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Hits newest conversation first: a title match, then message matches (oldest first),
        each conversation at most 3 message hits. Only the current thread's messages count
        (earlier versions are not searched)."""
        if limit < 1 or limit > MAX_RESULTS:
            raise InvalidInput(f"limit must be between 1 and {MAX_RESULTS}")
        needle = normalise_query(query)
        hits: list[SearchHit] = []
        page = self._store.list_conversations(user_id, SEARCH_CONVERSATIONS, None)
        for conversation in page.items:
            if needle in " ".join(conversation.title.split()).casefold():
                hits.append(
                    SearchHit(
                        conversation.id,
                        conversation.title,
                        conversation.updated_at,
                        None,
                        None,
                        snippet(conversation.title, needle),
                    )
                )
            messages = self._store.recent_messages(user_id, conversation.id, SEARCH_MESSAGES_PER_CONVERSATION)
            found = 0
            for message in visible_thread(messages):
                if found >= 3 or len(hits) >= limit:
                    break
                if needle in " ".join(message.content.split()).casefold():
                    found += 1
                    hits.append(
                        SearchHit(
                            conversation.id,
                            conversation.title,
                            conversation.updated_at,
                            message.id,
                            message.role,
                            snippet(message.content, needle),
                        )
                    )
            if len(hits) >= limit:
                return hits[:limit]
        return hits

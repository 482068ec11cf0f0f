"""Saved prompts: a per-user library of prompts (/prompts), to insert into the composer, to use
as a conversation's system prompt, or to start a new chat from.

Created with PUT /prompts/{promptId} (the client picks the ULID), so a retried create never makes
a second copy; listing is one Query of the caller's own partition.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from chatbot_common.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from chatbot_common.keys import validate_id
from chatbot_common.timestamps import iso_now
from chatbot_common.typed_text import require_well_formed

MAX_PROMPTS = 100
MAX_PROMPT_TITLE_CHARS = 200


@dataclass(frozen=True)
class SavedPrompt:
    prompt_id: str
    user_id: str
    title: str
    text: str
    created_at: str
    updated_at: str


class PromptRepository(Protocol):
    def list_prompts(self, user_id: str, limit: int) -> list[SavedPrompt]:
        """The caller's prompts, newest first (one Query)."""
        ...

    def get_prompt(self, user_id: str, prompt_id: str) -> SavedPrompt | None: ...

    def count_prompts(self, user_id: str) -> int: ...

    def put_prompt(self, prompt: SavedPrompt) -> None:
        """Create or replace (the create time of an existing prompt is kept by the caller)."""
        ...

    def delete_prompt(self, user_id: str, prompt_id: str) -> bool:
        """True when a prompt was deleted, False when there was none."""
        ...


class PromptService:
    def __init__(
        self, store: PromptRepository, *, max_text_chars: int, clock: Callable[[], float] = time.time
    ) -> None:
        """`max_text_chars`: the system prompt limit (a saved prompt must be usable as one)."""
        self._store = store
        self._max_text_chars = max_text_chars
        self._clock = clock

    def list(self, user_id: str) -> list[SavedPrompt]:
        return self._store.list_prompts(user_id, MAX_PROMPTS)

    def get(self, user_id: str, prompt_id: str) -> SavedPrompt:
        found = self._store.get_prompt(user_id, validate_id(prompt_id, "promptId"))
        if found is None:
            raise NotFound("Prompt not found")
        return found

    def put(self, user_id: str, prompt_id: str, *, title: str, text: str) -> tuple[SavedPrompt, bool]:
        """Create or replace a prompt; returns it and whether it was created. InvalidInput for an
        empty title/text or bad id, PayloadTooLarge over the limits, Conflict `prompt_limit`
        when the caller already has MAX_PROMPTS prompts."""
        validate_id(prompt_id, "promptId")
        title = " ".join(require_well_formed(title, "title").split())
        if not title:
            raise InvalidInput("title must not be empty")
        if len(title) > MAX_PROMPT_TITLE_CHARS:
            raise PayloadTooLarge(f"title is longer than {MAX_PROMPT_TITLE_CHARS} characters")
        text = require_well_formed(text, "text")
        if not text.strip():
            raise InvalidInput("text must not be empty")
        if len(text) > self._max_text_chars:
            raise PayloadTooLarge(f"text is longer than {self._max_text_chars} characters")
        now = iso_now(self._clock())
        existing = self._store.get_prompt(user_id, prompt_id)
        if existing is None and self._store.count_prompts(user_id) >= MAX_PROMPTS:
            raise Conflict(
                f"You can keep at most {MAX_PROMPTS} saved prompts; delete one first", code="prompt_limit"
            )
        prompt = (
            replace(existing, title=title, text=text, updated_at=now)
            if existing is not None
            else SavedPrompt(prompt_id, user_id, title, text, now, now)
        )
        self._store.put_prompt(prompt)
        return prompt, existing is None

    def delete(self, user_id: str, prompt_id: str) -> None:
        if not self._store.delete_prompt(user_id, validate_id(prompt_id, "promptId")):
            raise NotFound("Prompt not found")

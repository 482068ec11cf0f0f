"""In-memory stand-ins for the chat domain's ports (no sockets, no AWS)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chatbot_common.errors import Conflict, DomainError, InvalidInput, NotFound
from chatbot_common.keys import new_id
from lambda_chat.domain.entities import (
    CallRecord,
    Comparison,
    Conversation,
    ConversationChanges,
    Message,
    ModelInfo,
    Page,
    Role,
)
from lambda_chat.domain.ports import (
    AnsweredTurn,
    AttachmentRequest,
    ChatMessage,
    HistoryWindow,
    ModelChunk,
    ModelRequest,
    ResolvedAttachments,
)
from lambda_chat.domain.prompts import SavedPrompt

MODEL_ID = "local.fake"
# Routes the chat app's OpenAPI document lists (docs/api.md).
CHAT_API_PATHS = (
    "/chat",
    "/conversations",
    "/conversations/{conversation_id}",
    "/models",
    "/presets",
    "/tools",
    "/health",
)
# GET /presets, in order (docs/api.md).
PRESET_NAMES = ["caption", "description", "classification", "objects", "transcribe", "translate"]


class FakeStore:
    """`writes` counts write requests as the DynamoDB store makes them (a transaction is one)."""

    def __init__(self) -> None:
        self.conversations: dict[tuple[str, str], Conversation] = {}
        self.messages: dict[tuple[str, str], list[Message]] = {}
        self.calls: list[CallRecord] = []
        self.comparisons: dict[tuple[str, str], Comparison] = {}
        self.lane_stops: dict[tuple[str, str], set[int]] = {}
        # Errors the next lane writes raise (one each), to test a lane whose answer is not stored.
        self.fail_lane_writes: list[DomainError] = []
        self.writes = 0
        self.recent_limits: list[int] = []
        self.windows: dict[tuple[str, str], HistoryWindow] = {}
        self.window_reads = 0
        self._lock = threading.RLock()

    def start_conversation(self, conversation: Conversation, first_message: Message) -> None:
        with self._lock:
            self.writes += 1
            self.conversations[(conversation.user_id, conversation.id)] = conversation
            self._add_message(conversation.user_id, first_message)

    def record_answer(self, user_id: str, turn: AnsweredTurn) -> None:
        message, supersedes = turn.answer, turn.supersedes
        with self._lock:
            current = self.get_conversation(user_id, message.conversation_id)  # NotFound: nothing written
            self._check_supersedable(user_id, message.conversation_id, supersedes)
            self.writes += 1
            self._add_message(user_id, message)
            if turn.history_window is not None:
                self.windows[(user_id, message.conversation_id)] = turn.history_window
            self._supersede(user_id, message, supersedes)
            changes: dict[str, Any] = {"updated_at": turn.updated_at}
            if turn.model is not None:
                changes["model"] = turn.model
            self.conversations[(user_id, message.conversation_id)] = replace(current, **changes)
            self.calls.append(turn.call_record)

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        try:
            return self.conversations[(user_id, conversation_id)]
        except KeyError:
            raise NotFound("Conversation not found") from None

    def get_conversation_with_history(
        self, user_id: str, conversation_id: str
    ) -> tuple[Conversation, int, HistoryWindow | None]:
        """As the DynamoDB store: the message count is every message ever stored in it."""
        with self._lock:
            self.window_reads += 1
            conversation = self.get_conversation(user_id, conversation_id)
            key = (user_id, conversation_id)
            return conversation, len(self.messages.get(key, [])), self.windows.get(key)

    def list_conversations(self, user_id: str, limit: int, cursor: str | None) -> Page[Conversation]:
        mine = sorted(
            (c for (u, _), c in self.conversations.items() if u == user_id and c.comparison_id is None),
            key=lambda c: (c.updated_at, c.id),
            reverse=True,
        )
        start = int(cursor) if cursor else 0
        items = mine[start : start + limit]
        more = start + limit < len(mine)
        return Page(items, str(start + limit) if more else None)

    def update_conversation(
        self, user_id: str, conversation_id: str, changes: ConversationChanges
    ) -> Conversation:
        with self._lock:
            current = self.get_conversation(user_id, conversation_id)
            self.writes += 1
            fields: dict[str, Any] = {"updated_at": changes.updated_at}
            for name in ("title", "model", "tools"):
                if getattr(changes, name) is not None:
                    fields[name] = getattr(changes, name)
            for name in ("system", "inference_config"):  # "" and {} remove the stored value
                if getattr(changes, name) is not None:
                    fields[name] = getattr(changes, name) or None
            updated = replace(current, **fields)
            self.conversations[(user_id, conversation_id)] = updated
            return updated

    def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        with self._lock:
            self.get_conversation(user_id, conversation_id)
            self.writes += 1
            del self.conversations[(user_id, conversation_id)]
            self.messages.pop((user_id, conversation_id), None)
            self.windows.pop((user_id, conversation_id), None)

    def append_message(
        self,
        user_id: str,
        message: Message,
        supersedes: Sequence[str] = (),
        *,
        require_conversation: bool = False,
    ) -> None:
        with self._lock:
            if require_conversation:
                self.get_conversation(user_id, message.conversation_id)
            self._check_supersedable(user_id, message.conversation_id, supersedes)
            self.writes += 1
            self._add_message(user_id, message)
            self._supersede(user_id, message, supersedes)

    def _check_supersedable(self, user_id: str, conversation_id: str, ids: Sequence[str]) -> None:
        stored = {m.id: m for m in self.messages.get((user_id, conversation_id), [])}
        for message_id in ids:
            if message_id not in stored or stored[message_id].superseded_by is not None:
                raise Conflict("already superseded", code="message_superseded")

    def _supersede(self, user_id: str, replacement: Message, ids: Sequence[str]) -> None:
        if ids:  # the thread changed: the history window goes, as the DynamoDB store drops it
            self.windows.pop((user_id, replacement.conversation_id), None)
        bucket = self.messages.get((user_id, replacement.conversation_id), [])
        for index, stored in enumerate(bucket):
            if stored.id in ids:
                bucket[index] = replace(stored, superseded_by=replacement.id)

    def set_feedback(
        self, user_id: str, conversation_id: str, message_id: str, feedback: dict[str, Any] | None
    ) -> Message:
        with self._lock:
            bucket = self.messages.get((user_id, conversation_id), [])
            for index, stored in enumerate(bucket):
                if stored.id == message_id and stored.role == "assistant":
                    self.writes += 1
                    bucket[index] = replace(stored, feedback=feedback)
                    return bucket[index]
            raise NotFound("Answer not found")

    def _add_message(self, user_id: str, message: Message) -> None:
        bucket = self.messages.setdefault((user_id, message.conversation_id), [])
        bucket.append(message)
        bucket.sort(key=lambda m: m.id)

    def recent_messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        self.recent_limits.append(limit)
        return list(self.messages.get((user_id, conversation_id), [])[-limit:])

    def list_messages(
        self, user_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        items = self.messages.get((user_id, conversation_id), [])
        start = int(cursor) if cursor else 0
        return Page(items[start : start + limit], str(start + limit) if start + limit < len(items) else None)

    def put_call_record(self, record: CallRecord) -> None:
        with self._lock:
            self.writes += 1
            self.calls.append(record)

    # -- comparisons --------------------------------------------------------------------------

    def get_comparison(self, user_id: str, comparison_id: str) -> Comparison:
        try:
            return self.comparisons[(user_id, comparison_id)]
        except KeyError:
            raise NotFound("Comparison not found") from None

    def list_comparisons(self, user_id: str, limit: int, cursor: str | None) -> Page[Comparison]:
        mine = sorted(
            (c for (u, _), c in self.comparisons.items() if u == user_id),
            key=lambda c: (c.updated_at, c.id),
            reverse=True,
        )
        start = int(cursor) if cursor else 0
        more = start + limit < len(mine)
        return Page(mine[start : start + limit], str(start + limit) if more else None)

    def record_lane_turn(
        self,
        comparison: Comparison,
        conversation: Conversation,
        question: Message,
        answer: Message,
        call_record: CallRecord,
    ) -> None:
        with self._lock:
            if self.fail_lane_writes:
                raise self.fail_lane_writes.pop(0)
            user_id = comparison.user_id
            current = self.conversations.get((user_id, conversation.id))
            if current is not None and current.comparison_id != comparison.id:
                raise NotFound("Conversation not found")
            self.writes += 1
            stored = self.comparisons.get((user_id, comparison.id))
            self.comparisons[(user_id, comparison.id)] = replace(
                comparison,
                title=stored.title if stored else comparison.title,
                created_at=stored.created_at if stored else comparison.created_at,
                continued_as=stored.continued_as if stored else None,
            )
            if current is None:
                self.conversations[(user_id, conversation.id)] = conversation
            else:
                self.conversations[(user_id, conversation.id)] = replace(
                    current,
                    updated_at=conversation.updated_at,
                    model=conversation.model,
                    inference_config=conversation.inference_config,
                )
            self._add_message(user_id, question)
            self._add_message(user_id, answer)
            self.calls.append(call_record)

    def delete_comparison(self, user_id: str, comparison_id: str) -> None:
        with self._lock:
            self.get_comparison(user_id, comparison_id)
            self.writes += 1
            del self.comparisons[(user_id, comparison_id)]
            self.lane_stops.pop((user_id, comparison_id), None)

    def request_lane_stop(self, user_id: str, comparison_id: str, lane: int) -> None:
        with self._lock:
            self.writes += 1
            self.lane_stops.setdefault((user_id, comparison_id), set()).add(lane)

    def stopped_lanes(self, user_id: str, comparison_id: str) -> set[int]:
        return set(self.lane_stops.get((user_id, comparison_id), set()))

    def continue_comparison_lane(
        self, user_id: str, comparison_id: str, conversation_id: str, *, updated_at: str
    ) -> Conversation:
        with self._lock:
            comparison = self.get_comparison(user_id, comparison_id)
            current = self.get_conversation(user_id, conversation_id)
            self.writes += 1
            self.comparisons[(user_id, comparison_id)] = replace(comparison, continued_as=conversation_id)
            updated = replace(current, comparison_id=None, lane=None, updated_at=updated_at)
            self.conversations[(user_id, conversation_id)] = updated
            return updated

    def all_messages(self, user_id: str, conversation_id: str) -> list[Message]:
        return list(self.messages.get((user_id, conversation_id), []))


class MemoryPrompts:
    """`lambda_chat.domain.prompts.PromptRepository` in memory."""

    def __init__(self) -> None:
        self.prompts: dict[tuple[str, str], SavedPrompt] = {}

    def list_prompts(self, user_id: str, limit: int) -> list[SavedPrompt]:
        mine = [p for (u, _), p in sorted(self.prompts.items(), reverse=True) if u == user_id]
        return mine[:limit]

    def get_prompt(self, user_id: str, prompt_id: str) -> SavedPrompt | None:
        return self.prompts.get((user_id, prompt_id))

    def count_prompts(self, user_id: str) -> int:
        return sum(1 for u, _ in self.prompts if u == user_id)

    def put_prompt(self, prompt: SavedPrompt) -> None:
        self.prompts[(prompt.user_id, prompt.prompt_id)] = prompt

    def delete_prompt(self, user_id: str, prompt_id: str) -> bool:
        return self.prompts.pop((user_id, prompt_id), None) is not None


Step = ModelChunk | DomainError | Exception


@dataclass
class FakeModel:
    """Streams `reply` word by word, or follows a script of chunks and errors per call."""

    reply: Callable[[ModelRequest], str] | None = None
    scripts: list[list[Step]] = field(default_factory=list)
    requests: list[ModelRequest] = field(default_factory=list)
    closed: int = 0
    chunks_pulled: int = 0

    def stream(self, request: ModelRequest) -> Iterator[ModelChunk]:
        self.requests.append(request)
        if self.scripts:
            steps = self.scripts.pop(0)
        else:
            last_text = request.messages[-1].content[-1]["text"]
            text = self.reply(request) if self.reply else f"echo: {last_text}"
            words = text.split(" ")
            steps = [ModelChunk(text=(" " if i else "") + w) for i, w in enumerate(words)]
            steps.append(ModelChunk(input_tokens=7, output_tokens=len(words)))
            steps.append(ModelChunk(stop_reason="end_turn"))
        try:
            for step in steps:
                if isinstance(step, Exception):
                    raise step
                self.chunks_pulled += 1
                yield step
        finally:
            self.closed += 1


class FakeDirectory:
    def __init__(self, ids: tuple[str, ...] = (MODEL_ID, "local.other")) -> None:
        self.ids = ids
        self.calls = 0

    def list_models(self) -> list[ModelInfo]:
        self.calls += 1
        return [ModelInfo(i, i, "local", ["TEXT"], ["TEXT"], True) for i in self.ids]


@dataclass
class FakeResolver:
    """`blocks` and the `refs` whose uploadId is asked for; with `image` (PNG bytes), instead one
    Converse image block and one image reference per upload id, as the uploads-backed resolver
    returns for images."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[AttachmentRequest] = field(default_factory=list)
    fail_with: DomainError | None = None
    image: bytes | None = None

    def resolve(self, request: AttachmentRequest) -> ResolvedAttachments:
        self.calls.append(request)
        user_id, upload_ids = request.user_id, request.upload_ids
        if self.fail_with:
            raise self.fail_with
        if self.image is not None:
            image = {"image": {"format": "png", "source": {"bytes": self.image}}}
            return ResolvedAttachments(
                content_blocks=[image for _ in upload_ids],
                references=[
                    {
                        "uploadId": u,
                        "kind": "image",
                        "filename": "red.png",
                        "key": f"uploads/{user_id}/{u}/red.png",
                    }
                    for u in upload_ids
                ],
            )
        refs = [r for r in self.refs if r["uploadId"] in upload_ids]
        return ResolvedAttachments(content_blocks=list(self.blocks) if upload_ids else [], references=refs)


def stored_message(
    conversation_id: str, role: Role, content: str, created_at: str = "2020-01-01T00:00:00Z", **fields: Any
) -> Message:
    """A message as a writer other than the turn under test stores it (a summary, a stopped
    turn's answer): a fresh id; `fields` sets the rest (status, attachments...)."""
    return Message(
        id=new_id(),
        conversation_id=conversation_id,
        role=role,
        content=content,
        created_at=created_at,
        **fields,
    )


def alternating(*texts: str) -> list[ChatMessage]:
    """Text messages for a model request, user first, then assistant, user... in turn."""
    return [ChatMessage.text("user" if i % 2 == 0 else "assistant", text) for i, text in enumerate(texts)]


def invalid(message: str = "bad") -> InvalidInput:
    return InvalidInput(message)

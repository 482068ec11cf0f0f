"""The chat service's AttachmentResolver: uploads and earlier document references to content blocks.

- Images become Converse image blocks (validated, downscaled); several per message.
- Documents attached now, and documents referenced earlier in the conversation, become one text
  block each with the parts most relevant to the question, within the token budget.
- References (upload id, kind, file name, S3 key) are returned for the stored message: never bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from chatbot_common.errors import DomainError, InvalidInput
from chatbot_common.uploads import UploadRecord
from lambda_chat.attachments.chunking import estimate_tokens, select_relevant_chunks, split_into_chunks
from lambda_chat.attachments.documents import DocumentLibrary, LoadedDocument, reference
from lambda_chat.domain.ports import AttachmentRequest, ResolvedAttachments

_log = logging.getLogger(__name__)


class UploadAttachmentResolver:
    """Implements ``lambda_chat.domain.ports.AttachmentResolver``."""

    def __init__(
        self,
        library: DocumentLibrary,
        *,
        excerpt_chunk_tokens: int = 400,
        max_images: int = 20,
        max_documents: int = 5,
    ) -> None:
        self.library = library  # shared with the summary service (lambda_chat.app)
        self._chunk_tokens = excerpt_chunk_tokens
        self._max_images = max_images
        self._max_documents = max_documents

    def resolve(self, request: AttachmentRequest) -> ResolvedAttachments:
        """Content blocks and stored references for `request` (see the port's docstring).

        Raises NotFound (another user's or unknown upload), InvalidInput (more than `max_images`
        images or `max_documents` documents), UnsupportedMediaType / UnprocessableContent (unusable
        files). Every refusal happens here, before the chat service writes anything."""
        user_id = request.user_id
        records = [self.library.record(user_id, upload_id) for upload_id in request.upload_ids]
        images = [r for r in records if r.purpose == "image"]
        documents = [r for r in records if r.purpose == "document"]
        if len(images) > self._max_images:
            raise InvalidInput(f"At most {self._max_images} images per message")
        if len(documents) > self._max_documents:
            raise InvalidInput(f"At most {self._max_documents} documents per message")
        image_blocks = [self.library.image(r).content_block() for r in images]
        loaded = [self.library.document(r) for r in documents]
        loaded += self._earlier_documents(user_id, request.earlier_refs, {r.upload_id for r in records})
        text_blocks = self._excerpt_blocks(loaded, request.question, request.token_budget)
        return ResolvedAttachments(
            content_blocks=[*text_blocks, *image_blocks],
            references=[reference(r) for r in records],
        )

    def _earlier_documents(
        self, user_id: str, refs: Sequence[dict[str, Any]], attached_now: set[str]
    ) -> list[LoadedDocument]:
        loaded: list[LoadedDocument] = []
        for ref in refs:
            upload_id = ref.get("uploadId")
            if ref.get("kind") != "document" or not isinstance(upload_id, str) or upload_id in attached_now:
                continue
            if len(loaded) >= self._max_documents:
                break
            try:
                loaded.append(self.library.document(self.library.record(user_id, upload_id)))
            except DomainError as exc:
                # An earlier document that expired or became unusable must not block the chat.
                _log.warning("earlier document skipped", extra={"uploadId": upload_id, "code": exc.code})
        return loaded

    def _excerpt_blocks(
        self, documents: list[LoadedDocument], question: str, token_budget: int
    ) -> list[dict[str, Any]]:
        if not documents:
            return []
        share = max(token_budget // len(documents), 1)
        return [
            {"text": document_excerpt(doc.record, doc.text, question, share, self._chunk_tokens)}
            for doc in documents
        ]


def document_excerpt(
    record: UploadRecord, text: str, question: str, budget_tokens: int, chunk_tokens: int
) -> str:
    """The whole document when it fits the budget, else its chunks most relevant to the question."""
    header = f'<document name="{record.filename}" uploadId="{record.upload_id}"'
    if estimate_tokens(text) + 30 <= budget_tokens:
        return f"{header}>\n{text}\n</document>"
    chunks = split_into_chunks(text, chunk_tokens)
    chosen = select_relevant_chunks(chunks, question, max(budget_tokens - 60, chunk_tokens))
    parts = "\n[...]\n".join(c.text for c in chosen)
    note = f"{len(chosen)} of {len(chunks)} parts, those most relevant to the question"
    return f'{header} excerpts="{note}">\n{parts}\n</document>'

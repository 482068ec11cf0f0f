"""Limits for documents and images, validated once at start-up (env prefix ``CHATBOT_``).

Kept apart from the shared ``Settings`` because only the chat Lambda parses files; the byte
limits themselves (``image_max_bytes``, ``document_max_bytes``) stay in the shared settings so
the upload Lambda's presigned policy and this re-check agree.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AttachmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATBOT_", extra="ignore")

    pdf_max_pages: int = Field(default=500, gt=0)
    # Extracted text beyond this is refused rather than silently truncated: a summary must cover
    # the whole document. 3M characters is roughly a 1,000-page book.
    document_max_chars: int = Field(default=3_000_000, gt=0)
    docx_max_uncompressed_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    docx_max_compression_ratio: float = Field(default=200.0, gt=1)
    docx_max_entries: int = Field(default=5_000, gt=0)
    csv_sample_rows: int = Field(default=1_000, gt=0)
    csv_full_rows: int = Field(default=200, gt=0)

    image_max_side: int = Field(default=1568, gt=0)
    image_max_pixels: int = Field(default=40_000_000, gt=0)
    max_images_per_message: int = Field(default=20, gt=0)
    max_documents_per_message: int = Field(default=5, gt=0)

    summary_chunk_tokens: int = Field(default=3_000, gt=100)
    summary_chunk_overlap_tokens: int = Field(default=100, ge=0)
    # Caps: a reduce call reads at most this many tokens of partial summaries, and every summary
    # call asks for at most summary_max_output_tokens; both are lowered further to fit the chosen
    # model's context window and output limit (attachments/context_windows.py).
    summary_context_tokens: int = Field(default=12_000, gt=500)
    summary_max_concurrency: int = Field(default=4, gt=0)
    summary_max_output_tokens: int = Field(default=800, gt=0)

    excerpt_chunk_tokens: int = Field(default=400, gt=50)
    excerpt_default_budget_tokens: int = Field(default=3_000, gt=0)

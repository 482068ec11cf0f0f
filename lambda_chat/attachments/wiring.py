"""Building the attachment services from settings and AWS clients (entry-layer code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatbot_common.model_table import DEFAULT_MODEL_TABLE, ModelTable
from chatbot_common.settings import Settings
from chatbot_common.upload_records import DynamoUploadRecords
from lambda_chat.attachments.context_windows import context_window
from lambda_chat.attachments.documents import DocumentLibrary, LibraryLimits
from lambda_chat.attachments.extraction import ExtractionLimits
from lambda_chat.attachments.images import ImageLimits
from lambda_chat.attachments.map_reduce import SummaryOptions
from lambda_chat.attachments.resolver import UploadAttachmentResolver
from lambda_chat.attachments.storage import S3UploadFiles
from lambda_chat.attachments.summary_service import DocumentSummaryService
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.entities import CallRecord
from lambda_chat.domain.ports import ChatModel, ConversationRepository


def library_limits(settings: Settings) -> LibraryLimits:
    return LibraryLimits(
        document_max_bytes=settings.document_max_bytes,
        extraction=ExtractionLimits(
            pdf_max_pages=settings.pdf_max_pages,
            max_chars=settings.document_max_chars,
            docx_max_uncompressed_bytes=settings.docx_max_uncompressed_bytes,
            docx_max_compression_ratio=settings.docx_max_compression_ratio,
            docx_max_entries=settings.docx_max_entries,
            csv_sample_rows=settings.csv_sample_rows,
            csv_full_rows=settings.csv_full_rows,
        ),
        image=ImageLimits(
            max_bytes=settings.image_max_bytes,
            max_pixels=settings.image_max_pixels,
            max_side=settings.image_max_side,
        ),
    )


def build_document_library(settings: Settings, clients: Any) -> DocumentLibrary:
    return DocumentLibrary(
        S3UploadFiles(clients.s3, settings.uploads_bucket),
        DynamoUploadRecords(
            clients.dynamodb,
            settings.table_name,
            consistent_reads=False,
            missing_note=" (it may have expired)",
        ),
        library_limits(settings),
    )


def build_attachment_resolver(settings: Settings, clients: Any) -> UploadAttachmentResolver:
    return UploadAttachmentResolver(
        build_document_library(settings, clients),
        excerpt_chunk_tokens=settings.excerpt_chunk_tokens,
        max_images=settings.max_images_per_message,
        max_documents=settings.max_documents_per_message,
    )


def build_summary_service(
    library: DocumentLibrary,
    store: ConversationRepository,
    model: ChatModel,
    catalog: ModelCatalog,
    settings: Settings,
    on_call: Callable[[CallRecord], None] | None = None,
    table: ModelTable | None = None,
) -> DocumentSummaryService:
    """The summary service, its calls sized from `table` (the app's model table; default: the
    built-in one)."""
    windows = table or DEFAULT_MODEL_TABLE
    return DocumentSummaryService(
        library,
        store,
        model,
        catalog,
        on_call=on_call,
        options=SummaryOptions(
            chunk_tokens=settings.summary_chunk_tokens,
            overlap_tokens=settings.summary_chunk_overlap_tokens,
            context_tokens=settings.summary_context_tokens,
            max_concurrency=settings.summary_max_concurrency,
        ),
        max_output_tokens=settings.summary_max_output_tokens,
        context_window=lambda model_id: context_window(model_id, windows),
        price_for=windows.price_for,
    )

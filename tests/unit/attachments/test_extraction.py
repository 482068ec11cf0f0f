"""Document extraction on real generated files, hostile ones included."""

from __future__ import annotations

import time

import pytest

from chatbot_common.errors import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from lambda_chat.attachments.extraction import ExtractionLimits, extract_document
from tests.fakes import sample_files as files


def test_text_in_a_legacy_encoding_is_detected_and_decoded() -> None:
    data = "Café crème à Zürich, naïve façade, Ærøskøbing. Größe: 12 m².\n".encode("cp1252") * 5
    doc = extract_document(data, "txt")
    assert "Café crème à Zürich" in doc.text


def test_utf16_text_with_a_byte_order_mark_is_text() -> None:
    doc = extract_document("Hello UTF-16 world".encode("utf-16"), "txt")
    assert "Hello UTF-16 world" in doc.text


def test_markdown_keeps_its_text() -> None:
    doc = extract_document(b"# Title\n\n- point one\n- point two\n", "md")
    assert doc.text.startswith("# Title")


def test_multi_page_pdf_keeps_every_page_in_order() -> None:
    pdf = files.text_pdf([f"Page {i} says fact number {i}." for i in range(1, 6)])
    doc = extract_document(pdf, "pdf")
    assert doc.pages == 5
    positions = [doc.text.index(f"fact number {i}") for i in range(1, 6)]
    assert positions == sorted(positions)
    assert "[Page 5]" in doc.text


def test_pdf_over_the_page_limit_is_refused_before_reading_pages() -> None:
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge, match="3,000 pages"):
        extract_document(files.blank_pdf(3000), "pdf", ExtractionLimits(pdf_max_pages=500))
    assert time.perf_counter() - started < 5


def test_encrypted_pdf_gets_a_clear_error() -> None:
    with pytest.raises(UnprocessableContent, match="encrypted"):
        extract_document(files.encrypted_pdf(), "pdf")


def test_corrupt_pdf_is_unprocessable() -> None:
    with pytest.raises(UnprocessableContent, match="corrupt"):
        extract_document(files.corrupt_pdf(), "pdf")


@pytest.mark.parametrize("make", [files.image_only_pdf, lambda: files.blank_pdf(3)])
def test_pdf_without_a_text_layer_says_so(make) -> None:
    with pytest.raises(UnprocessableContent, match=r"no extractable text \(scanned PDF\?\)"):
        extract_document(make(), "pdf")


def test_docx_paragraphs_and_tables_are_extracted() -> None:
    data = files.docx_bytes(
        ["Intro paragraph.", "Second paragraph."], table=[["Name", "Qty"], ["Bolts", "40"]]
    )
    doc = extract_document(data, "docx")
    assert "Intro paragraph." in doc.text
    assert "Bolts | 40" in doc.text


def test_docx_zip_bomb_is_refused_from_its_directory_without_inflating() -> None:
    bomb = files.docx_zip_bomb(300 * 1024 * 1024)
    assert len(bomb) < 2 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(UnprocessableContent, match="zip bomb"):
        extract_document(bomb, "docx")
    assert time.perf_counter() - started < 1


def test_docx_bomb_under_the_size_cap_is_still_caught_by_its_ratio() -> None:
    with pytest.raises(UnprocessableContent, match="expands"):
        extract_document(files.docx_zip_bomb(20 * 1024 * 1024), "docx")


def test_zip_that_is_not_a_word_document_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        extract_document(files.plain_zip(), "docx")


def test_html_scripts_and_styles_are_dropped_and_text_kept() -> None:
    doc = extract_document(files.HOSTILE_HTML, "html")
    assert "Revenue grew 12%" in doc.text
    assert "Oslo" in doc.text and "team@example.com" in doc.text
    assert "Quarterly notes" in doc.text
    for dropped in ("alert", "document.cookie", "evil.example", "color: red", "enable js", "onerror"):
        assert dropped not in doc.text


def test_small_csv_is_described_and_included_in_full() -> None:
    doc = extract_document(files.csv_rows(30), "csv")
    assert doc.meta["rows"] == 30 and doc.meta["complete"]
    assert doc.text.startswith("CSV table: 30 data rows, 5 columns")
    assert "- amount: number" in doc.text
    assert "- date: date" in doc.text
    assert "- active: boolean" in doc.text
    assert "30,Lisbon" in doc.text


def test_semicolon_csv_dialect_is_sniffed() -> None:
    doc = extract_document(files.csv_rows(10, delimiter=";"), "csv")
    assert "delimiter ';'" in doc.text
    assert doc.meta["columns"] == ["id", "city", "amount", "date", "active"]


def test_million_row_csv_is_profiled_by_sampling_fast_and_not_fed_raw() -> None:
    data = files.csv_million()
    started = time.perf_counter()
    doc = extract_document(data, "csv", ExtractionLimits(csv_sample_rows=1000))
    elapsed = time.perf_counter() - started
    assert doc.meta["rows"] == 1_000_000
    assert doc.meta["sampledRows"] == 1000
    assert "1,000,000 data rows" in doc.text
    assert "statistics from the first 1,000 rows" in doc.text
    assert len(doc.text) < 5_000  # a description, not the raw rows
    assert elapsed < 5


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (files.png_bytes(10, 10), "pdf"),
        (b"%PDF-1.7 pretending", "txt"),
        (files.docx_bytes(["x"]), "csv"),
        (b"plain words, not a pdf", "pdf"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "txt"),
        (b"text at first" + b"\x00" * 20000, "txt"),
    ],
)
def test_content_that_does_not_match_the_declared_type_is_refused(data: bytes, kind: str) -> None:
    with pytest.raises(UnsupportedMediaType, match=f"not the declared {kind}"):
        extract_document(data, kind)


@pytest.mark.parametrize("kind", ["txt", "pdf", "docx", "csv", "html"])
def test_zero_byte_files_are_refused(kind: str) -> None:
    with pytest.raises(UnprocessableContent, match="empty"):
        extract_document(b"", kind)


def test_whitespace_only_text_is_refused() -> None:
    with pytest.raises(UnprocessableContent, match="no text"):
        extract_document(b"  \n\n\t ", "txt")


def test_text_longer_than_the_limit_is_refused_not_truncated() -> None:
    with pytest.raises(PayloadTooLarge):
        extract_document(b"word " * 10_000, "txt", ExtractionLimits(max_chars=1_000))

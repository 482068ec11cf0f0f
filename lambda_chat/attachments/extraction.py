"""Turn an uploaded document into text the model can read, refusing hostile files with clear errors.

Every refusal is a typed domain error (4xx): empty file, content that is not the declared type,
too many pages, encrypted or corrupt PDF, PDF without a text layer, DOCX zip bomb, text too long.
Large CSV files are profiled (structure, row count, per-column statistics) rather than fed raw.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import math
import re
import statistics
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from chatbot_common import text_decoding
from chatbot_common.errors import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from chatbot_common.uploads import HEAD_BYTES, detect_type, file_type_by_kind, type_matches

# pypdf logs every malformed object it tolerates; a hostile PDF would flood the logs.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ExtractionLimits:
    pdf_max_pages: int = 500
    max_chars: int = 3_000_000
    docx_max_uncompressed_bytes: int = 200 * 1024 * 1024
    docx_max_compression_ratio: float = 200.0
    docx_max_entries: int = 5_000
    csv_sample_rows: int = 1_000
    csv_full_rows: int = 200


@dataclass(frozen=True)
class ExtractedDocument:
    kind: str
    text: str
    pages: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def extract_document(data: bytes, kind: str, limits: ExtractionLimits | None = None) -> ExtractedDocument:
    """Check that ``data`` really is a ``kind`` document (txt, md, csv, pdf, docx, html); extract its text."""
    limits = limits or ExtractionLimits()
    if not data:
        raise UnprocessableContent("The file is empty")
    ftype = file_type_by_kind(kind)
    detected = detect_type(data[:HEAD_BYTES], data[-65536:])
    if not type_matches(ftype, detected):
        raise UnsupportedMediaType(
            f"The file content is {detected or 'unrecognised binary data'}, not the declared {kind}"
        )
    if kind == "pdf":
        doc = extract_pdf(data, limits)
    elif kind == "docx":
        doc = extract_docx(data, limits)
    elif kind == "csv":
        doc = profile_csv(decode_text(data), limits)
    elif kind == "html":
        doc = ExtractedDocument("html", html_to_text(decode_text(data)))
    else:
        doc = ExtractedDocument(kind, normalise_whitespace(decode_text(data)))
    doc = replace(doc, text=replace_lone_surrogates(doc.text))
    if not doc.text.strip():
        raise UnprocessableContent("The document contains no text")
    if len(doc.text) > limits.max_chars:
        raise PayloadTooLarge(
            f"The document has {len(doc.text):,} characters of text; the limit is {limits.max_chars:,}"
        )
    return doc


def decode_text(data: bytes) -> str:
    """Decode text of unknown encoding (see ``chatbot_common.text_decoding``: 415 for binary data,
    422 naming the problem for text whose encoding cannot be told with confidence)."""
    return text_decoding.decode_text(data).text


def replace_lone_surrogates(text: str) -> str:
    """Join surrogate pairs and replace unpaired UTF-16 surrogates with U+FFFD.

    Parsers pass them through (a PDF whose ToUnicode map yields ``\\ud800``); they cannot be
    encoded as UTF-8, so storing or sending such text fails later, on every turn that reads it.
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def normalise_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


# --- PDF -----------------------------------------------------------------------------------------


def extract_pdf(data: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # Owner-password-only PDFs (printing/copy restrictions) open with an empty user password.
            try:
                opened = bool(reader.decrypt(""))
            except (NotImplementedError, FileNotDecryptedError, PdfReadError):
                opened = False
            if not opened:
                raise UnprocessableContent(
                    "The PDF is encrypted (password-protected); upload an unprotected copy"
                )
        pages = len(reader.pages)
    except UnprocessableContent:
        raise
    except Exception as exc:  # pypdf raises many types on malformed input
        raise UnprocessableContent("The PDF could not be read (corrupt or not a PDF)") from exc
    if pages == 0:
        raise UnprocessableContent("The PDF has no pages")
    if pages > limits.pdf_max_pages:
        raise PayloadTooLarge(f"The PDF has {pages:,} pages; the limit is {limits.pdf_max_pages:,}")
    parts: list[str] = []
    chars = 0
    unreadable = 0
    for number in range(1, pages + 1):
        try:
            text = normalise_whitespace(reader.pages[number - 1].extract_text() or "")
        except Exception:  # one damaged page should not cost the rest of the document
            unreadable += 1
            parts.append(f"[Page {number}: unreadable]")
            continue
        if text:
            parts.append(f"[Page {number}]\n{text}")
            chars += len(text)
            if chars > limits.max_chars:
                break
    form = _pdf_form_fields(reader)
    if form:
        parts.append("[Form fields]\n" + "\n".join(form))
        chars += sum(len(line) for line in form)
    if unreadable == pages and not form:
        raise UnprocessableContent("The PDF could not be read (corrupt page content)")
    if chars == 0:
        raise UnprocessableContent(
            "The PDF has no extractable text (scanned PDF?); upload a PDF with a text layer"
        )
    return ExtractedDocument("pdf", "\n\n".join(parts), pages=pages, meta={"unreadablePages": unreadable})


def _pdf_form_fields(reader: Any) -> list[str]:
    """Filled-in AcroForm fields as ``label: value`` lines (the label is the field's tooltip
    ``/TU`` when it has one, else its name; PDF 1.7, 12.7.3.1). Empty and unchecked fields are
    left out; a checked box or chosen option shows its export value."""
    try:
        fields = reader.get_fields() or {}
    except Exception:  # a damaged form should not cost the pages' text
        return []
    lines: list[str] = []
    for name, form_field in fields.items():
        value = form_field.get("/V")
        if isinstance(value, list):
            value = ", ".join(str(v).lstrip("/") for v in value)
        text = str(value).lstrip("/").strip() if value is not None else ""
        if not text or text == "Off":
            continue
        label = str(form_field.get("/TU") or name).strip()
        lines.append(f"{label}: {text}")
    return lines


# --- DOCX ----------------------------------------------------------------------------------------


def check_zip_bomb(data: bytes, limits: ExtractionLimits) -> None:
    """Refuse archives whose directory promises too much before anything is decompressed.

    Python's zipfile stops each member at its declared size (and fails its CRC if the data runs
    longer), so the declared sizes checked here bound what parsing can inflate.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnprocessableContent("The DOCX file is corrupt (not a readable zip archive)") from exc
    if len(infos) > limits.docx_max_entries:
        raise UnprocessableContent(f"The DOCX archive has {len(infos):,} entries; refusing it")
    total = sum(info.file_size for info in infos)
    if total > limits.docx_max_uncompressed_bytes:
        raise UnprocessableContent(
            f"The DOCX archive would expand to {total:,} bytes (zip bomb?); "
            f"the limit is {limits.docx_max_uncompressed_bytes:,}"
        )
    packed = sum(info.compress_size for info in infos)
    if total > 1_000_000 and total / max(packed, 1) > limits.docx_max_compression_ratio:
        raise UnprocessableContent(
            f"The DOCX archive expands {total / max(packed, 1):,.0f}x (zip bomb?); refusing it"
        )
    if "word/document.xml" not in {info.filename for info in infos}:
        raise UnsupportedMediaType("The zip archive is not a Word document (no word/document.xml)")


def extract_docx(data: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    """All the text of a Word document, in document order.

    Headers first (each distinct one once), then the body with paragraphs and tables interleaved
    as they appear (a table row is its cells joined by `` | ``; tables nested in cells are
    read where they sit), then footnotes, endnotes and comments (each labelled), then footers.
    """
    check_zip_bomb(data, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        headers, footers = _docx_headers_and_footers(document)
        parts.extend(f"[Header] {text}" for text in headers)
        parts.extend(_docx_blocks(document))
        parts.extend(_docx_notes(document, "footnotes", "Footnote"))
        parts.extend(_docx_notes(document, "endnotes", "Endnote"))
        for comment in document.comments:
            text = " ".join(comment.text.split())
            if text:
                author = f" by {comment.author}" if comment.author else ""
                parts.append(f"[Comment{author}] {text}")
        parts.extend(f"[Footer] {text}" for text in footers)
    except Exception as exc:  # python-docx / lxml raise many types on malformed input
        raise UnprocessableContent("The DOCX file is corrupt or not a Word document") from exc
    return ExtractedDocument("docx", normalise_whitespace("\n".join(parts)))


def _docx_blocks(container: Any) -> Iterator[str]:
    """Paragraph texts and table rows of a document, header, footer or table cell, in order."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if isinstance(block, Table):
            yield from _docx_table(block)
        elif block.text.strip():
            yield block.text


def _docx_table(table: Any) -> Iterator[str]:
    """One line per row; a table nested in a cell is read inside that cell, its rows joined by
    `` / ``."""
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            texts: list[str] = []
            for inner in cell.iter_inner_content():
                if isinstance(inner, type(table)):
                    texts.append(" / ".join(_docx_table(inner)))
                elif inner.text.strip():
                    texts.append(inner.text.strip())
            cells.append(" ".join(text for text in texts if text))
        if any(cells):
            yield " | ".join(cells)


def _docx_headers_and_footers(document: Any) -> tuple[list[str], list[str]]:
    headers: list[str] = []
    footers: list[str] = []
    for section in document.sections:
        for kind, found in (("header", headers), ("footer", footers)):
            for name in (kind, f"first_page_{kind}", f"even_page_{kind}"):
                part = getattr(section, name)
                if part.is_linked_to_previous and name != kind:
                    continue
                for text in _docx_blocks(part):
                    if text not in found:
                        found.append(text)
    return headers, footers


_NOTES_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.{}+xml"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_notes(document: Any, kind: str, label: str) -> Iterator[str]:
    """Footnotes or endnotes, read from their XML part (python-docx has no API for them)."""
    from docx.oxml.parser import parse_xml  # python-docx's parser: no DTDs, no entity expansion

    content_type = _NOTES_CONTENT_TYPE.format(kind)
    for part in document.part.package.iter_parts():
        if part.content_type != content_type:
            continue
        root = parse_xml(part.blob)
        for note in root.iter(f"{_W}{kind[:-1]}"):
            if note.get(f"{_W}type") in {"separator", "continuationSeparator", "continuationNotice"}:
                continue
            paragraphs = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in note.iter(f"{_W}p")]
            text = " ".join(p.strip() for p in paragraphs if p.strip())
            if text:
                yield f"[{label} {note.get(f'{_W}id')}] {text}"


# --- HTML ----------------------------------------------------------------------------------------

_DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page; scripts, styles and other non-text elements are dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(_DROPPED_TAGS):
        tag.decompose()
    text = normalise_whitespace(soup.get_text("\n"))
    text = re.sub(r"\n{2,}", "\n\n", re.sub(r"[ \t]*\n[ \t]*", "\n", text))
    return f"{title}\n\n{text}".strip() if title and not text.startswith(title) else text


# --- CSV -----------------------------------------------------------------------------------------


def _cell_type(value: str) -> str:
    if value == "":
        return "empty"
    lowered = value.lower()
    if lowered in {"true", "false", "yes", "no"}:
        return "boolean"
    try:
        int(value.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+", value) else value)
        return "integer"
    except ValueError:
        pass
    try:
        number = float(value)
        return "number" if math.isfinite(number) else "text"
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?", value):
        return "date"
    return "text"


def _column_summary(name: str, values: list[str]) -> str:
    types = Counter(_cell_type(v.strip()) for v in values)
    empty = types.pop("empty", 0)
    if not types:
        return f"- {name}: empty"
    dominant = types.most_common(1)[0][0]
    if {"integer", "number"} >= set(types):
        dominant = "number" if "number" in types else "integer"
    line = f"- {name}: {dominant}"
    if dominant in {"integer", "number"}:
        numbers = []
        for v in values:
            try:
                numbers.append(float(v.strip().replace(",", "")))
            except ValueError:
                continue
        if numbers:
            line += f", min {min(numbers):g}, max {max(numbers):g}, mean {statistics.fmean(numbers):.4g}"
    else:
        distinct = Counter(v.strip() for v in values if v.strip())
        top = ", ".join(f"{v[:40]!r} ({c})" for v, c in distinct.most_common(5))
        line += f", {len(distinct)} distinct; most common: {top}"
    if empty:
        line += f"; {empty} empty"
    return line


def _looks_like_header(first: list[str]) -> bool:
    """Whether the first row names the columns.

    csv.Sniffer.has_header only votes by column type and length, so it calls an all-text header
    row data (a quoted header over quoted text; "氏名,金額" over short names). As spreadsheet
    tools and pandas do by default, the first row is the header unless it looks like data: an
    empty, repeated, numeric or date cell.
    """
    cells = [cell.strip() for cell in first]
    if any(not cell for cell in cells) or len(set(cells)) < len(cells):
        return False
    return not any(_cell_type(cell) in {"integer", "number", "date"} for cell in cells)


def profile_csv(text: str, limits: ExtractionLimits) -> ExtractedDocument:
    """Describe a CSV by its structure: dialect, header, row count, column types and statistics.

    Rows are streamed; statistics come from the first ``csv_sample_rows`` rows while the rest are
    only counted, so a million-row file costs one pass and bounded memory. Small files are also
    included in full.
    """
    # Old Mac files end lines with CR alone; the csv module only splits the lines it is given.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sample = text[:65536]
    sniffer = csv.Sniffer()
    try:
        dialect: Any = sniffer.sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        first = next(reader, None)
        if first is None:
            raise UnprocessableContent("The CSV file has no rows")
        has_header = _looks_like_header(first)
        header = first if has_header else [f"column {i + 1}" for i in range(len(first))]
        sampled: list[list[str]] = [] if has_header else [first]
        sampled.extend(itertools.islice(reader, max(0, limits.csv_sample_rows - len(sampled))))
        remaining = sum(1 for _ in reader)
    except csv.Error as exc:
        raise UnprocessableContent(f"The CSV file is malformed: {exc}") from exc
    total_rows = len(sampled) + remaining
    columns = [h.strip() or f"column {i + 1}" for i, h in enumerate(header)]
    width = max([len(columns), *(len(r) for r in sampled[:50])])
    columns += [f"column {i + 1}" for i in range(len(columns), width)]
    delimiter = {"\t": "tab"}.get(dialect.delimiter, repr(dialect.delimiter))
    sampled_note = f" (statistics from the first {len(sampled):,} rows)" if total_rows > len(sampled) else ""
    lines = [
        f"CSV table: {total_rows:,} data rows, {len(columns)} columns, delimiter {delimiter}, "
        f"{'with' if has_header else 'without'} a header row{sampled_note}.",
        "Columns:",
    ]
    for i, name in enumerate(columns):
        lines.append(_column_summary(name, [r[i] if i < len(r) else "" for r in sampled]))
    full = total_rows <= limits.csv_full_rows
    shown = sampled if full else sampled[:20]
    lines.append("All rows:" if full else f"First {len(shown)} rows:")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(shown)
    lines.append(out.getvalue().rstrip("\n"))
    meta = {"rows": total_rows, "columns": columns, "sampledRows": len(sampled), "complete": full}
    return ExtractedDocument("csv", "\n".join(lines), meta=meta)

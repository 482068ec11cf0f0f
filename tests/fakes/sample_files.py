"""Real files made by the tests themselves: PDFs (fpdf2, pypdf), DOCX (python-docx), CSV, images (Pillow).

Hostile ones too. Big ones are built cheaply: blank pages for page-count bombs, streamed
deflate of zeros for zip bombs, a header that declares huge dimensions for a pixel bomb.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with a text layer, one string per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def blank_pdf(pages: int) -> bytes:
    """A valid PDF of ``pages`` empty pages (no text layer): a scanned PDF, or a page-count bomb."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def image_only_pdf() -> bytes:
    """What a scanner produces: pages that are pictures, no text."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.image(png_bytes(200, 100, "white"), x=10, y=10, w=100)
    return bytes(pdf.output())


def encrypted_pdf(text: str = "secret content", password: str = "hunter2") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([text]))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def corrupt_pdf() -> bytes:
    """Starts like a PDF, then garbage: no xref, no objects."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R" + b"\x8f\x01garbage" * 200


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def docx_zip_bomb(expanded_bytes: int = 300 * 1024 * 1024) -> bytes:
    """A real DOCX whose word/document.xml inflates to ``expanded_bytes`` (deflated zeros stream
    in a few hundred milliseconds and compress about 1000:1)."""
    base = zipfile.ZipFile(io.BytesIO(docx_bytes(["cover page"])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in base.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info.filename, base.read(info.filename))
        with out.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(expanded_bytes // len(block)):
                member.write(block)
    return buf.getvalue()


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a word document")
    return buf.getvalue()


def csv_rows(rows: int, *, delimiter: str = ",") -> bytes:
    """A CSV with a header and ``rows`` data rows (id, city, amount, date, active), built in one go."""
    cities = ["Lisbon", "Oslo", "Lima", "Pune", "Osaka"]
    lines = [delimiter.join(["id", "city", "amount", "date", "active"])]
    lines += [
        delimiter.join(
            [
                str(i),
                cities[i % 5],
                f"{(i * 37) % 1000 + 0.5}",
                f"2025-01-{i % 28 + 1:02d}",
                "true" if i % 2 else "false",
            ]
        )
        for i in range(1, rows + 1)
    ]
    return ("\n".join(lines) + "\n").encode()


def csv_million(rows: int = 1_000_000) -> bytes:
    """A valid CSV of ``rows`` short rows (about 14 MB for a million: under the 20 MB limit)."""
    codes = "ABCDE"
    body = "\n".join(f"{i},{codes[i % 5]},{i * 37 % 1000}" for i in range(1, rows + 1))
    return ("id,code,value\n" + body + "\n").encode()


def image_bytes(width: int, height: int, fmt: str = "PNG", color: str = "red") -> bytes:
    image = Image.new("RGB", (width, height), color)
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def png_bytes(width: int, height: int, color: str = "red") -> bytes:
    return image_bytes(width, height, "PNG", color)


def noisy_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG (noise does not compress), to exercise downscaling of big images."""
    import os

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def png_pixel_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (10 gigapixels by default):
    what a decompression bomb looks like to a parser before it inflates anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


HOSTILE_HTML = b"""<!doctype html><html><head><title>Quarterly notes</title>
<style>body { color: red }</style><script>alert('xss'); document.cookie</script></head>
<body><h1>Revenue grew 12%</h1><p>The <b>Oslo</b> office opened.</p>
<script src="https://evil.example/x.js"></script><noscript>enable js</noscript>
<img src=x onerror="alert(1)"><p>Contact: team@example.com</p></body></html>"""

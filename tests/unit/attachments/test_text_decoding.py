"""Text of unknown encoding: the right text, or a clear refusal; never "binary" for text, never garbage.

The sweep encodes natural text in several languages, at 20 B, 200 B, 2 KB and 20 KB, with every
text encoding Python's codec registry knows that can encode it, and decodes it back.
"""

from __future__ import annotations

import codecs
from collections import Counter

import pytest

from chatbot_common.errors import UnprocessableContent, UnsupportedMediaType
from chatbot_common.text_decoding import decode_text, detect_encoding
from chatbot_common.uploads import detect_type
from lambda_chat.attachments.extraction import extract_document
from tests.fakes.text_samples import LENGTHS, SAMPLES, sized_sample, sweep_cases, text_encodings

# Code pages no one writes files in today, and what they are read as instead (the sweep reports
# them; a new wrong reading anywhere else fails the test).
KNOWN_MISREAD = {
    "cp037",
    "cp1026",
    "cp1140",
    "cp273",
    "cp424",
    "cp500",
    "cp875",  # EBCDIC
    "cp855",
    "cp856",
    "cp857",
    "cp862",  # DOS
    "mac_arabic",
    "mac_farsi",  # Mac: ASCII punctuation duplicated in the upper half
    "johab",  # Korean Johab, retired in 1997
    "hp_roman8",  # HP-UX Roman-8
    "big5",
    "cp950",  # only Russian in Big5, which Big5-HKSCS reads as katakana
}


def test_every_text_encoding_python_knows_is_read_right_or_refused_clearly() -> None:
    outcomes: Counter[str] = Counter()
    wrong: list[tuple[str, str, int, str]] = []
    for encoding, language, size, expected, data in sweep_cases():
        try:
            got = decode_text(data)
        except (UnprocessableContent, UnsupportedMediaType) as exc:
            assert "encoding" in str(exc) or "not text" in str(exc) or "decoded" in str(exc)
            outcomes["refused"] += 1
            continue
        if got.text == expected:
            outcomes["right"] += 1
        else:
            outcomes["wrong"] += 1
            wrong.append((encoding, language, size, got.encoding))
    total = sum(outcomes.values())
    report = (
        f"{len(text_encodings())} encodings, {total} samples: {outcomes['right']} right "
        f"({outcomes['right'] / total:.1%}), {outcomes['refused']} refused with a 422/415 "
        f"({outcomes['refused'] / total:.1%}), {outcomes['wrong']} wrong ({outcomes['wrong'] / total:.1%})"
    )
    print(report)
    unexpected = [case for case in wrong if case[0] not in KNOWN_MISREAD]
    assert not unexpected, f"{report}; misread: {unexpected}"
    assert outcomes["right"] / total >= 0.92, report
    assert outcomes["wrong"] / total <= 0.03, report


REAL_WORLD = [
    "utf_8",
    "utf_16_le",
    "utf_16_be",
    "utf_32_le",
    "utf_32_be",
    "cp1252",
    "iso8859_1",
    "iso8859_2",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "iso8859_9",
    "cp1255",
    "cp1256",
    "cp874",
    "shift_jis",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb2312",
    "gbk",
    "gb18030",
    "big5",
    "euc_kr",
    "cp949",
    "iso2022_kr",
]


@pytest.mark.parametrize("encoding", REAL_WORLD)
def test_text_in_a_real_world_encoding_is_never_called_binary(encoding: str) -> None:
    for language, text in SAMPLES.items():
        for size in LENGTHS:
            data = sized_sample(text, encoding, size)
            if data is None:
                break
            assert detect_type(data[:8192]) == "text/plain", (language, size)
            assert detect_encoding(data).verdict != "binary", (language, size)


def test_a_three_row_shift_jis_csv_is_read_as_japanese_not_korean() -> None:
    data = "氏名,金額\r\n佐藤,100\r\n鈴木,200\r\n".encode("cp932")
    doc = extract_document(data, "csv")
    assert "氏名" in doc.text and "金額" in doc.text and "鈴木" in doc.text
    assert doc.meta["columns"] == ["氏名", "金額"]


def test_a_15_kb_gb2312_text_is_read() -> None:
    data = sized_sample(SAMPLES["zh-hans"], "gb2312", 15_000)
    assert data is not None
    assert decode_text(data).text == data.decode("gb2312")
    assert "居民们注意到河水变干净了" in extract_document(data, "txt").text


@pytest.mark.parametrize(("encoding", "language"), [("euc_jp", "ja"), ("euc_kr", "ko"), ("big5", "zh-hant")])
def test_legacy_cjk_texts_are_read(encoding: str, language: str) -> None:
    for size in (200, 2_000):
        data = sized_sample(SAMPLES[language], encoding, size)
        assert data is not None
        assert decode_text(data).text == data.decode(encoding)


@pytest.mark.parametrize("encoding", ["utf_16_le", "utf_16_be", "utf_32_le", "utf_32_be"])
@pytest.mark.parametrize("language", ["en", "ja", "ru", "th"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_text(encoding: str, language: str) -> None:
    for size in (40, 400, 4_000):
        data = sized_sample(SAMPLES[language], encoding, size)
        assert data is not None and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        doc = extract_document(data, "txt")
        assert doc.text == data.decode(encoding).strip()


@pytest.mark.parametrize(
    ("text", "encoding", "word"),
    [
        (
            "Os moradores disseram que a água não está limpa, e a prefeitura ainda não respondeu tão cedo.",
            "iso8859_1",
            "tão",
        ),
        (
            "Mieszkańcy zauważyli, że źródło wody jest czyste. Urzędnicy obiecali naprawę.",
            "iso8859_2",
            "zauważyli",
        ),
        (
            "Merkez bankası faiz oranlarını değiştirmedi. Şirketler yeni düzenlemeleri bekliyor.",
            "cp1254",
            "bankası",
        ),
    ],
)
def test_single_byte_latin_texts_keep_every_character(text: str, encoding: str, word: str) -> None:
    doc = extract_document(text.encode(encoding), "txt")
    assert doc.text == text
    assert word in doc.text


@pytest.mark.parametrize("encoding", ["iso2022_jp", "iso2022_jp_2", "iso2022_kr"])
def test_iso_2022_escape_sequences_are_decoded_not_passed_through(encoding: str) -> None:
    text = SAMPLES["ko" if encoding.endswith("kr") else "ja"]
    doc = extract_document(text.encode(encoding), "txt")
    assert doc.text == text.strip()
    assert "\x1b" not in doc.text


def test_equally_plausible_readings_are_refused_naming_the_candidates() -> None:
    # Eight Cyrillic letters could be Windows-1251 or Greek or Hebrew: too short to tell.
    with pytest.raises(UnprocessableContent, match=r"could not be determined with confidence.*UTF-8"):
        decode_text("Жители".encode("cp1251"))


def test_binary_after_text_is_not_text() -> None:
    data = b"plain words " * 1000 + bytes(range(256))
    with pytest.raises(UnsupportedMediaType, match="not text"):
        decode_text(data)


def test_a_log_with_terminal_colour_codes_is_text_without_the_codes() -> None:
    data = b"\x1b[32mINFO\x1b[0m server started on port 8080\n\x1b[31mERROR\x1b[0m disk full\n"
    assert detect_type(data) == "text/plain"
    doc = extract_document(data, "txt")
    assert doc.text == "INFO server started on port 8080\nERROR disk full"

"""Decode uploaded text of unknown encoding: the right text, or a clear refusal, never silent garbage.

Order of evidence, strongest first:

1. a byte-order mark (UTF-8, UTF-16, UTF-32; the Unicode Standard, section 23.8);
2. NUL bytes: text with NULs is UTF-16 or UTF-32 without a mark (their NUL pattern tells which) or
   not text at all;
3. 7-bit data: ASCII, or a 7-bit encoding that announces itself (ISO-2022-JP/-KR escape sequences,
   RFC 1468 and RFC 1557; HZ's ``~{``, RFC 1843; UTF-7's ``+...-``, RFC 2152);
4. valid UTF-8 (random legacy bytes are almost never valid UTF-8);
5. legacy encodings: every candidate that decodes the bytes strictly is read as text and scored.
   A wrong decoding shows itself as *anomalies*: symbols inside words (``zauwa¿yli``), an
   upper-case letter after a lower-case one (``MieszkaÒcy``), letters of two unrelated scripts in
   one word, and for CJK, characters outside the common sets (GB2312 level 1, JIS X 0208 level 1,
   Big5's frequently used characters, the 2,350 KS X 1001 Hangul syllables), which real text
   rarely leaves and mis-decoded text rarely hits. The candidate with the fewest anomalies wins;
   equally clean candidates that read differently are told apart by charset-normalizer's language
   coherence (letter frequencies per language); when that cannot tell them apart either, the text
   is refused (422) naming the candidates, rather than guessed.

charset-normalizer alone mis-reads short texts (a 3-row Shift_JIS CSV as Korean; GB2312 refused
at some lengths): its coherence is used here only as the tie-breaker it is good at.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from chatbot_common.errors import UnprocessableContent, UnsupportedMediaType

# How much of a long text is scored to choose the encoding (the whole text is then decoded).
SAMPLE_BYTES = 4_096

# Legacy encodings tried on non-UTF-8 text: first the national standards and Windows code pages
# that files are really written in, then DOS, Mac and EBCDIC code pages. Between equally clean
# readings, one from the first group beats ones from the second only (a prior: Mac Latin-2 files
# are vanishingly rare next to Windows-1252 ones); otherwise language coherence decides, or 422.
LEGACY_ENCODINGS: tuple[str, ...] = (
    "cp1252",
    "cp932",
    "shift_jis_2004",
    "euc_jp",
    "euc_jis_2004",
    "gb18030",
    "big5",
    "big5hkscs",
    "cp949",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "iso8859_5",
    "mac_cyrillic",
    "cp1253",
    "iso8859_7",
    "cp1254",
    "iso8859_9",
    "cp1255",
    "iso8859_8",
    "cp1256",
    "iso8859_6",
    "cp1257",
    "iso8859_13",
    "iso8859_4",
    "iso8859_3",
    "iso8859_10",
    "iso8859_14",
    "iso8859_15",
    "iso8859_16",
    "cp874",
    "cp1258",
)
SECONDARY_ENCODINGS: tuple[str, ...] = (
    "cp866",
    "mac_roman",
    "cp437",
    "cp850",
    "cp852",
    "cp737",
    "cp862",
    "cp857",
    "mac_greek",
    "mac_latin2",
    "mac_turkish",
    "cp037",
    "cp500",
    "cp1140",
    "cp273",
)
_UTF16_32 = ("utf_32_le", "utf_32_be", "utf_16_le", "utf_16_be")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf_32_le"),  # before UTF-16 LE: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf_32_be"),
    (codecs.BOM_UTF8, "utf_8"),
    (codecs.BOM_UTF16_LE, "utf_16_le"),
    (codecs.BOM_UTF16_BE, "utf_16_be"),
)
_ISO2022 = ("iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3", "iso2022_jp_2004")
_ESC = b"\x1b"
_UTF7_RUN = re.compile(rb"\+[A-Za-z0-9+/]{2,}-?")
# A reading with more anomalies than this share of its non-ASCII characters is not text.
MAX_ANOMALY_RATIO = 0.15
# Equally clean readings must differ by this much language coherence for one to be chosen.
MIN_COHERENCE_MARGIN = 0.03
# Readings whose anomaly ratios differ by less than this are equally clean.
_RATIO_TOLERANCE = 0.01
# C0/C1 controls except \t \n \v \f \r and \x1a (DOS end-of-file marker).
_CONTROL = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f-\x9f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
# Terminal colour and cursor codes (ECMA-48 CSI sequences) in saved logs: text, not binary.
_ANSI_CSI = re.compile("\x1b\\[[0-?]*[ -/]*[@-~]")
_NON_ASCII_BYTE = re.compile(b"[\x80-\xff]")
_IN_WORD_PUNCTUATION = frozenset("’'ʼ·‧-‐")


@dataclass(frozen=True)
class DecodedText:
    """Decoded text and the Python codec name that decoded it."""

    text: str
    encoding: str


@dataclass(frozen=True)
class Detection:
    """What ``detect_encoding`` found: ``text`` (with its encoding), ``ambiguous`` (text, but two
    or more readings are equally plausible: ``candidates``) or ``binary`` (not text)."""

    verdict: Literal["text", "ambiguous", "binary"]
    encoding: str | None = None
    candidates: tuple[str, ...] = ()
    reason: str = ""


def decode_text(data: bytes) -> DecodedText:
    """Decode ``data`` (the whole file) as text.

    Raises UnsupportedMediaType (HTTP 415) when the bytes are not text (binary data, even after
    text), and UnprocessableContent (HTTP 422) naming the problem when the text cannot be decoded
    or when two encodings read it as different but equally plausible text.
    """
    detection = detect_encoding(data, final=True)
    if detection.verdict == "binary":
        raise UnsupportedMediaType(f"The file is not text: {detection.reason}")
    if detection.verdict == "ambiguous" and not detection.candidates:
        raise UnprocessableContent(f"The file's text could not be decoded: {detection.reason}")
    if detection.verdict == "ambiguous":
        names = " or ".join(_display(c) for c in detection.candidates[:3])
        raise UnprocessableContent(
            f"The text's character encoding could not be determined with confidence (it reads as "
            f"{names}); save the file as UTF-8 and upload it again"
        )
    assert detection.encoding is not None
    encoding = detection.encoding
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        # Chosen from the first SAMPLE_BYTES; the rest does not fit that encoding.
        raise UnprocessableContent(
            f"The text is not valid {_display(encoding)} at byte {exc.start:,}: mixed or corrupt encoding"
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    text = _ANSI_CSI.sub("", text)
    control = _CONTROL.search(text)
    if control is not None:
        raise UnsupportedMediaType(
            f"The file is not text: binary data (control character U+{ord(control.group()):04X}) "
            f"at character {control.start():,}"
        )
    return DecodedText(text, encoding)


def looks_like_text(data: bytes) -> bool:
    """Whether ``data`` (possibly the first bytes of a longer file) is text, whatever its encoding.

    Ambiguous text is still text: the 422 for it comes when the whole file is decoded.
    """
    return detect_encoding(data, final=False).verdict != "binary"


def detect_encoding(data: bytes, *, final: bool = True) -> Detection:
    """Find the encoding of ``data``; ``final=False`` when ``data`` may end inside a character."""
    if not data:
        return Detection("text", "utf_8")
    sample = data[:SAMPLE_BYTES]
    partial = not final or len(data) > SAMPLE_BYTES
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            if _decode(sample, encoding, partial) is None:
                return Detection(
                    "binary",
                    reason=f"it starts with a {_display(encoding)} byte-order mark "
                    f"but is not valid {_display(encoding)}",
                )
            return Detection("text", "utf_8_sig" if encoding == "utf_8" else encoding)
    if b"\x00" in sample:
        return _choose(
            sample,
            _UTF16_32,
            partial,
            "it contains NUL bytes and is not UTF-16 or UTF-32",
            garbled_is_binary=True,
        )
    if sample.isascii() and len(data) > SAMPLE_BYTES:
        # A long text whose first pages are ASCII: judge it by where its other characters are,
        # starting on an ASCII byte so that no multi-byte character is cut.
        first = _NON_ASCII_BYTE.search(data)
        if first is not None:
            start = max(0, first.start() - 256)
            sample = data[start : start + SAMPLE_BYTES]
    if sample.isascii():
        return _seven_bit(sample, partial)
    if _decode(sample, "utf_8", partial) is not None:
        return Detection("text", "utf_8")
    candidates = (
        LEGACY_ENCODINGS + SECONDARY_ENCODINGS + (_UTF16_32[2:] if len(sample) % 2 == 0 or partial else ())
    )
    return _choose(sample, candidates, partial, "it is not text in any supported encoding")


def _seven_bit(sample: bytes, partial: bool) -> Detection:
    if _ESC in sample:
        korean = b"\x1b$)C" in sample
        for encoding in ("iso2022_kr",) if korean else _ISO2022:
            text = _decode(sample, encoding, partial)
            if text is not None and _ESC not in text.encode("utf-8", "surrogatepass"):
                return Detection("text", encoding)
        if not _is_clean(sample.decode("ascii")):
            return Detection("binary", reason="it contains escape sequences of no supported encoding")
    if b"~{" in sample and b"~}" in sample:
        text = _decode(sample, "hz", partial)
        if text is not None and not text.isascii() and _score(text) is not None:
            return Detection("text", "hz")
    if _UTF7_RUN.search(sample):
        text = _decode(sample, "utf_7", partial)
        if text is not None and not text.isascii():
            score = _score(text)
            if score is not None and score[0] + score[1] == 0:
                return Detection("text", "utf_7")
    if not _is_clean(sample.decode("ascii")):
        # UTF-16 of some scripts (Thai, Devanagari...) has no NUL and no byte over 0x7F.
        return _choose(
            sample, _UTF16_32[2:], partial, "it contains control characters", garbled_is_binary=True
        )
    return Detection("text", "ascii")


def _choose(
    sample: bytes, encodings: tuple[str, ...], partial: bool, refusal: str, *, garbled_is_binary: bool = False
) -> Detection:
    """The best reading of ``sample`` among ``encodings``. ``garbled_is_binary``: when every
    reading is garbled the data is binary (NUL or control bytes), rather than unreadable text."""
    readings: dict[str, list[str]] = {}  # text -> encodings that read it so
    scores: dict[str, tuple[int, int, int]] = {}
    for encoding in encodings:
        text = _decode(sample, encoding, partial)
        if text is None:
            continue
        if text in readings:
            readings[text].append(encoding)
            continue
        score = _score(text)
        if score is None:
            continue
        readings[text] = [encoding]
        scores[text] = score
    if not scores:
        return Detection("binary", reason=refusal)
    # Letters outside one language's alphabet only rank readings against each other: a real text
    # may mix languages (Café crème à Zürich, Ærøskøbing), but no real text is full of symbols
    # inside words.
    if min(structural / max(count, 1) for structural, _, count in scores.values()) > MAX_ANOMALY_RATIO:
        if garbled_is_binary:
            return Detection("binary", reason=refusal)
        # Clean of control characters, so text, but every reading of it is garbled.
        return Detection("ambiguous", reason=refusal)
    ratios = {
        t: (structural + alphabet) / max(count, 1) for t, (structural, alphabet, count) in scores.items()
    }
    best = min(ratios.values())
    clean = [t for t, ratio in ratios.items() if ratio <= best + _RATIO_TOLERANCE]
    primary = [t for t in clean if readings[t][0] not in SECONDARY_ENCODINGS]
    if primary:
        clean = primary
    if len(clean) == 1:
        return Detection("text", readings[clean[0]][0])
    coherence = {t: _coherence(t) for t in clean}
    ranked = sorted(clean, key=lambda t: (-coherence[t], ratios[t]))
    if coherence[ranked[0]] - coherence[ranked[1]] >= MIN_COHERENCE_MARGIN:
        return Detection("text", readings[ranked[0]][0])
    return Detection("ambiguous", candidates=tuple(readings[t][0] for t in ranked))


def _decode(data: bytes, encoding: str, partial: bool) -> str | None:
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        return str(decoder.decode(data, final=not partial))
    except (UnicodeDecodeError, UnicodeError, LookupError):
        return None


def _is_clean(text: str) -> bool:
    """No C0 or C1 control characters other than the whitespace ones, DOS's end-of-file mark and
    terminal colour codes."""
    return _CONTROL.search(_ANSI_CSI.sub("", text) if "\x1b" in text else text) is None


def _is_letter(ch: str) -> bool:
    return bool(ch) and unicodedata.category(ch)[0] in "LM"


def _coherence(text: str) -> float:
    """How much ``text`` looks like some language: charset-normalizer's letter-frequency coherence,
    plus for CJK the share of its characters among the most frequent ones."""
    # charset-normalizer is imported on the first text that needs scoring, not with the app.
    from charset_normalizer.cd import coherence_ratio

    ratios = coherence_ratio(text)
    cjk = [ch for ch in text if _script(ch) in {"HAN", "KANA", "HANGUL"}]
    frequent = _frequent_cjk()
    share = sum(ch in frequent for ch in cjk) / len(cjk) if cjk else 0.0
    return (ratios[0][1] if ratios else 0.0) + share


def _display(encoding: str) -> str:
    return codecs.lookup(encoding).name.upper().replace("_", "-")


# --- Plausibility ---------------------------------------------------------------------------------


@functools.cache
def _common_cjk() -> frozenset[str]:
    """The characters that ordinary CJK text is made of, from the encodings' own frequency tiers:
    GB2312 level 1 (3,755 hanzi), JIS X 0208 level 1 (2,965 kanji), Big5 frequently used
    (5,401), KS X 1001 Hangul (2,350 syllables), plus every hiragana and full-width katakana."""
    chars: set[str] = set()

    def add(encoding: str, leads: range, trails: list[int]) -> None:
        for lead in leads:
            for trail in trails:
                try:
                    chars.add(bytes((lead, trail)).decode(encoding))
                except UnicodeDecodeError:
                    continue

    euc_trails = list(range(0xA1, 0xFF))
    add("gb2312", range(0xB0, 0xD8), euc_trails)
    add("euc_jp", range(0xB0, 0xD0), euc_trails)
    add("euc_kr", range(0xB0, 0xC9), euc_trails)
    add("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    chars.update(chr(cp) for cp in range(0x3041, 0x3097))
    chars.update(chr(cp) for cp in range(0x30A1, 0x30FB))
    return frozenset(chars)


@functools.cache
def _script(ch: str) -> str:
    """A coarse script name for a letter ('' for everything else)."""
    if not unicodedata.category(ch).startswith(("L", "M")):
        return ""
    if ch.isascii():
        return "LATIN"
    cp = ord(ch)
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF:
        return "KANA"
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or cp >= 0x20000:
        return "HAN"
    name = unicodedata.name(ch, "")
    word = name.split(" ", 1)[0]
    if word in {"HALFWIDTH", "FULLWIDTH"}:
        return name.split(" ", 2)[1]
    if word == "COMBINING":
        return "MARK"
    return word


# Letters real text is written in; a letter outside them (IPA, Latin Extended-B, Yi, box drawing
# masquerading as letters...) is an anomaly.
_EXPECTED_SCRIPTS = frozenset(
    [
        "LATIN",
        "GREEK",
        "CYRILLIC",
        "ARMENIAN",
        "HEBREW",
        "ARABIC",
        "THAI",
        "HANGUL",
        "KANA",
        "HAN",
        "MARK",
        "DEVANAGARI",
        "GEORGIAN",
    ]
)
_COMPATIBLE = {frozenset({"HAN", "KANA"}), frozenset({"HAN", "HANGUL"})}

# The letters beyond ASCII of the languages written in Latin (and Cyrillic) script that legacy
# code pages serve (ISO 8859-1..-16 and Windows-1250..-1258 coverage; alphabets as the
# languages' orthographies define them). A reading whose accented letters no single language
# uses together is garbled: Portuguese "não" read as Windows-1250 gives "năo", Turkish
# "bankası" read as Windows-1252 gives "bankasý" next to "deðiþtirmedi".
LATIN_ALPHABETS: dict[str, str] = {
    "Portuguese": "áâãàçéêíóôõú",
    "Spanish": "áéíñóúü",
    "French": "àâæçéèêëîïôœùûüÿ",
    "German": "äöüß",
    "Italian": "àèéìíîòóùú",
    "Catalan": "àçéèíïòóúü",
    "Dutch": "áéëïóöüè",
    "Danish/Norwegian": "æøåéó",
    "Swedish": "åäöé",
    "Finnish": "äöåšž",
    "Icelandic": "áðéíóúýþæö",
    "Irish/Welsh": "áéíóúâêîôûŵŷ",
    "Polish": "ąćęłńóśźż",
    "Czech": "áčďéěíňóřšťúůýž",
    "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Hungarian": "áéíóöőúüű",
    "Romanian": "ăâîșțşţ",
    "Croatian/Slovene/Bosnian": "čćđšž",
    "Turkish": "çğıöşüâîû",
    "Lithuanian": "ąčęėįšųūž",
    "Latvian": "āčēģīķļņšūž",
    "Estonian": "äõöüšž",
    "Maltese": "àċèġħìòùż",
    "Esperanto": "ĉĝĥĵŝŭ",
    "Albanian": "çë",
    # Cyrillic alphabets, so that a Windows-1251 text read as ISO 8859-5 ("Цшђелш") is caught.
    "Russian": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "Ukrainian": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "Belarusian": "абвгдеёжзійклмнопрстуўфхцчшыьэюя",
    "Bulgarian": "абвгдежзийклмнопрстуфхцчшщъьюя",
    "Serbian": "абвгдђежзијклљмнњопрстћуфхцчџш",
    "Macedonian": "абвгдѓежзѕијклљмнњопрстќуфхцчџш",
    "Kazakh": "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
}
_LATIN_ALPHABET_SETS = {name: frozenset(letters) for name, letters in LATIN_ALPHABETS.items()}


def _alphabet_anomalies(letters: Counter[str]) -> int:
    """Accented Latin letters (lower-cased, with counts) outside the one alphabet that covers most."""
    if not letters:
        return 0
    total = sum(letters.values())
    covered = max(
        sum(n for letter, n in letters.items() if letter in alphabet)
        for alphabet in _LATIN_ALPHABET_SETS.values()
    )
    return total - covered


@functools.cache
def _frequent_cjk() -> frozenset[str]:
    """The most frequent characters of Chinese, Japanese and Korean text (charset-normalizer's
    per-language frequency tables): real CJK text is full of them, a wrong reading rarely is."""
    from charset_normalizer.constant import FREQUENCIES

    return frozenset(
        ch
        for language in ("Chinese", "Japanese", "Japanese—", "Japanese——", "Korean")
        for ch in FREQUENCIES.get(language, [])
    )


def _score(text: str) -> tuple[int, int, int] | None:
    """(structural anomalies, letters outside the best-fitting alphabet, non-ASCII characters) of
    a reading, or None if it cannot be text at all
    (control, unassigned, private-use or surrogate code points). Gives up early, returning an
    anomaly count over the refusal threshold, once a reading is clearly garbled."""
    if not _is_clean(text):
        return None
    count = len(text) - len(text.encode("ascii", "ignore"))
    give_up = MAX_ANOMALY_RATIO * count + 8
    common = _common_cjk()
    anomalies = 0
    length = len(text)
    accented: Counter[str] = Counter()
    for match in _NON_ASCII.finditer(text):
        i = match.start()
        ch = match.group()
        previous = text[i - 1] if i else ""
        following = text[i + 1] if i + 1 < length else ""
        category = unicodedata.category(ch)
        if category in {"Cn", "Co", "Cs"}:
            return None
        script = _script(ch)
        if script in {"LATIN", "CYRILLIC"}:
            accented[ch.lower()] += 1
        elif category in {"Mn", "Mc"} and not _is_letter(previous):
            anomalies += 1  # a combining mark with nothing to combine with
        elif ch == "ς" and following.isalpha():
            anomalies += 1  # Greek final sigma inside a word
        if 0x2500 <= ord(ch) <= 0x259F:
            anomalies += 1  # box drawing and block elements: DOS graphics, not prose
        if script in {"HAN", "HANGUL", "KANA", "KATAKANA"}:
            if ch not in common:
                anomalies += 1
            if script == "HAN" and following == " " and i + 2 < length and _script(text[i + 2]) == "HAN":
                anomalies += 1  # Chinese and Japanese are not written with spaces between words
        elif script and script not in _EXPECTED_SCRIPTS:
            anomalies += 1
        elif script == "LATIN" and 0x0180 <= ord(ch) <= 0x02AF and ch not in "șțȘȚ":
            anomalies += 1  # Latin Extended-B and IPA: not in the alphabets of living languages
        if not script:
            if category in {"Sm", "So"} and ch not in "°©®" and (previous.isalpha() or following.isalpha()):
                anomalies += 1  # a mathematical or graphic symbol stuck to a word: ∆ители
            elif (
                category[0] in "SPNC"
                and category not in {"Pd", "Zs"}
                and ch not in _IN_WORD_PUNCTUATION
                and _is_letter(previous)
                and _is_letter(following)
                and _script(previous) not in {"HAN", "KANA", "HANGUL"}
            ):
                anomalies += 1  # a symbol inside a word: zauwa¿yli
        elif previous.isalpha():
            other = _script(previous)
            if (
                other
                and other != script
                and script != "MARK"
                and frozenset({script, other}) not in _COMPATIBLE
            ):
                anomalies += 1  # two unrelated scripts in one word
            elif category == "Lu" and unicodedata.category(previous) == "Ll":
                anomalies += 1  # upper case after lower case: MieszkaÒcy
        if anomalies > give_up:
            break
    return anomalies, _alphabet_anomalies(accented), count

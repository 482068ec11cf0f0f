"""Validate an uploaded image and make it fit what the model uses.

Checks, in order: size, real type by magic bytes, Pillow's view of the header (format and
dimensions, with the decompression-bomb guard), a full decode. Images whose long side is over
``max_side`` (Bedrock's models use about 1568 px) are downscaled before they are sent.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from chatbot_common.errors import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from chatbot_common.uploads import detect_type

# Converse image formats by Pillow format name. MPO (CIPA DC-007, what many Sony, Panasonic,
# Fujifilm and Canon cameras write) is a baseline JPEG followed by more frames: its first frame
# is sent, as a JPEG.
_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "GIF": "gif", "WEBP": "webp"}
# JPEG start-of-frame markers (ITU-T T.81, table B.1): all but DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 3_750_000
    max_pixels: int = 40_000_000
    max_side: int = 1568


@dataclass(frozen=True)
class PreparedImage:
    format: str  # png, jpeg, gif or webp (Converse names)
    data: bytes
    width: int
    height: int
    original_width: int
    original_height: int

    @property
    def resized(self) -> bool:
        return (self.width, self.height) != (self.original_width, self.original_height)

    def content_block(self) -> dict[str, object]:
        """The Converse image content block."""
        return {"image": {"format": self.format, "source": {"bytes": self.data}}}


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily (header only) with the decompression-bomb guard turned into an error."""
    # Pillow is imported on the first image, not with the app: a plain chat turn needs none of it.
    from PIL import Image, UnidentifiedImageError

    previous = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Pillow reads the global at open time; set it per call so the limit is ours.
            Image.MAX_IMAGE_PIXELS = max_pixels
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(
            f"The image has too many pixels (decompression bomb?); the limit is {max_pixels:,}"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnprocessableContent("The image could not be read (corrupt image)") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def prepare_image(data: bytes, limits: ImageLimits | None = None) -> PreparedImage:
    """Validate ``data`` as an image and return it as Converse wants it, downscaled if too large."""
    limits = limits or ImageLimits()
    if not data:
        raise UnprocessableContent("The image is empty")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"The image is {len(data):,} bytes; the limit is {limits.max_bytes:,}")
    detected = detect_type(data[:64])
    if detected is None or not detected.startswith("image/"):
        raise UnsupportedMediaType(f"The file content is {detected or 'unrecognised data'}, not an image")
    if detected == "image/jpeg":
        precision = jpeg_precision(data)
        if precision is not None and precision != 8:
            raise UnsupportedMediaType(
                f"Unsupported JPEG precision: {precision}-bit samples; save the image as an 8-bit JPEG or PNG"
            )
    image = _open(data, limits.max_pixels)
    fmt = _FORMATS.get(image.format or "")
    if fmt is None or f"image/{fmt}" != detected:
        raise UnsupportedMediaType(f"Unsupported image format {image.format}")
    if image.format == "MPO":
        data = _first_mpo_frame(data, image)
        image = _open(data, limits.max_pixels)
    width, height = image.size
    if width < 1 or height < 1:
        raise UnprocessableContent("The image has no pixels")
    if width * height > limits.max_pixels:
        raise PayloadTooLarge(
            f"The image is {width}x{height} pixels (decompression bomb?); the limit is {limits.max_pixels:,}"
        )
    try:
        image.verify()  # structure and checksums, without decoding pixel data
        image = _open(data, limits.max_pixels)  # verify() leaves the object unusable
        image.load()
    except PayloadTooLarge:
        raise
    except Exception as exc:
        raise UnprocessableContent("The image is corrupt (it failed to decode)") from exc
    if max(width, height) <= limits.max_side:
        return PreparedImage(fmt, data, width, height, width, height)
    return _downscale(image, fmt, limits)


def jpeg_precision(data: bytes) -> int | None:
    """The sample precision in bits from a JPEG's start-of-frame header (8 for baseline; 12 and
    16 exist in extended and lossless JPEG, which Bedrock's image decoders do not take), or None
    when no frame header comes before the scan data (ITU-T T.81, B.2.2)."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in {0xD9, 0xDA}:  # end of image, start of scan
            return None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length field
            i += 2
            continue
        if marker in _SOF_MARKERS:
            return data[i + 4] if i + 4 < len(data) else None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def _first_mpo_frame(data: bytes, image: Image.Image) -> bytes:
    """The first frame of an MPO file: the bytes its MP index gives the first image (the MP
    Primary Image starts at offset 0; CIPA DC-007, 5.2.3.3)."""
    try:
        size = int(image.mpinfo[0xB002][0]["Size"])  # type: ignore[attr-defined]
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        size = 0
    first = data[:size]
    if 0 < size <= len(data) and first.endswith(b"\xff\xd9"):
        return first
    image.seek(0)  # an index that does not add up: re-encode the first frame instead
    return _encode(image.convert("RGB"), "jpeg", {"quality": 95})


def _downscale(image: Image.Image, fmt: str, limits: ImageLimits) -> PreparedImage:
    original = image.size
    image.seek(0)  # animated GIF/WebP: the first frame stands for the image
    frame = image.copy()
    from PIL import Image

    frame.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    if fmt == "jpeg":
        out_fmt, save_args = "jpeg", {"quality": 88, "optimize": True}
        frame = frame.convert("RGB")
    elif fmt == "webp":
        out_fmt, save_args = "webp", {"quality": 88}
    else:  # png, and gif (a single downscaled frame is better kept lossless)
        out_fmt, save_args = "png", {"optimize": False}
        if frame.mode not in ("RGB", "RGBA", "L", "LA"):
            frame = frame.convert("RGBA")
    data = _encode(frame, out_fmt, save_args)
    if len(data) > limits.max_bytes:
        # A photo saved as PNG can exceed the limit even downscaled; JPEG always fits.
        out_fmt = "jpeg"
        data = _encode(frame.convert("RGB"), out_fmt, {"quality": 80, "optimize": True})
    return PreparedImage(out_fmt, data, frame.width, frame.height, original[0], original[1])


def _encode(image: Image.Image, fmt: str, args: Mapping[str, object]) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt.upper(), **args)
    return buf.getvalue()

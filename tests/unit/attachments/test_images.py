"""Image validation and preparation on real Pillow-made images, hostile ones included."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from chatbot_common.errors import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from lambda_chat.attachments.images import ImageLimits, prepare_image
from tests.fakes import sample_files as files


@pytest.mark.parametrize(
    ("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("WEBP", "webp")]
)
def test_small_images_pass_through_unchanged_as_converse_blocks(fmt: str, name: str) -> None:
    data = files.image_bytes(64, 48, fmt)
    prepared = prepare_image(data)
    assert (prepared.format, prepared.width, prepared.height, prepared.resized) == (name, 64, 48, False)
    assert prepared.data == data
    assert prepared.content_block() == {"image": {"format": name, "source": {"bytes": data}}}


def test_large_photo_is_downscaled_to_the_long_side_limit_keeping_aspect_and_format() -> None:
    prepared = prepare_image(files.noisy_jpeg(4000, 3000), ImageLimits(max_bytes=10_000_000))
    assert prepared.resized
    assert (prepared.width, prepared.height) == (1568, 1176)
    assert prepared.format == "jpeg"
    assert Image.open(io.BytesIO(prepared.data)).size == (1568, 1176)


def test_large_png_stays_png_when_downscaled() -> None:
    prepared = prepare_image(files.png_bytes(800, 3200), ImageLimits(max_side=1568))
    assert (prepared.format, prepared.width, prepared.height) == ("png", 392, 1568)


def test_decompression_bomb_is_refused_from_its_header_quickly() -> None:
    bomb = files.png_pixel_bomb()
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge, match="decompression bomb"):
        prepare_image(bomb)
    assert time.perf_counter() - started < 1


def test_pillow_global_limit_is_left_as_it_was() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(PayloadTooLarge):
        prepare_image(files.png_pixel_bomb(), ImageLimits(max_pixels=1000))
    assert before == Image.MAX_IMAGE_PIXELS


def test_image_just_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        prepare_image(files.png_bytes(200, 100), ImageLimits(max_pixels=10_000))


def test_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(PayloadTooLarge):
        prepare_image(files.png_bytes(100, 100), ImageLimits(max_bytes=50))


def test_truncated_png_is_corrupt() -> None:
    data = files.noisy_jpeg(300, 300)[:-3000]
    with pytest.raises(UnprocessableContent, match="corrupt"):
        prepare_image(data)


@pytest.mark.parametrize("data", [b"%PDF-1.7 not an image", b"hello world", b"BM\x00\x00 bitmap"])
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        prepare_image(data)


def test_empty_image_is_refused() -> None:
    with pytest.raises(UnprocessableContent, match="empty"):
        prepare_image(b"")

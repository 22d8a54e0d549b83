"""Input images against a provider's rules."""

import io

import pytest
from PIL import Image

from bot.i18n import Reason
from bot.images import ImageRejected, image_mime_type, prepare_image
from bot.jobs import JobKind
from bot.providers.base import Capabilities

CAPS = Capabilities(kinds=frozenset({JobKind.IMAGE}))


def encode(fmt: str, size=(640, 480), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "blue").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_jpeg_and_png_pass_unchanged(fmt, mime):
    data = encode(fmt)
    assert prepare_image(data, CAPS) == (data, mime)
    assert image_mime_type(data) == mime


def test_webp_is_converted_to_jpeg():
    data = encode("WEBP")
    assert image_mime_type(data) == "image/webp"
    converted, mime = prepare_image(data, CAPS)
    assert mime == "image/jpeg"
    assert Image.open(io.BytesIO(converted)).size == (640, 480)


def test_too_small_is_refused_with_sizes():
    with pytest.raises(ImageRejected, match=r"200x800 pixels; a video needs at least 300x300"):
        prepare_image(encode("PNG", (200, 800)), CAPS)


def test_too_large_is_refused():
    small_limit = Capabilities(kinds=frozenset({JobKind.IMAGE}), image_max_bytes=1000)
    with pytest.raises(ImageRejected, match="larger than"):
        prepare_image(encode("PNG", (600, 600), "RGB"), small_limit)


def test_not_an_image_is_refused():
    with pytest.raises(ImageRejected, match="can't read that file as an image"):
        prepare_image(b"%PDF-1.7 not a picture", CAPS)


def test_heic_sent_as_a_file_is_converted_to_jpeg():
    data = encode("HEIF")  # bot.images registered pillow-heif's opener and saver
    converted, mime = prepare_image(data, CAPS)
    assert mime == "image/jpeg"
    assert Image.open(io.BytesIO(converted)).size == (640, 480)


def test_rejections_name_their_message_for_translation():
    with pytest.raises(ImageRejected) as caught:
        prepare_image(encode("PNG", (200, 800)), CAPS)
    assert caught.value.key == "image_too_small"
    assert caught.value.fields == {"width": 200, "height": 800, "side": 300}
    assert caught.value.reason == Reason.of("image_too_small", width=200, height=800, side=300)

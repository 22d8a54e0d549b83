"""Input images against a provider's rules."""

import asyncio
import io
import threading

import pytest
from PIL import Image

from bot import images
from bot.i18n import Reason
from bot.images import ImageRejected, prepare_image
from bot.jobs import JobKind
from bot.providers.base import Capabilities
from tests.images import huge_png, huge_webp, record_decodes

CAPS = Capabilities(kinds=frozenset({JobKind.IMAGE}))


def encode(fmt: str, size=(640, 480), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "blue").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_jpeg_and_png_pass_unchanged(fmt, mime):
    data = encode(fmt)
    assert prepare_image(data, CAPS) == (data, mime)


def test_webp_is_converted_to_jpeg():
    data = encode("WEBP")
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


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, then ours
@pytest.mark.parametrize(
    "data",
    [huge_webp(6_400), huge_webp(13_000), huge_png(20_000)],
    ids=["webp-41MP", "webp-169MP", "png-400MP"],  # the last one trips Pillow's own guard
)
def test_images_over_the_pixel_cap_are_refused_from_the_header(monkeypatch, data):
    decodes = record_decodes(monkeypatch)
    with pytest.raises(ImageRejected, match="more than 40 megapixels") as caught:
        prepare_image(data, CAPS)
    assert (caught.value.key, caught.value.fields) == ("image_too_many_pixels", {"limit": 40})
    assert decodes == []


def test_a_png_under_the_pixel_cap_passes_without_being_decoded(monkeypatch):
    decodes = record_decodes(monkeypatch)
    data = huge_png(6_300)  # 39.7 megapixels
    assert prepare_image(data, CAPS) == (data, "image/png")
    assert decodes == []


async def test_conversions_run_at_most_concurrent_conversions_at_once(monkeypatch):
    lock, entered, release = threading.Lock(), threading.Semaphore(0), threading.Event()
    active = peak = 0

    def convert(data: bytes, caps: Capabilities) -> tuple[bytes, str]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        entered.release()
        release.wait()
        with lock:
            active -= 1
        return data, "image/jpeg"

    monkeypatch.setattr(images, "prepare_image", convert)
    work = [asyncio.create_task(images.prepare(b"%d" % i, CAPS)) for i in range(5)]
    for _ in range(2):  # two run together...
        assert await asyncio.to_thread(entered.acquire, timeout=10)
    release.set()
    results = await asyncio.gather(*work)
    assert [data for data, _ in results] == [b"%d" % i for i in range(5)]
    assert peak == images.CONCURRENT_CONVERSIONS == 2  # ...and never more

"""Input images: checked against a provider's rules before any upload, converted if needed.

Providers take JPEG or PNG of at least 300x300 pixels and at most 10 MB. A photo that breaks
a rule it cannot be adapted to is refused with words naming the rule; other formats Pillow
can read (WebP, HEIC as iPhones send it as a file, GIF, BMP, ...) are converted to JPEG, a
documented adaptation. `pillow-heif` teaches Pillow to read HEIC/HEIF. Both are imported with
the first image (`_pillow`), not at start: 9 MB and 30 ms a bot that is never sent a photo
does not pay (see bench/README.md).

Decompression bombs: a few KB of WebP or PNG can declare 13000x13000 pixels, gigabytes once
decoded. Pillow's `Image.open` reads only the header, so the pixel count is checked against
`MAX_PIXELS` before anything is decoded, and conversions run at most
`CONCURRENT_CONVERSIONS` at a time (`prepare`), so a burst of large images cannot add up.
"""

from __future__ import annotations

import asyncio
import functools
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.i18n import Messages, Reason
from bot.providers.base import MB, Capabilities

if TYPE_CHECKING:
    from PIL import Image

MAX_PIXELS = 40_000_000
"""Largest image taken, in pixels (e.g. 8000x5000): decoding one costs about 120 MB, and any
photo a phone takes in its usual mode fits. Anything larger is refused before decoding."""

CONCURRENT_CONVERSIONS = 2
"""Images checked or converted at once, in the whole process (one per core here)."""

TELEGRAM_DOWNLOAD_LIMIT = 20 * MB
"""Bots can download files of at most 20 MB from Telegram (getFile)."""

_CONVERSIONS = ThreadPoolExecutor(CONCURRENT_CONVERSIONS, thread_name_prefix="image")

_MIME_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class PreparedImage:
    """A request's image as it passed the checks: the exact bytes a provider gets."""

    file_id: str  # the Telegram file it came from
    data: bytes
    mime_type: str


class ImageRejected(ValueError):
    """The image cannot be used: `key` names the catalogue message, `fields` fill it in;
    `reason` is both, as the job's failure reason.

    `str()` is the English reason, for logs and for the job's stored error.
    """

    def __init__(self, key: str, **fields: Any) -> None:
        self.key = key
        self.fields = fields
        self.reason = Reason(key, fields)
        super().__init__(str(self.reason))

    def text(self, m: Messages) -> str:
        """The reason in the language of `m`."""
        return self.reason.text(m)


async def prepare(data: bytes, caps: Capabilities) -> tuple[bytes, str]:
    """`prepare_image` off the event loop, at most `CONCURRENT_CONVERSIONS` at once."""
    return await asyncio.get_running_loop().run_in_executor(_CONVERSIONS, prepare_image, data, caps)


@functools.cache
def _pillow() -> ModuleType:
    """`PIL.Image`, able to read HEIC/HEIF: imported once, with the first image."""
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return Image


def prepare_image(data: bytes, caps: Capabilities) -> tuple[bytes, str]:
    """The bytes and MIME type to send, or `ImageRejected` naming what to change.

    Blocking (it may decode and encode, and the first call imports Pillow): async code calls
    `prepare`.
    """
    pil = _pillow()
    try:
        with pil.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:  # read from the header: nothing decoded yet
                raise ImageRejected("image_too_many_pixels", limit=MAX_PIXELS // 1_000_000)
            mime = _MIME_BY_FORMAT.get(image.format or "", "application/octet-stream")
            if min(width, height) < caps.image_min_side:
                raise ImageRejected(
                    "image_too_small", width=width, height=height, side=caps.image_min_side
                )
            if mime not in caps.image_types:
                data, mime = _to_jpeg(image), "image/jpeg"
    except (pil.DecompressionBombError, pil.DecompressionBombWarning) as exc:
        # Pillow's own guard (over 179 MP; its warning too, where warnings are errors).
        raise ImageRejected("image_too_many_pixels", limit=MAX_PIXELS // 1_000_000) from exc
    except (pil.UnidentifiedImageError, OSError) as exc:
        raise ImageRejected("image_unreadable") from exc
    if len(data) > caps.image_max_bytes:
        raise ImageRejected("image_too_big", limit=caps.image_max_bytes // (1024 * 1024))
    return data, mime


def _to_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()

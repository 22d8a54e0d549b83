"""Input images: checked against a provider's rules before any upload, converted if needed.

Providers take JPEG or PNG of at least 300x300 pixels and at most 10 MB. A photo that breaks
a rule it cannot be adapted to is refused with words naming the rule; other formats Pillow
can read (WebP, GIF, BMP, ...) are converted to JPEG, a documented adaptation.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from bot.providers.base import Capabilities

_MIME_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class ImageRejected(ValueError):
    """The image cannot be used; `str()` is the reason for the user."""


def image_mime_type(data: bytes) -> str:
    """The image type from its first bytes (Telegram photos are JPEG; files may be anything)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def prepare_image(data: bytes, caps: Capabilities) -> tuple[bytes, str]:
    """The bytes and MIME type to send, or `ImageRejected` naming what to change."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            mime = _MIME_BY_FORMAT.get(image.format or "", "application/octet-stream")
            if min(width, height) < caps.image_min_side:
                side = caps.image_min_side
                raise ImageRejected(
                    f"the photo is {width}x{height} pixels; it needs at least {side}x{side}"
                )
            if mime not in caps.image_types:
                data, mime = _to_jpeg(image), "image/jpeg"
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageRejected("that file is not an image I can read (send a JPEG or PNG)") from exc
    if len(data) > caps.image_max_bytes:
        limit = caps.image_max_bytes // (1024 * 1024)
        raise ImageRejected(f"the image is larger than {limit} MB; send a smaller one")
    return data, mime


def _to_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()

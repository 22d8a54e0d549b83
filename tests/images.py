"""Image files for tests: decompression bombs that are tiny on disk, and big incompressible
files, all valid and made in milliseconds."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageFile, WebPImagePlugin


def huge_webp(side: int) -> bytes:
    """A valid black side x side lossless WebP of 34 bytes.

    libwebp (method 0) encodes a one-colour image with the same bitstream at any size, so a
    16x16 encoding with the size fields of its VP8L header rewritten is byte for byte what
    libwebp writes for side x side, without spending seconds and gigabytes encoding it.
    """
    buffer = io.BytesIO()
    Image.new("L", (16, 16)).save(buffer, format="WEBP", lossless=True, method=0)
    data = buffer.getvalue()
    assert data[12:16] == b"VP8L" and data[20] == 0x2F  # RIFF header, then the VP8L signature
    flags = struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1)  # alpha bit and version
    return data[:21] + struct.pack("<I", flags | (side - 1) | (side - 1) << 14) + data[25:]


def huge_png(side: int) -> bytes:
    """A valid black side x side PNG (1 bit per pixel, zlib-compressed to about a megabyte)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = bytes(1 + (side + 7) // 8)  # filter byte "none", then the packed pixels
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    pixels = zlib.compress(row * side, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def noise_png(min_bytes: int) -> bytes:
    """A real, incompressible PNG of at least `min_bytes`."""
    side = int((min_bytes / 3) ** 0.5) + 1
    pixels = random.Random(7).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="PNG", compress_level=0)
    assert len(buffer.getvalue()) >= min_bytes
    return buffer.getvalue()


def record_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every image decode in this process (the bot's and the fakes'): the class names
    of the images whose pixels were loaded, in order."""
    loaded: list[str] = []
    for cls in (Image.Image, ImageFile.ImageFile, WebPImagePlugin.WebPImageFile):
        original = cls.load

        def load(self, _original=original):
            loaded.append(type(self).__name__)
            return _original(self)

        monkeypatch.setattr(cls, "load", load)
    return loaded

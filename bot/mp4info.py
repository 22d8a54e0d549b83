"""Width, height and duration of an MP4, read from its `moov` box without decoding anything.

Telegram shows an uploaded video with the size and length the bot declares; without them a
clip may show as a square with no length until it is opened. The file comes from a provider's
link, so its bytes may be anything: a `moov` that cannot be read is reported as one error,
`DamagedVideo`, whatever went wrong in reading it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

_MAX_BOX = 64 * 1024 * 1024  # a moov larger than this is not one we want to read into memory


class DamagedVideo(ValueError):
    """The file has a `moov` box that does not hold together (truncated or corrupt)."""


@dataclass(frozen=True)
class VideoInfo:
    width: int | None = None
    height: int | None = None
    duration: int | None = None  # whole seconds, rounded


def read_info(handle: IO[bytes]) -> VideoInfo:
    """What the file's header says; empty when it has no `moov` we can find. Leaves the
    position. Raises `DamagedVideo` when its boxes cannot be read (a cut or corrupt `moov`)."""
    start = handle.tell()
    try:
        moov = _find_top_level(handle, b"moov")
        return _parse_moov(moov) if moov is not None else VideoInfo()
    except (DamagedVideo, OSError):  # OSError: reading the file failed, not its contents
        raise
    except Exception as exc:  # any slip in reading untrusted bytes means the same thing
        raise DamagedVideo(f"unreadable MP4 boxes ({type(exc).__name__})") from exc
    finally:
        handle.seek(start)


def _find_top_level(handle: IO[bytes], wanted: bytes) -> bytes | None:
    """The body of the first top-level box of kind `wanted`; None when there is none (or the
    boxes before it stop making sense: then the file is not one we can read)."""
    handle.seek(0)
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            large = handle.read(8)
            if len(large) < 8:
                return None
            size = struct.unpack(">Q", large)[0]
            header_size = 16
        elif size == 0:  # to the end of the file
            return handle.read(_MAX_BOX) if kind == wanted else None
        if size < header_size:
            return None
        if kind == wanted:
            if size > _MAX_BOX:
                return None
            body = handle.read(size - header_size)
            if len(body) < size - header_size:
                raise DamagedVideo("the moov box is cut short")
            return body
        handle.seek(size - header_size, 1)


def _boxes(payload: bytes) -> list[tuple[bytes, bytes]]:
    boxes, offset = [], 0
    while offset + 8 <= len(payload):
        size, kind = struct.unpack_from(">I4s", payload, offset)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", payload, offset + 8)[0]
            header = 16
        elif size == 0:
            size = len(payload) - offset
        if size < header:
            break
        boxes.append((kind, payload[offset + header : offset + size]))
        offset += size
    return boxes


def _parse_moov(moov: bytes) -> VideoInfo:
    duration = width = height = None
    for kind, body in _boxes(moov):
        if kind == b"mvhd":
            duration = _mvhd_seconds(body)
        elif kind == b"trak" and width is None:
            size = _track_size(body)
            if size is not None:
                width, height = size
    return VideoInfo(width=width, height=height, duration=duration)


def _mvhd_seconds(body: bytes) -> int | None:
    if body[0] == 1:
        timescale, length = struct.unpack_from(">IQ", body, 20)
    else:
        timescale, length = struct.unpack_from(">II", body, 12)
    return round(length / timescale) if timescale else None


def _track_size(trak: bytes) -> tuple[int, int] | None:
    """The size a video track declares in `tkhd` (audio tracks declare 0x0)."""
    for kind, body in _boxes(trak):
        if kind == b"tkhd":
            offset = 88 if body[0] == 1 else 76
            width, height = struct.unpack_from(">II", body, offset)
            if width and height:
                return width >> 16, height >> 16
    return None

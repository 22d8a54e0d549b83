"""Album collection (one hand-over per album, after a quiet spell) and reading MP4 headers."""

from __future__ import annotations

import asyncio
import io
from types import SimpleNamespace
from typing import Any

from bot.mp4info import VideoInfo, read_info
from bot.providers.sandbox import CLIP_PATH
from handlers.albums import AlbumCollector
from tests.fakes.media import SAMPLE_MP4


def part(message_id: int, group: str, chat_id: int = 1) -> Any:
    """Just what the collector reads of a Message."""
    return SimpleNamespace(
        message_id=message_id, media_group_id=group, chat=SimpleNamespace(id=chat_id)
    )


async def test_parts_of_an_album_are_handed_over_together_in_order():
    albums: list[list[int]] = []

    async def on_album(messages) -> None:
        albums.append([m.message_id for m in messages])

    collector = AlbumCollector(on_album, wait=0.01)
    collector.add(part(2, "g"))
    collector.add(part(1, "g"))
    collector.add(part(3, "h"))
    collector.add(part(4, "g", chat_id=2))
    await collector.wait_idle()
    assert sorted(albums) == [[1, 2], [3], [4]]


async def test_a_late_part_extends_the_wait():
    albums: list[list[int]] = []
    started = asyncio.Event()

    async def on_album(messages) -> None:
        albums.append([m.message_id for m in messages])

    collector = AlbumCollector(on_album, wait=0.5)
    collector.add(part(1, "g"))

    def late_part() -> None:
        collector.add(part(2, "g"))
        started.set()

    asyncio.get_running_loop().call_later(0.05, late_part)
    await started.wait()
    await collector.wait_idle()
    assert albums == [[1, 2]]


def test_mp4_header_gives_size_and_length():
    with CLIP_PATH.open("rb") as handle:
        handle.seek(5)
        assert read_info(handle) == VideoInfo(width=320, height=180, duration=2)
        assert handle.tell() == 5  # left where it was


def test_unreadable_mp4_gives_nothing():
    assert read_info(io.BytesIO(SAMPLE_MP4)) == VideoInfo()
    assert read_info(io.BytesIO(b"not a video")) == VideoInfo()
    assert read_info(io.BytesIO(b"")) == VideoInfo()

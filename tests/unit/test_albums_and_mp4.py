"""Album collection (one hand-over per album, after a quiet spell) and reading MP4 headers."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any

from telegram import Bot, Chat, Message

from bot.mp4info import VideoInfo, read_info
from bot.providers.sandbox import CLIP_PATH
from handlers.albums import AlbumCollector
from tests.fakes.media import SAMPLE_MP4

BOT = Bot("123456:album-test-token")


def part(message_id: int, group: str, chat_id: int = 1) -> Message:
    return Message(
        message_id,
        datetime.now(UTC),
        Chat(chat_id, Chat.PRIVATE),
        media_group_id=group,
        caption=f"part {message_id}",
    )


def collector_into(albums: list[list[int]], store: Any, wait: float) -> AlbumCollector:
    async def on_album(messages: list[Message]) -> None:
        albums.append([m.message_id for m in messages])

    return AlbumCollector(on_album, store, BOT, wait=wait)


async def test_parts_of_an_album_are_handed_over_together_in_order(store):
    albums: list[list[int]] = []
    collector = collector_into(albums, store, 0.01)
    for message in (part(2, "g"), part(1, "g"), part(3, "h"), part(4, "g", chat_id=2)):
        await collector.add(message)
    await collector.wait_idle()
    assert sorted(albums) == [[1, 2], [3], [4]]


async def test_a_late_part_extends_the_wait(store):
    albums: list[list[int]] = []
    collector = collector_into(albums, store, 0.5)
    await collector.add(part(1, "g"))
    await asyncio.sleep(0.05)  # the second photo a moment after the first
    await collector.add(part(2, "g"))
    await collector.wait_idle()
    assert albums == [[1, 2]]


async def test_an_album_split_between_replicas_is_handed_over_once(store):
    """Each replica has its own collector; the parts and the hand-over are in the store."""
    albums: list[list[int]] = []
    replicas = [collector_into(albums, store, 0.05) for _ in range(3)]
    for n, replica in enumerate(replicas):
        await replica.add(part(10 + n, "split"))
    await asyncio.gather(*(replica.wait_idle() for replica in replicas))
    assert albums == [[10, 11, 12]]


async def test_a_part_after_the_hand_over_makes_no_second_request(store):
    albums: list[list[int]] = []
    collector = collector_into(albums, store, 0.01)
    await collector.add(part(1, "g"))
    await collector.wait_idle()
    await collector.add(part(2, "g"))
    await collector.wait_idle()
    assert albums == [[1]]


async def test_a_handed_over_album_keeps_what_the_handler_reads(store):
    seen: list[Message] = []

    async def on_album(messages: list[Message]) -> None:
        seen.extend(messages)

    collector = AlbumCollector(on_album, store, BOT, wait=0.01)
    await collector.add(part(7, "g", chat_id=-100))
    await collector.wait_idle()
    (message,) = seen
    assert (message.chat.id, message.caption, message.media_group_id) == (-100, "part 7", "g")
    assert message.get_bot() is BOT


def test_mp4_header_gives_size_and_length():
    with CLIP_PATH.open("rb") as handle:
        handle.seek(5)
        assert read_info(handle) == VideoInfo(width=320, height=180, duration=2)
        assert handle.tell() == 5  # left where it was


def test_unreadable_mp4_gives_nothing():
    assert read_info(io.BytesIO(SAMPLE_MP4)) == VideoInfo()
    assert read_info(io.BytesIO(b"not a video")) == VideoInfo()
    assert read_info(io.BytesIO(b"")) == VideoInfo()

"""Albums: Telegram sends each photo of an album as its own message with a shared
`media_group_id`, and nothing marks the last one. The collector waits until no new part has
arrived for `wait` seconds, then hands the whole album over at once: one request, never one
job per photo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Message

ALBUM_WAIT = 1.0
"""Seconds of quiet after which an album is complete. Telegram delivers the parts of an album
within a fraction of a second of each other; tests pass a small value to `register`."""

Spawn = Callable[[Coroutine[Any, Any, None]], object]


@dataclass
class _Album:
    messages: list[Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # another part came
    done: asyncio.Event = field(default_factory=asyncio.Event)


class AlbumCollector:
    """Collects album parts per chat and `media_group_id`; calls `on_album` once per album."""

    def __init__(
        self,
        on_album: Callable[[list[Message]], Awaitable[None]],
        *,
        wait: float = ALBUM_WAIT,
        spawn: Spawn | None = None,
    ) -> None:
        self._on_album = on_album
        self._wait = wait
        self._spawn: Spawn = spawn or asyncio.ensure_future
        self._albums: dict[tuple[int, str], _Album] = {}

    def add(self, message: Message) -> None:
        """Take one part; the first part of an album starts its timer, later ones extend it."""
        assert message.media_group_id is not None
        key = (message.chat.id, message.media_group_id)
        album = self._albums.get(key)
        if album is None:
            album = self._albums[key] = _Album()
            self._spawn(self._complete_later(key, album))
        album.messages.append(message)
        album.arrived.set()

    async def wait_idle(self) -> None:
        """Until every album collected so far has been handed over."""
        for album in list(self._albums.values()):
            await album.done.wait()

    async def _complete_later(self, key: tuple[int, str], album: _Album) -> None:
        try:
            while True:  # until a whole `wait` passes without a new part
                album.arrived.clear()
                try:
                    await asyncio.wait_for(album.arrived.wait(), self._wait)
                except TimeoutError:
                    break
            del self._albums[key]
            await self._on_album(sorted(album.messages, key=lambda m: m.message_id))
        finally:
            album.done.set()

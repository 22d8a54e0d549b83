"""Albums: Telegram sends each photo of an album as its own message with a shared
`media_group_id`, and nothing marks the last one. The parts are collected in the store, so
that parts reaching different replicas still make one album; once no new part has arrived for
`wait` seconds, whichever replica asks first takes the whole album (the store hands it over
exactly once) and makes one request, never one job per photo.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from telegram import Bot, Message

ALBUM_WAIT = 1.0
"""Seconds of quiet after which an album is complete. Telegram delivers the parts of an album
within a fraction of a second of each other; tests pass a small value to `register`."""

MAX_FAILURES = 60  # store errors (about a second apart) before an album is given up

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], object]


class AlbumStore(Protocol):
    """The part of the job store that keeps album parts (see `JobStore`)."""

    async def add_album_part(
        self, chat_id: int, media_group_id: str, message_id: int, message: str
    ) -> bool: ...

    async def take_album(
        self, chat_id: int, media_group_id: str, quiet: float
    ) -> list[str] | float | None: ...


class AlbumCollector:
    """Collects album parts per chat and `media_group_id`; `on_album` runs once per album,
    on one replica."""

    def __init__(
        self,
        on_album: Callable[[list[Message]], Awaitable[None]],
        store: AlbumStore,
        bot: Bot,
        *,
        wait: float = ALBUM_WAIT,
        spawn: Spawn | None = None,
    ) -> None:
        self._on_album = on_album
        self._store = store
        self._bot = bot
        self._wait = wait
        self._spawn: Spawn = spawn or asyncio.ensure_future
        self._waiting: dict[tuple[int, str], asyncio.Event] = {}  # albums this replica watches

    async def add(self, message: Message) -> None:
        """Keep one part in the store; the first part this replica sees starts its watch."""
        assert message.media_group_id is not None
        key = (message.chat.id, message.media_group_id)
        fresh = await self._store.add_album_part(
            key[0], key[1], message.message_id, json.dumps(message.to_dict())
        )
        if fresh and key not in self._waiting:
            self._waiting[key] = asyncio.Event()
            self._spawn(self._complete_later(key))

    async def wait_idle(self) -> None:
        """Until every album this replica watches has been handed over (here or elsewhere)."""
        for done in list(self._waiting.values()):
            await done.wait()

    async def _complete_later(self, key: tuple[int, str]) -> None:
        try:
            left: float = self._wait
            failures = 0
            while True:  # until a whole `wait` passes without a new part, on any replica
                await asyncio.sleep(left)
                try:
                    outcome = await self._store.take_album(key[0], key[1], self._wait)
                except Exception:  # the database is away: the parts wait there for its return
                    failures += 1
                    if failures > MAX_FAILURES:
                        raise
                    log.warning("album %s: the store did not answer; asking again", key[1])
                    left = max(self._wait, 1.0)
                    continue
                if outcome is None:  # another replica took it
                    return
                if isinstance(outcome, float):
                    left = max(outcome, 0.01)
                    continue
                parts = [Message.de_json(json.loads(text), self._bot) for text in outcome]
                await self._on_album([part for part in parts if part is not None])
                return
        finally:
            self._waiting.pop(key).set()

"""What the bot does while the database is away: `StoreWatch` notices an outage once, says so
once, and lets the work that needs the database wait for its return instead of failing over and
over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from bot.store.protocol import Pings

log = logging.getLogger(__name__)


class StoreWatch:
    """Whether the database answers, as one view shared by the poll loop, the background
    work and the update handlers: an outage is logged once when it starts and once when it
    ends, and work that needs the database awaits `back()` instead of failing in a loop."""

    def __init__(self, store: Pings, *, interval: float = 1.0) -> None:
        self._store = store
        self._interval = interval
        self._up = asyncio.Event()
        self._up.set()
        self._watcher: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Task[None]] = set()

    @property
    def down(self) -> bool:
        return not self._up.is_set()

    async def failed(self) -> bool:
        """Called after an error: whether the database is down (then watched until back)."""
        if self.down:
            return True
        if await self._store.ping():
            return False
        if not self.down:  # another caller may have noticed first while we pinged
            self._up.clear()
            log.warning("database unreachable: work that needs it waits until it answers")
            self._watcher = asyncio.create_task(self._watch(time.monotonic()))
        return True

    async def back(self) -> None:
        """Return once the database answers again (at once if it is up)."""
        await self._up.wait()

    def after_outage(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` once the database answers again (dropped if the bot stops first)."""

        async def later() -> None:
            await self.back()
            await work

        task = asyncio.create_task(later())
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)
        task.add_done_callback(lambda _: work.close())  # never run: no "never awaited"

    async def _watch(self, since: float) -> None:
        while not await self._store.ping():  # noqa: ASYNC110 - polling the database itself
            await asyncio.sleep(self._interval)
        self._up.set()
        log.warning("database answers again after %.0f s; resuming", time.monotonic() - since)

    async def aclose(self) -> None:
        tasks = [*self._waiting, *([self._watcher] if self._watcher is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

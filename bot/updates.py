"""How updates are processed: side by side across chats, one after another within a chat.

python-telegram-bot handles updates one at a time by default, and a handler awaits its paced
replies (one message a second per chat, see `bot.pacing`), so one user sending a dozen
messages used to hold up everybody else's answers. Here every chat (and every job, for
provider callbacks) has its own lane: a lane runs its updates in the order they came, lanes
run concurrently, and at most `max_concurrent_updates` lanes run at once.

A lane's backlog waits in the lane, not in PTB's concurrency slots: an update for a busy lane
is handed to the lane's runner and its slot freed at once, so one flooding chat takes one slot
however much it sends, and never stalls the others. A lane is forgotten when it runs dry, so
memory follows the chats with updates in progress.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.jobs import ProviderCallback

log = logging.getLogger(__name__)

#: Lanes (chats, mostly) processed at once; the rest wait for a free slot.
MAX_CONCURRENT_LANES = 64


def lane_of(update: object) -> Hashable:
    """Which updates must keep their order: a chat's, a job's callbacks; else none."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        return ("update", update.update_id)
    if isinstance(update, ProviderCallback):
        return ("job", update.job_id)
    return ("object", id(update))


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs each lane's updates in order and different lanes concurrently (see module)."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_LANES) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[Hashable, deque[Awaitable[Any]]] = {}

    @property
    def active_lanes(self) -> int:
        """Lanes with an update in progress (for tests and memory checks)."""
        return len(self._lanes)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = lane_of(update)
        backlog = self._lanes.get(key)
        if backlog is not None:  # the lane is running: its runner takes this one in turn
            backlog.append(coroutine)
            return
        backlog = self._lanes[key] = deque([coroutine])
        try:
            while backlog:
                try:
                    await backlog[0]
                except Exception:  # PTB's process_update reports handler errors itself
                    log.exception("update processing failed")
                finally:
                    backlog.popleft()
        finally:
            del self._lanes[key]
            for left in backlog:  # only when cancelled (shutdown): do not leave them unawaited
                close = getattr(left, "close", None)
                if close is not None:
                    close()

    async def initialize(self) -> None:
        """Nothing to set up: lanes are made on demand."""

    async def shutdown(self) -> None:
        """Nothing to release: `Application.stop` has awaited every running lane."""

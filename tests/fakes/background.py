"""A `Background` a test can wait on: `idle()` returns once every task spawned so far (and
any spawned meanwhile) has ended, through the `done` hook production code already has, so a
test awaits the work finishing rather than a number of loop turns."""

from __future__ import annotations

from collections.abc import Callable

from bot.background import Background, Work
from bot.store import StoreWatch
from tests.fakes.recording import Signal

WAIT = 10.0
"""How long a test waits for background work before failing (instead of hanging)."""


class WatchedBackground(Background):
    """Counts the tasks still running and wakes `idle()` as each one ends."""

    def __init__(self, watch: StoreWatch | None = None) -> None:
        super().__init__(watch)
        self.running = 0
        self.ended = 0
        self._changed = Signal()

    def spawn(
        self,
        job_id: int,
        work: Work,
        *,
        again: Callable[[int], None] | None = None,
        done: Callable[[], None] | None = None,
    ) -> None:
        self.running += 1

        def ended() -> None:
            if done is not None:
                done()
            self.running -= 1
            self.ended += 1
            self._changed.notify()

        super().spawn(job_id, work, again=again, done=ended)

    async def idle(self, timeout: float = WAIT) -> None:  # noqa: ASYNC109 - a test deadline
        """Until no spawned task is running; AssertionError after `timeout` seconds."""
        await self._changed.until(
            lambda: True if self.running == 0 else None,
            timeout,
            lambda: f"background work to finish ({self.running} running)",
        )

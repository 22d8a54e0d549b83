"""Work a job does in the background: submits, deliveries, status edits, failure notices.

Everything runs as tasks in one set, so shutdown waits for all of it (and cancels what is left
after its grace). A database outage ends a task with one log line instead of a traceback, and
work worth repeating starts again once the database answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable
from typing import Any

from bot.store import StoreWatch

log = logging.getLogger(__name__)

Work = Coroutine[Any, Any, None]


class Background:
    def __init__(self, watch: StoreWatch | None = None) -> None:
        """`watch`: tells a database outage from a bug when background work fails."""
        self._watch = watch
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(
        self,
        job_id: int,
        work: Work,
        *,
        again: Callable[[int], None] | None = None,
        done: Callable[[], None] | None = None,
    ) -> None:
        """Run `work` for a job in the background. `again` starts the same work anew after a
        database outage interrupted it (None: work not worth repeating, such as a status
        edit); `done` is called once the task has ended, however it ended."""
        task = asyncio.create_task(self._guarded(job_id, work, again))
        self._tasks.add(task)

        def finished(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if done is not None:
                done()
            work.close()  # a no-op once run; if cancelled before it started, no warning

        task.add_done_callback(finished)

    async def aclose(self, grace: float) -> None:
        """Wait for the work in flight up to `grace` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _guarded(self, job_id: int, work: Work, again: Callable[[int], None] | None) -> None:
        try:
            await work
        except Exception:
            if self._watch is not None and await self._watch.failed():
                log.info("job %s: interrupted by the database outage", job_id)
                if again is not None:
                    self._watch.after_outage(_call(again, job_id))
            else:
                log.exception("job %s: background work failed", job_id)


class JobQueue:
    """One kind of background work (submitting, delivering): at most one run per job at a
    time, at most `slots` runs at once; a burst waits here rather than piling up on the
    providers' and Telegram's connection pools, where every queued request costs CPU.

    With `per_lane`, at most that many runs of one lane (a chat) hold slots at once: a chat
    whose messages wait for their turn at Telegram's limits (a group past its 20 a minute)
    then waits here with the rest of its work, not in slots the other chats' videos need."""

    def __init__(
        self,
        background: Background,
        work: Callable[[int], Work],
        *,
        slots: int,
        per_lane: int | None = None,
    ) -> None:
        self._background = background
        self._work = work
        self._slots = asyncio.Semaphore(slots)
        self._per_lane = per_lane
        self._lanes: dict[Hashable, tuple[asyncio.Semaphore, int]] = {}  # (slots, users)
        self._running: set[int] = set()

    def start(self, job_id: int, lane: Hashable = None) -> None:
        """Run the work for this job, unless it is already queued or running."""
        if job_id in self._running:
            return
        self._running.add(job_id)
        self._background.spawn(
            job_id,
            self._in_slot(self._work(job_id), lane),
            again=lambda again_id: self.start(again_id, lane),
            done=lambda: self._running.discard(job_id),
        )

    async def _in_slot(self, work: Work, lane: Hashable) -> None:
        """Run `work` once its lane's and a general slot are free; the job's lease is only
        claimed inside them, so waiting for a slot can never outlast a lease."""
        try:
            async with self._lane(lane), self._slots:
                await work
        finally:
            work.close()  # a no-op once run; if cancelled while waiting, no "never awaited"

    @contextlib.asynccontextmanager
    async def _lane(self, lane: Hashable) -> AsyncIterator[None]:
        """One of the lane's slots (none to take without `per_lane` or a lane); a lane's
        semaphore lives while some run of it waits or runs."""
        if self._per_lane is None or lane is None:
            yield
            return
        slots, users = self._lanes.get(lane, (asyncio.Semaphore(self._per_lane), 0))
        self._lanes[lane] = (slots, users + 1)
        try:
            async with slots:
                yield
        finally:
            slots, users = self._lanes[lane]
            if users == 1:
                del self._lanes[lane]
            else:
                self._lanes[lane] = (slots, users - 1)


@contextlib.asynccontextmanager
async def alongside(work: Work) -> AsyncIterator[None]:
    """Run `work` (a loop that renews or shows something) while the block runs; stop it when
    the block ends, however it ends."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _call(function: Callable[[int], None], job_id: int) -> None:
    function(job_id)

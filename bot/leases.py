"""This replica's leases on job rows: replicas sharing a database split the work on jobs
(submitting, delivering) instead of repeating it. See README, "Running several replicas"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.background import alongside
from bot.jobs import Job
from bot.store import JobStore, StoreWatch

log = logging.getLogger(__name__)


class Leases:
    def __init__(
        self,
        store: JobStore,
        *,
        owner: str,
        seconds: float,
        watch: StoreWatch | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`owner`: this replica's id in the rows; `seconds`: a lease lapses unless renewed
        within this. `watch`: tells a database outage from a bug when releasing fails.
        `sleep`: waits between two renewals (a seam for tests, which drive it themselves)."""
        self.owner = owner
        self.seconds = seconds
        self._store = store
        self._watch = watch
        self._sleep = sleep

    async def claim(self, job_id: int) -> Job | None:
        """Lease the job to this replica (renewing its own lease); None if another holds it."""
        return await self._store.claim_job(job_id, self.owner, self.seconds)

    async def release(self, job_id: int) -> None:
        """Give the job's lease up: the next step (a retry, a poll) may go to any replica."""
        await self._store.release_job(job_id, self.owner)

    @contextlib.asynccontextmanager
    async def kept(self, job_id: int) -> AsyncIterator[None]:
        """Renew the job's lease every third of its length while the block runs: an upload or
        a submit with retries can outlast one lease."""

        async def renew() -> None:
            while True:
                await self._sleep(self.seconds / 3)
                try:
                    if await self.claim(job_id) is None:
                        log.warning("job %s: lease lost (finished or taken over)", job_id)
                        return
                except Exception:
                    log.exception("job %s: renewing the lease failed; trying again", job_id)

        async with alongside(renew()):
            yield

    async def release_all(self) -> None:
        """Hand every lease of this replica to the others (or to the next start) at once."""
        try:
            await self._store.release_leases(self.owner)
        except Exception:
            if self._watch is not None and await self._watch.failed():
                log.warning("database unreachable: this replica's leases lapse on their own")
            else:
                log.exception("could not release this replica's leases; they lapse on their own")

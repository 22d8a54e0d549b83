"""One loop that polls every unfinished job, in batches per provider.

A single scheduler over the store rather than a task or timer per job: ten thousand jobs in
flight cost one query and a few batched provider calls per cycle. Poll errors never fail a
job by themselves; only the job timeout does.

With several replicas on one database, each cycle claims its jobs: it renews the leases it
holds and takes jobs whose lease lapsed (new ones, or a dead replica's), so a job is polled
by one replica at a time and a dead replica's jobs pass to the others within a lease.

Each cycle also reconciles jobs whose submit went unanswered: providers that can find a task
by our id (`FindsTasks`) are asked; a job still unconfirmed after `reconcile_timeout` fails.
The loop also clears what expires: `/media/` links past their time, and photo and settings
questions nobody answered within `QUESTION_LIFETIME`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Protocol

from bot.jobs import Job
from bot.metrics import Metrics
from bot.providers.base import FindsTasks, ProviderError, TaskUpdate, VideoProvider, error_kind
from bot.store import JobStore, StoreWatch

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # jobs claimed and polled at a time; a multiple of every provider's batch
PURGE_INTERVAL = 600.0  # seconds between two purges of expired rows (the first cycle purges)
QUESTION_LIFETIME = 86400.0  # seconds a "what should happen?" or settings question is kept


class Lifecycle(Protocol):
    """What the tracker tells about jobs (`bot.lifecycle.JobLifecycle` acts on it)."""

    async def apply_update(self, job_id: int, update: TaskUpdate) -> None: ...
    async def adopt(self, job: Job, update: TaskUpdate) -> None: ...
    async def give_up_reconciling(self, job: Job) -> None: ...
    async def expire(self, job: Job) -> None: ...
    async def resume(self, now: float, *, startup: bool = False) -> None: ...


class Tracker:
    def __init__(
        self,
        *,
        store: JobStore,
        lifecycle: Lifecycle,
        providers: Mapping[str, VideoProvider],
        metrics: Metrics,
        interval: float,
        job_timeout: float,
        callback_interval: float | None = None,
        replica_id: str,
        lease_seconds: float,
        reconcile_timeout: float = 600.0,
        watch: StoreWatch | None = None,
        page_size: int = PAGE_SIZE,
        purge_interval: float = PURGE_INTERVAL,
        question_lifetime: float = QUESTION_LIFETIME,
    ) -> None:
        """`callback_interval`: in webhook mode, how often to poll providers that call back.

        Their callbacks deliver videos; the slower poll is the safety net for a lost one.
        `replica_id` and `lease_seconds`: the lease each cycle takes on the jobs it polls; it
        must outlast `interval`, or the lease would lapse between two cycles.
        `reconcile_timeout`: how long a job whose submit went unanswered is looked for.
        `watch`: during a database outage the loop waits for the database, logging once.
        `page_size`: jobs claimed and polled at a time (tests page through a few).
        `purge_interval` and `question_lifetime`: see `_purge`.
        """
        self._page_size = page_size
        self._purge_interval = purge_interval
        self._question_lifetime = question_lifetime
        self._reconcile_timeout = reconcile_timeout
        self._watch = watch
        self._replica_id = replica_id
        self._lease_seconds = lease_seconds
        self._metrics = metrics
        self._callback_interval = callback_interval
        self._last_polled: dict[str, float] = {}
        self._store = store
        self._lifecycle = lifecycle
        self._providers = providers
        self._interval = interval
        self._job_timeout = job_timeout
        self._wake = asyncio.Event()
        self._cycles = 0
        self._last_purge: float | None = None

    async def run(self) -> None:
        """Poll forever (until cancelled), one cycle every `interval` seconds.

        The first cycle after a start also resumes interrupted work (see `JobLifecycle.resume`).
        """
        first = True
        while True:
            try:
                await self.cycle(startup=first)
                first = False
            except Exception:
                if self._watch is not None and await self._watch.failed():
                    await self._watch.back()  # the watch logs the outage's start and end
                    continue  # catch up at once: jobs may have finished meanwhile
                log.exception("poll cycle failed; trying again next cycle")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)

    def wake(self) -> None:
        """Start the next cycle now (e.g. right after a restart or a new job)."""
        self._wake.set()

    async def cycle(self, *, startup: bool = False) -> None:
        now = time.time()
        self._cycles += 1
        # Every provider's schedule advances each cycle, jobs or not, so a job created just
        # after a callback provider's poll waits for its callback, not for the next cycle.
        due_now = {name for name in self._providers if self._due(name)}
        # Cancelled jobs whose provider never said it stopped: no longer polled or counted.
        await self._store.expire_stopping(now - self._job_timeout)
        after_id = 0
        while True:  # a page at a time: memory stays flat however many jobs are in flight
            page = await self._store.claim_jobs_to_poll(
                self._replica_id, self._lease_seconds, after_id=after_id, limit=self._page_size
            )
            await self._poll_page(page, now, due_now)
            if len(page) < self._page_size:
                break
            after_id = page[-1].id
        await self._reconcile(now)
        await self._lifecycle.resume(now, startup=startup)
        await self._purge(now)

    async def _purge(self, now: float) -> None:
        """Delete expired media links, and questions older than `question_lifetime`, every
        `purge_interval` seconds."""
        moment = time.monotonic()
        if self._last_purge is not None and moment - self._last_purge < self._purge_interval:
            return
        self._last_purge = moment
        removed = await self._store.purge_expired(
            now, questions_before=now - self._question_lifetime
        )
        if removed:
            log.info("purged %d expired media links and unanswered questions", removed)

    async def _reconcile(self, now: float) -> None:
        """Find the task of each job whose submit went unanswered, under the job's lease."""
        jobs = await self._store.claim_jobs_to_reconcile(self._replica_id, self._lease_seconds)
        await asyncio.gather(*(self._reconcile_one(job, now) for job in jobs))

    async def _reconcile_one(self, job: Job, now: float) -> None:
        provider = self._providers.get(job.provider)
        found = None
        if isinstance(provider, FindsTasks):
            try:
                found = await provider.find_task(job.id, job.kind)
            except ProviderError as exc:
                self._metrics.poll_errors.labels(provider=job.provider, kind=error_kind(exc)).inc()
                log.warning(
                    "job %s: looking it up at %s failed: %s", job.id, job.provider, exc.message
                )
        if found is not None:
            await self._lifecycle.adopt(job, found)
        elif now - (job.reconcile_since or now) >= self._reconcile_timeout:
            await self._lifecycle.give_up_reconciling(job)

    async def _poll_page(self, jobs: list[Job], now: float, due_now: set[str]) -> None:
        by_provider: dict[str, list[Job]] = defaultdict(list)
        for job in jobs:
            age = now - job.created_at
            if age > self._job_timeout:
                await self._lifecycle.expire(job)
            elif job.provider in due_now and (self._cycles + job.id) % poll_stride(age) == 0:
                by_provider[job.provider].append(job)  # old jobs: spread over the cycles
        await asyncio.gather(*(self._poll(name, batch) for name, batch in by_provider.items()))

    def _due(self, provider_name: str) -> bool:
        """Whether to poll this provider in this cycle."""
        provider = self._providers.get(provider_name)
        if (
            self._callback_interval is None
            or provider is None
            or not provider.capabilities.callbacks
        ):
            return True
        now = time.monotonic()
        last = self._last_polled.get(provider_name)
        if last is not None and now - last < self._callback_interval:
            return False
        self._last_polled[provider_name] = now
        return True

    async def _poll(self, provider_name: str, jobs: list[Job]) -> None:
        provider = self._providers.get(provider_name)
        if provider is None:
            log.warning(
                "%d jobs wait on provider %r, which is not configured", len(jobs), provider_name
            )
            return
        by_task = {job.provider_task_id: job for job in jobs if job.provider_task_id}
        try:
            updates = await provider.poll(list(by_task))
        except ProviderError as exc:
            self._metrics.poll_errors.labels(provider=provider_name, kind=error_kind(exc)).inc()
            log.warning("polling %s failed (%d jobs): %s", provider_name, len(by_task), exc.message)
            return
        for task_id, update in updates.items():
            job = by_task.get(task_id)
            if job is not None and _news(job, update):
                await self._lifecycle.apply_update(job.id, update)


def _news(job: Job, update: TaskUpdate) -> bool:
    """Whether the report says anything the job does not already show: most polls of a
    long job say "still running at the same percentage", and skipping them spares the store."""
    return update.state is not job.state or (
        update.progress is not None and update.progress != job.progress
    )


def poll_stride(age: float) -> int:
    """Poll a job every `stride` cycles: each cycle while young, then less often, since a
    video that has taken ten minutes is rarely done in the next few seconds."""
    if age < 120:
        return 1
    if age < 600:
        return 2
    return 4

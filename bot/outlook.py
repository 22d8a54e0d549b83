"""What the status message can honestly say about the wait: how long this provider usually
takes with this model (the median of its recent delivered videos), and, where several of the
user's videos are in progress, which of them this one is.

Medians are kept for a minute per provider and model, so a burst of status edits costs one
query (too few videos to tell are asked again each time, a query of at most `SCANNED` rows);
the place in line is read each time (it changes as the user's other videos finish).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.jobs import Job
from bot.providers.base import Capabilities
from bot.store import OutlookStore

SAMPLE = 20  # the newest matching videos a median is taken over
MIN_SAMPLE = 3  # fewer than this and the bot does not claim to know what is usual
SCANNED = 200  # the newest delivered jobs of the provider looked through for the model
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Outlook:
    """`usual`: median seconds from request to video (None: too few to say); `place` and
    `waiting`: this job's place among the user's unfinished jobs, oldest first (only when
    more than one waits)."""

    usual: float | None = None
    place: int | None = None
    waiting: int | None = None


class Outlooks:
    def __init__(
        self,
        store: OutlookStore,
        capabilities: Mapping[str, Capabilities],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._capabilities = dict(capabilities)
        self._clock = clock
        self._medians: dict[tuple[str, str | None], tuple[float, float]] = {}

    async def of(self, job: Job) -> Outlook:
        """The outlook of a job still being made; an empty one once it is finished."""
        if not job.is_generating:
            return Outlook()
        usual = await self._usual(job.provider, self._model(job.provider, job.params.get("model")))
        mine = sorted(j.id for j in await self._store.open_jobs(job.requester.user_id))
        if len(mine) > 1 and job.id in mine:
            return Outlook(usual, mine.index(job.id) + 1, len(mine))
        return Outlook(usual)

    async def _usual(self, provider: str, model: str | None) -> float | None:
        key = (provider, model)
        cached = self._medians.get(key)
        now = self._clock()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        rows = await self._store.delivered_durations(provider, SCANNED)
        seconds = [s for m, s in rows if self._model(provider, m) == model and s >= 0][:SAMPLE]
        if len(seconds) < MIN_SAMPLE:
            return None  # not kept: the next few deliveries change it (a bounded query)
        median = statistics.median(seconds)
        self._medians[key] = (now, median)
        return median

    def _model(self, provider: str, model: object) -> str | None:
        """The model a job ran on: its own, or its provider's default."""
        if isinstance(model, str) and model:
            return model
        caps = self._capabilities.get(provider)
        return caps.default_model if caps is not None else None

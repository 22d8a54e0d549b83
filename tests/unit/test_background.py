"""Background work for jobs: one run per job at a time, bounded slots, a bounded shutdown, and
work cut off by a database outage started again once the database answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import cast

from bot.background import JobQueue, alongside
from bot.store import JobStore, StoreWatch
from tests.fakes.background import WAIT, WatchedBackground
from tests.fakes.recording import Signal


class Gate:
    """Work that records each run and waits until let through; `until` waits for a state of
    its records (a run started, finished), re-checked as each one changes."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.peak = 0  # the most runs in flight at once
        self.open = asyncio.Event()
        self._changed = Signal()

    async def work(self, job_id: int) -> None:
        self.started.append(job_id)
        self.peak = max(self.peak, len(self.started) - len(self.finished))
        self._changed.notify()
        await self.open.wait()
        self.finished.append(job_id)
        self._changed.notify()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        await self._changed.until(lambda: True if condition() else None, WAIT, what)


class PingStore:
    """The one thing a `StoreWatch` asks of a store: whether the database answers."""

    def __init__(self) -> None:
        self.up = True

    async def ping(self) -> bool:
        return self.up


async def test_a_job_runs_once_however_often_it_is_started():
    background, gate = WatchedBackground(), Gate()
    queue = JobQueue(background, gate.work, slots=4)
    queue.start(1)
    queue.start(1)
    await gate.until(lambda: bool(gate.started), "the run to start")
    queue.start(1)  # still running
    gate.open.set()
    await background.idle()
    assert gate.started == [1] and gate.finished == [1]
    assert background.ended == 1
    queue.start(1)  # finished: a new start runs again
    await background.idle()
    assert gate.finished == [1, 1]


async def test_slots_bound_the_runs_in_flight():
    background, gate = WatchedBackground(), Gate()
    queue = JobQueue(background, gate.work, slots=2)
    for job_id in (1, 2, 3):
        queue.start(job_id)
    await gate.until(lambda: len(gate.started) >= 2, "two runs to start")
    assert background.running == 3  # the third is spawned, and waits for a slot
    gate.open.set()
    await background.idle()
    assert gate.started == [1, 2, 3] and sorted(gate.finished) == [1, 2, 3]
    assert gate.peak == 2  # never more than the slots at once


async def test_one_lane_holds_at_most_its_share_of_the_slots():
    """A chat with many videos waiting (a group past its 20 a minute) takes at most its
    lane's slots, so another chat's video starts beside them instead of behind them."""
    background, gate = WatchedBackground(), Gate()
    queue = JobQueue(background, gate.work, slots=3, per_lane=2)
    for job_id in (1, 2, 3, 4):
        queue.start(job_id, "busy group")
    queue.start(5, "quiet chat")
    await gate.until(lambda: len(gate.started) >= 3, "three runs to start")
    assert sorted(gate.started) == [1, 2, 5]  # the group's third and fourth wait their lane
    gate.open.set()
    await background.idle()
    assert sorted(gate.finished) == [1, 2, 3, 4, 5] and gate.peak == 3
    assert queue._lanes == {}  # a lane is forgotten once nothing of it waits or runs


async def test_shutdown_waits_for_the_grace_then_cancels_the_rest():
    background, gate = WatchedBackground(), Gate()
    background.spawn(1, gate.work(1))
    background.spawn(2, gate.work(2))
    await gate.until(lambda: len(gate.started) == 2, "both runs to start")
    await background.aclose(grace=0.01)
    assert gate.started == [1, 2] and gate.finished == []
    assert background.running == 0  # cancelled, not left behind


async def test_work_cut_off_by_an_outage_starts_again_once_the_database_answers():
    store = PingStore()
    watch = StoreWatch(cast(JobStore, store), interval=0.01)
    background = WatchedBackground(watch)
    runs: list[int] = []
    ran = Signal()

    async def needs_the_database(job_id: int) -> None:
        runs.append(job_id)
        ran.notify()
        if not store.up:
            raise ConnectionError("database gone")

    queue = JobQueue(background, needs_the_database, slots=1)
    store.up = False
    queue.start(7)
    await background.idle()  # the run failed and the outage was noticed
    assert runs == [7] and watch.down
    store.up = True
    await watch.back()
    await ran.until(lambda: True if len(runs) == 2 else None, WAIT, "the run to start again")
    await background.idle()
    assert runs == [7, 7] and not watch.down
    await watch.aclose()


async def test_a_failure_that_is_no_outage_is_logged_and_not_repeated(caplog):
    watch = StoreWatch(cast(JobStore, PingStore()))
    background = WatchedBackground(watch)
    runs: list[int] = []

    async def buggy(job_id: int) -> None:
        runs.append(job_id)
        raise ValueError("a bug")

    JobQueue(background, buggy, slots=1).start(3)
    await background.idle()
    await background.aclose(grace=1)
    assert runs == [3]
    assert "job 3: background work failed" in caplog.text


async def test_work_alongside_a_block_stops_with_it_even_when_it_fails():
    ticks: list[int] = []
    ticked = Signal()
    stopped = asyncio.Event()

    async def tick() -> None:
        try:
            while True:
                ticks.append(len(ticks))
                ticked.notify()
                await asyncio.sleep(0)  # the work itself: a loop that keeps going
        except asyncio.CancelledError:
            stopped.set()
            raise

    with contextlib.suppress(RuntimeError):
        async with alongside(tick()):
            await ticked.until(lambda: True if ticks else None, WAIT, "the work to tick")
            raise RuntimeError("the block failed")
    assert stopped.is_set()  # cancelled and awaited before the block's exception goes on

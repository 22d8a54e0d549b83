"""Background work for jobs: one run per job at a time, bounded slots, a bounded shutdown, and
work cut off by a database outage started again once the database answers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

from bot.background import Background, JobQueue, alongside
from bot.store import JobStore, StoreWatch
from tests.fakes.offline_request import settle


class Gate:
    """Work that records each run and waits until let through."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.open = asyncio.Event()

    async def work(self, job_id: int) -> None:
        self.started.append(job_id)
        await self.open.wait()
        self.finished.append(job_id)


class PingStore:
    """The one thing a `StoreWatch` asks of a store: whether the database answers."""

    def __init__(self) -> None:
        self.up = True

    async def ping(self) -> bool:
        return self.up


async def test_a_job_runs_once_however_often_it_is_started():
    gate = Gate()
    queue = JobQueue(Background(), gate.work, slots=4)
    queue.start(1)
    queue.start(1)
    await settle()
    queue.start(1)  # still running
    gate.open.set()
    await settle()
    assert gate.started == [1] and gate.finished == [1]
    queue.start(1)  # finished: a new start runs again
    await settle()
    assert gate.finished == [1, 1]


async def test_slots_bound_the_runs_in_flight():
    gate = Gate()
    queue = JobQueue(Background(), gate.work, slots=2)
    for job_id in (1, 2, 3):
        queue.start(job_id)
    await settle()
    assert gate.started == [1, 2]  # the third waits for a slot
    gate.open.set()
    await settle()
    assert sorted(gate.finished) == [1, 2, 3]


async def test_shutdown_waits_for_the_grace_then_cancels_the_rest():
    background, gate = Background(), Gate()
    background.spawn(1, gate.work(1))
    background.spawn(2, gate.work(2))
    await settle()
    await background.aclose(grace=0.01)
    assert gate.started == [1, 2] and gate.finished == []


async def test_work_cut_off_by_an_outage_starts_again_once_the_database_answers():
    store = PingStore()
    watch = StoreWatch(cast(JobStore, store), interval=0.01)
    background = Background(watch)
    runs: list[int] = []

    async def needs_the_database(job_id: int) -> None:
        runs.append(job_id)
        if not store.up:
            raise ConnectionError("database gone")

    queue = JobQueue(background, needs_the_database, slots=1)
    store.up = False
    queue.start(7)
    await settle()
    assert runs == [7] and watch.down
    store.up = True
    await watch.back()
    await settle()
    assert runs == [7, 7]
    await watch.aclose()


async def test_a_failure_that_is_no_outage_is_logged_and_not_repeated(caplog):
    watch = StoreWatch(cast(JobStore, PingStore()))
    background = Background(watch)
    runs: list[int] = []

    async def buggy(job_id: int) -> None:
        runs.append(job_id)
        raise ValueError("a bug")

    JobQueue(background, buggy, slots=1).start(3)
    await settle()
    await background.aclose(grace=1)
    assert runs == [3]
    assert "job 3: background work failed" in caplog.text


async def test_work_alongside_a_block_stops_with_it_even_when_it_fails():
    ticks: list[int] = []

    async def tick() -> None:
        while True:
            ticks.append(len(ticks))
            await asyncio.sleep(0)

    with contextlib.suppress(RuntimeError):
        async with alongside(tick()):
            await settle()
            raise RuntimeError("the block failed")
    seen = len(ticks)
    await settle()
    assert seen > 0 and len(ticks) == seen

"""The poll loop's batching and schedule, counted (never timed) against a real SQLite store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from bot.jobs import JobKind, JobState, NewJob, Requester
from bot.metrics import Metrics
from bot.providers.base import Capabilities, TaskUpdate, Unavailable
from bot.store import SqliteStore
from bot.tracker import Tracker, poll_stride


class CountingProvider:
    """Answers every poll with "running at 50%" and remembers which tasks it was asked about."""

    capabilities = Capabilities(kinds=frozenset({JobKind.TEXT}))

    def __init__(self) -> None:
        self.polls: list[list[str]] = []

    async def poll(self, task_ids: Sequence[str]) -> dict[str, TaskUpdate]:
        self.polls.append(list(task_ids))
        return {t: TaskUpdate(t, JobState.RUNNING, progress=50) for t in task_ids}


class RecordingLifecycle:
    """The tracker's view of the job lifecycle (`tracker.Lifecycle`): it only reports to it."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.updates: list[tuple[int, TaskUpdate]] = []
        self.given_up: list[int] = []

    async def apply_update(self, job_id: int, update: TaskUpdate) -> None:
        self.updates.append((job_id, update))
        await self.store.transition(job_id, update.state, progress=update.progress)

    async def expire(self, job: Any) -> None:
        raise AssertionError("no job is that old here")

    async def resume(self, now: float, *, startup: bool = False) -> None:
        pass

    async def adopt(self, job: Any, update: TaskUpdate) -> None:
        self.updates.append((job.id, update))
        await self.store.adopt_task(job.id, job.provider, update.task_id)

    async def give_up_reconciling(self, job: Any) -> None:
        self.given_up.append(job.id)
        await self.store.transition(job.id, JobState.FAILED)


async def make_jobs(store: SqliteStore, count: int, age: float = 0.0) -> None:
    for n in range(count):
        job = await store.create_job(
            NewJob(Requester(n + 1, n + 1, 1), JobKind.TEXT, "fox", "counting")
        )
        await store.record_submission(job.id, "counting", f"task-{job.id}")
        if age:
            await store._db.execute(  # a test ages its rows
                "UPDATE jobs SET created_at = created_at - ? WHERE id = ?", age, job.id
            )


def tracker(
    store: SqliteStore, provider: CountingProvider, lifecycle: RecordingLifecycle, **options: Any
) -> Tracker:
    return Tracker(
        store=store,
        lifecycle=lifecycle,
        providers={"counting": cast(Any, provider)},
        metrics=Metrics(),
        interval=1.0,
        job_timeout=7200.0,
        replica_id="test",
        lease_seconds=60.0,
        **options,
    )


class FindingProvider(CountingProvider):
    """Finds tasks by job id (`FindsTasks`) from a script: an update, None, or an error."""

    def __init__(self, answers: list[object]) -> None:
        super().__init__()
        self.answers = answers
        self.asked: list[int] = []

    async def find_task(self, job_id: int, kind: JobKind) -> TaskUpdate | None:
        self.asked.append(job_id)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return cast(TaskUpdate | None, answer)


async def unconfirmed_job(store: SqliteStore, provider: str = "counting") -> int:
    job = await store.create_job(NewJob(Requester(1, 1, 1), JobKind.TEXT, "fox", provider))
    await store.mark_submit_started(job.id, provider, "secret")
    await store.mark_unconfirmed(job.id)
    return job.id


async def test_reconciliation_asks_until_found_then_tracks_the_task(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    found = TaskUpdate("task-9", JobState.RUNNING, progress=10)
    provider = FindingProvider([None, Unavailable("down"), found])
    lifecycle = RecordingLifecycle(store)
    job_id = await unconfirmed_job(store)
    loop = tracker(store, provider, lifecycle)
    for _ in range(4):
        await loop.cycle()
    assert provider.asked == [job_id] * 3  # not found, an error, found: then no more asking
    assert lifecycle.updates[0] == (job_id, found) and lifecycle.given_up == []
    assert provider.polls == [["task-9"]]  # the adopted task is polled like any other
    await store.close()


async def test_reconciliation_gives_up_after_the_timeout_or_without_a_way(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    provider, lifecycle = FindingProvider([None, None]), RecordingLifecycle(store)
    looked_up = await unconfirmed_job(store)
    no_way = await unconfirmed_job(store, provider="gone")  # no longer configured
    await tracker(store, provider, lifecycle, reconcile_timeout=3600).cycle()
    assert lifecycle.given_up == []  # still within the timeout
    await tracker(store, provider, lifecycle, reconcile_timeout=0).cycle()
    assert provider.asked == [looked_up, looked_up] and lifecycle.given_up == [looked_up, no_way]
    await store.close()


async def test_every_young_job_is_polled_each_cycle_and_reported_once(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    provider, lifecycle = CountingProvider(), RecordingLifecycle(store)
    await make_jobs(store, 30)
    loop = tracker(store, provider, lifecycle)
    for _ in range(3):
        await loop.cycle()
    assert [len(batch) for batch in provider.polls] == [30, 30, 30]
    # The first report moved each job to running at 50%; the same news again is not passed on.
    assert len(lifecycle.updates) == 30
    await store.close()


async def test_old_jobs_are_polled_less_often_and_spread_over_cycles(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    provider, lifecycle = CountingProvider(), RecordingLifecycle(store)
    await make_jobs(store, 40, age=3600)  # running for an hour: every 4th cycle
    loop = tracker(store, provider, lifecycle)
    for _ in range(8):
        await loop.cycle()
    polled = [task for batch in provider.polls for task in batch]
    assert len(polled) == 40 * 8 // 4
    assert {polled.count(task) for task in set(polled)} == {2}  # each job twice in 8 cycles
    assert max(len(batch) for batch in provider.polls) == 10  # a quarter per cycle, not 40 at once
    await store.close()


def test_poll_stride_grows_with_age():
    assert [poll_stride(age) for age in (0, 119, 120, 599, 600, 86400)] == [1, 1, 2, 2, 4, 4]


async def test_a_cycle_pages_through_the_jobs(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    provider, lifecycle = CountingProvider(), RecordingLifecycle(store)
    await make_jobs(store, 25)
    await tracker(store, provider, lifecycle, page_size=10).cycle()
    assert [len(batch) for batch in provider.polls] == [10, 10, 5]
    assert len({task for batch in provider.polls for task in batch}) == 25
    await store.close()

"""Allowlists, bans and per-user limits, against a real SQLite store and a fake clock."""

from bot.access import DAY, AccessPolicy, Gatekeeper
from bot.i18n import Reason
from bot.jobs import JobKind, JobState, NewJob, Requester


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def add_job(store, user_id=1):
    return await store.create_job(
        NewJob(Requester(user_id, user_id, 1), JobKind.TEXT, "fox", "sandbox")
    )


async def test_allowlists_and_bans(store):
    gate = Gatekeeper(
        store, AccessPolicy(allowed_user_ids=frozenset({1, 2}), admin_user_ids=frozenset({9}))
    )
    assert await gate.may_use(1, 1)
    assert not await gate.may_use(3, 3)
    assert await gate.may_use(9, 9)  # admins always
    await store.ban(2, banned_by=9)
    assert not await gate.may_use(2, 2)
    assert await store.unban(2)
    assert await gate.may_use(2, 2)
    chats = Gatekeeper(store, AccessPolicy(allowed_chat_ids=frozenset({-100})))
    assert await chats.may_use(5, -100) and not await chats.may_use(5, 5)


async def test_active_job_limit(store):
    clock = Clock(1_000_000.0)
    gate = Gatekeeper(store, AccessPolicy(max_active_jobs=2, cooldown=0), clock)
    jobs = [await add_job(store) for _ in range(2)]
    refusal = await gate.refuse_new_job(1)
    assert refusal is not None and "2 videos in progress" in refusal
    await store.transition(jobs[0].id, JobState.FAILED, error=Reason.of("unavailable"))
    assert await gate.refuse_new_job(1) is None
    assert await gate.refuse_new_job(2) is None  # other users unaffected


async def test_daily_limit_says_when_to_come_back(store):
    clock = Clock(0.0)
    gate = Gatekeeper(store, AccessPolicy(daily_jobs=2, max_active_jobs=99, cooldown=0), clock)
    for _ in range(2):
        job = await add_job(store)
        await store.transition(job.id, JobState.FAILED, error=Reason.of("unavailable"))
    times = await store.job_times_since(1, 0)
    clock.now = times[0] + DAY - 3 * 3600  # the oldest job leaves the window in 3 hours
    refusal = await gate.refuse_new_job(1)
    assert refusal is not None and "daily limit" in refusal and "3 h 0 min" in refusal
    clock.now = times[0] + DAY + 1
    assert await gate.refuse_new_job(1) is None


async def test_cooldown_and_admin_exemption(store):
    clock = Clock(500.0)
    gate = Gatekeeper(store, AccessPolicy(cooldown=5, admin_user_ids=frozenset({7})), clock)
    assert await gate.refuse_new_job(1) is None
    clock.now += 2
    assert await gate.refuse_new_job(1) == "Please wait 3 s before asking for the next video."
    clock.now += 3
    assert await gate.refuse_new_job(1) is None
    for _ in range(5):
        assert await gate.refuse_new_job(7) is None


async def test_stats_group_by_day_provider_state(store):
    await add_job(store)
    job = await add_job(store)
    await store.transition(job.id, JobState.FAILED, error=Reason.of("unavailable"))
    rows = await store.job_stats(since=0)
    assert sorted((provider, state, count) for _, provider, state, count in rows) == [
        ("sandbox", "failed", 1),
        ("sandbox", "queued", 1),
    ]

"""Allowlists, bans and per-user limits, against a real SQLite store and a fake clock."""

import asyncio

from bot.access import DAY, REPEAT_QUIET, AccessPolicy, Gatekeeper, Refusal, RepeatGuard
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
    assert refusal is not None and "2 videos in progress" in refusal.text and refusal.answer
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
    assert refusal is not None and "daily limit" in refusal.text and "3 h 0 min" in refusal.text
    clock.now = times[0] + DAY + 1
    assert await gate.refuse_new_job(1) is None


async def test_cooldown_and_admin_exemption(store):
    clock = Clock(500.0)
    gate = Gatekeeper(store, AccessPolicy(cooldown=5, admin_user_ids=frozenset({7})), clock)
    assert await gate.refuse_new_job(1) is None
    clock.now += 2
    assert await gate.refuse_new_job(1) == Refusal(
        "Please wait 3 s before asking for the next video.", answer=True
    )
    clock.now += 3
    assert await gate.refuse_new_job(1) is None
    for _ in range(5):
        assert await gate.refuse_new_job(7) is None


async def test_a_cooldown_flood_is_answered_once_per_cooldown(store):
    clock = Clock(500.0)
    gate = Gatekeeper(store, AccessPolicy(cooldown=5), clock)
    assert await gate.refuse_new_job(1) is None
    answered = []
    for _ in range(4):
        clock.now += 0.5
        refusal = await gate.refuse_new_job(1)
        assert refusal is not None
        answered.append(refusal.answer)
    assert answered == [True, False, False, False]
    clock.now = 505.0  # the cooldown is over: the next request goes through
    assert await gate.refuse_new_job(1) is None
    clock.now += 1  # a new cooldown, a new answer
    refusal = await gate.refuse_new_job(1)
    assert refusal is not None and refusal.answer


async def test_a_limit_refusal_is_answered_once_a_while_and_starts_no_cooldown(store):
    clock = Clock(1_000_000.0)
    gate = Gatekeeper(store, AccessPolicy(max_active_jobs=1, cooldown=5), clock)
    await add_job(store)
    first, second = await gate.refuse_new_job(1), await gate.refuse_new_job(1)
    assert first is not None and first.answer and "1 videos in progress" in first.text
    assert second is not None and not second.answer and second.text == first.text
    clock.now += REPEAT_QUIET
    again = await gate.refuse_new_job(1)
    assert again is not None and again.answer


async def test_concurrent_requests_of_one_user_pass_the_cooldown_once(store):
    gate = Gatekeeper(store, AccessPolicy(cooldown=5), Clock(500.0))
    refusals = await asyncio.gather(*(gate.refuse_new_job(1) for _ in range(3)))
    assert sum(refusal is None for refusal in refusals) == 1


async def test_repeat_guard_answers_each_user_and_kind_once_a_while(store):
    clock = Clock(1000.0)
    guard = RepeatGuard(store, clock)
    assert await guard.first(1, "hint") and not await guard.first(1, "hint")
    assert await guard.first(1, "not_allowed")  # another kind of answer
    assert await guard.first(2, "hint")  # another user
    clock.now = 1000.0 + REPEAT_QUIET - 0.1
    assert not await guard.first(1, "hint")
    clock.now = 1000.0 + REPEAT_QUIET
    assert await guard.first(1, "hint")
    assert await guard.first(3, "cooldown", quiet=2)
    assert not await guard.first(3, "cooldown", quiet=2)
    clock.now += 2
    assert await guard.first(3, "cooldown", quiet=2)


async def test_replicas_answer_a_flood_once_between_them(store):
    """Each replica has its own guard; the quiet times they share are in the store."""
    clock = Clock(1000.0)
    guards = [RepeatGuard(store, clock) for _ in range(3)]
    answers = await asyncio.gather(*(guard.first(1, "hint") for guard in guards * 3))
    assert sum(answers) == 1


async def test_the_cooldown_holds_across_replicas(store):
    """Three replicas (three gatekeepers on one store) get the same user's request at once:
    one passes, the others are told to wait."""
    clock = Clock(500.0)
    gates = [Gatekeeper(store, AccessPolicy(cooldown=5), clock) for _ in range(3)]
    refusals = await asyncio.gather(*(gate.refuse_new_job(1) for gate in gates))
    assert sum(refusal is None for refusal in refusals) == 1
    assert sum(refusal is not None and refusal.answer for refusal in refusals) == 1
    clock.now += 5
    assert await gates[1].refuse_new_job(1) is None


async def test_quiet_times_are_forgotten_once_over(store):
    clock = Clock(1000.0)
    await RepeatGuard(store, clock).first(1, "hint", quiet=5)
    await store.purge_expired(1004.0, questions_before=0)
    assert not await RepeatGuard(store, clock).first(1, "hint", quiet=5)
    await store.purge_expired(1006.0, questions_before=0)
    clock.now = 1001.0  # still in the old quiet time, but its row is gone
    assert await RepeatGuard(store, clock).first(1, "hint", quiet=5)


async def test_stats_group_by_day_provider_state(store):
    await add_job(store)
    job = await add_job(store)
    await store.transition(job.id, JobState.FAILED, error=Reason.of("unavailable"))
    rows = await store.job_stats(since=0)
    assert sorted((provider, state, count) for _, provider, state, count in rows) == [
        ("sandbox", "failed", 1),
        ("sandbox", "queued", 1),
    ]

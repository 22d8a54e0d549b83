"""Pacing shared by replicas (`bot.pacing`, `PostgresStore.reserve_send`): each replica's share
of the overall limit, the chat and group turns reserved in the database, and what happens
when the database does not answer."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence

from bot.pacing import CHAT_MARGIN, Limits, PacingRateLimiter
from bot.store import PostgresStore
from tests.stores import postgres_schema
from tests.unit.test_pacing import Clock, Recorder, call


class Budget:
    """A shared budget double: records each reservation and answer."""

    def __init__(self, wait: float = 0.0, *, failing: bool = False) -> None:
        self.wait = wait
        self.failing = failing
        self.reserved: list[list[tuple[str, float]]] = []
        self.answered: list[tuple[str, float, float]] = []
        self.reserving = asyncio.Event()  # a message has asked for its shared moment

    async def reserve_send(
        self, spacings: Sequence[tuple[str, float]]
    ) -> tuple[float, dict[str, float]]:
        if self.failing:
            raise OSError("database unreachable")
        self.reserved.append(list(spacings))
        self.reserving.set()
        return self.wait, {key: 100.0 + spacing for key, spacing in spacings}

    async def sent(self, key: str, spacing: float, reserved: float) -> None:
        self.answered.append((key, spacing, reserved))


def test_each_replica_takes_its_share_of_the_overall_limit() -> None:
    limiter = PacingRateLimiter(Limits(), clock=Clock())
    limiter.set_replicas(3)
    assert limiter.schedule.limits.overall_limit == 10
    limiter.set_replicas(4)
    assert limiter.schedule.limits.overall_limit == 7  # 28 together: never above 30
    limiter.set_replicas(1)
    assert limiter.schedule.limits.overall_limit == 30
    limiter.set_replicas(0)  # not yet counted: never more than the whole limit
    assert limiter.schedule.limits.overall_limit == 30


async def test_a_message_reserves_its_chat_and_group_turn_and_hands_the_chat_back() -> None:
    limits = Limits(chat_interval=1.0)
    limiter, recorder, budget = PacingRateLimiter(limits, clock=Clock()), Recorder(), Budget()
    limiter.share(budget)
    await call(limiter, recorder, "private", "sendMessage", 5)
    await call(limiter, recorder, "group", "sendMessage", -100)
    await call(limiter, recorder, "action", "sendChatAction", 5)  # not a message
    held = 2 * CHAT_MARGIN
    assert budget.reserved == [
        [("chat:5", held)],
        [("chat:-100", held), ("group:-100", 3.0)],
    ]
    assert budget.answered == [
        ("chat:5", CHAT_MARGIN, 100.0 + held),
        ("chat:-100", CHAT_MARGIN, 100.0 + held),
    ]
    assert recorder.finished == ["private", "group", "action"]


async def test_a_message_waits_for_its_reserved_moment() -> None:
    limiter, recorder = PacingRateLimiter(Limits(), clock=Clock()), Recorder()
    budget = Budget(wait=0.2)
    limiter.share(budget)
    task = call(limiter, recorder, "later", "sendMessage", 5)
    async with asyncio.timeout(10):
        await budget.reserving.wait()  # answered "wait 0.2 s": the limiter goes on from here
    assert recorder.started == []  # its turn in this replica came; the shared one has not
    await task
    assert recorder.finished == ["later"]


async def test_without_the_database_messages_go_on_this_replicas_pacing(caplog) -> None:
    limiter, recorder = PacingRateLimiter(Limits(), clock=Clock()), Recorder()
    budget = Budget(failing=True)
    limiter.share(budget)
    with caplog.at_level(logging.WARNING, logger="bot.pacing"):
        for n in range(3):
            await call(limiter, recorder, f"m{n}", "sendMessage", 10 + n)
        budget.failing = False
        await call(limiter, recorder, "back", "sendMessage", 20)
    assert recorder.finished == ["m0", "m1", "m2", "back"]
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2 and "unavailable" in said[0] and "available again" in said[1]
    assert budget.answered == [("chat:20", CHAT_MARGIN, 100.0 + 2 * CHAT_MARGIN)]


async def test_replicas_reserving_one_chat_get_moments_a_spacing_apart():
    """PostgreSQL: five replicas reserve the same chat at once; each gets its own moment,
    one spacing after the other. An answer hands the chat back early, unless another
    reservation came after it."""
    async with postgres_schema() as (url, schema):
        stores = [await PostgresStore.open(url, schema=schema) for _ in range(5)]
        try:
            answers = await asyncio.gather(
                *(store.reserve_send([("chat:1", 1.0), ("group:1", 3.0)]) for store in stores)
            )
            waits = sorted(wait for wait, _ in answers)
            gaps = [later - earlier for earlier, later in itertools.pairwise(waits)]
            assert all(gap > 2.9 for gap in gaps), waits  # the group's 3 s is the longer
            last = max(reserved["chat:1"] for _, reserved in answers)
            first = min(reserved["chat:1"] for _, reserved in answers)
            await stores[0].sent("chat:1", 1.0, first)  # superseded: changes nothing
            wait, _ = await stores[0].reserve_send([("chat:1", 1.0)])
            assert wait > 11.5  # after the five: 4 x 3 s of group turns, then its 1 s
            _, again = await stores[1].reserve_send([("chat:2", 30.0)])
            await stores[1].sent("chat:2", 0.5, again["chat:2"])  # answered: handed back
            wait, _ = await stores[1].reserve_send([("chat:2", 30.0)])
            assert wait < 1.0
            assert last > first
        finally:
            for store in stores:
                await store.close()

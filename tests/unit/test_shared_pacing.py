"""Pacing shared by replicas (`bot.pacing`, `PostgresStore.reserve_send`): each replica's share
of the overall limit, the chat and group turns reserved in the database, and what happens
when the database does not answer."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Sequence

from bot.pacing import CHAT_MARGIN, SHARED_WAIT_HELD, Limits, PacingRateLimiter
from bot.store import PostgresStore
from tests.fakes.recording import Signal
from tests.stores import postgres_schema
from tests.unit.test_pacing import Clock, Recorder, call


class Budget:
    """A shared budget double: records each reservation, hold and answer."""

    def __init__(
        self, wait: float = 0.0, *, overall_wait: float = 0.0, failing: bool = False
    ) -> None:
        self.wait = wait  # until the chat's moment
        self.overall_wait = overall_wait  # and from there until the overall one
        self.failing = failing
        self.reserved: list[list[tuple[str, float]]] = []
        self.windows: list[list[tuple[str, int, float]]] = []
        self.held: list[tuple[str, float, float]] = []
        self.answered: list[tuple[str, float, float]] = []
        self.reserving = asyncio.Event()  # a message has asked for its shared moment
        self.holding = Signal()  # a message in flight has renewed its hold

    async def reserve_send(
        self,
        spacings: Sequence[tuple[str, float]],
        *,
        windows: Sequence[tuple[str, int, float]] = (),
        overall: tuple[str, float] | None = None,
        within: float = math.inf,
    ) -> tuple[float, dict[str, float]]:
        if self.failing:
            raise OSError("database unreachable")
        self.reserved.append(list(spacings))
        self.windows.append(list(windows))
        self.reserving.set()
        if self.wait > within:
            return self.wait, {}
        tats = {key: 100.0 + spacing for key, spacing in spacings} | {w[0]: 100.0 for w in windows}
        if overall is not None:
            tats[overall[0]] = 100.0 + overall[1]
        return self.wait + self.overall_wait, tats

    async def hold(self, key: str, spacing: float, reserved: float) -> float | None:
        self.held.append((key, spacing, reserved))
        self.holding.notify()
        return reserved + 1.0

    async def sent(self, key: str, spacing: float, reserved: float) -> None:
        self.answered.append((key, spacing, reserved))


def test_each_replica_takes_its_share_of_the_overall_limit_without_a_shared_budget() -> None:
    limiter = PacingRateLimiter(Limits(), clock=Clock())
    limiter.set_replicas(3)
    assert limiter.schedule.limits.overall_limit == 10
    limiter.set_replicas(4)
    assert limiter.schedule.limits.overall_limit == 7  # 28 together: never above 30
    limiter.set_replicas(1)
    assert limiter.schedule.limits.overall_limit == 30
    limiter.set_replicas(0)  # not yet counted: never more than the whole limit
    assert limiter.schedule.limits.overall_limit == 30


async def test_the_shared_budget_keeps_replicas_under_the_limit_until_it_fails() -> None:
    """With the shared budget answering, a replica may use the whole overall limit (the
    budget spaces all of them together); while it does not answer, only its 1/n share."""
    limiter, recorder = PacingRateLimiter(Limits(), clock=Clock()), Recorder()
    budget = Budget()
    limiter.share(budget)
    limiter.set_replicas(3)
    assert limiter.schedule.limits.overall_limit == 30
    budget.failing = True
    await call(limiter, recorder, "alone", "sendMessage", 5)
    assert limiter.schedule.limits.overall_limit == 10
    budget.failing = False
    await call(limiter, recorder, "together", "sendMessage", 6)
    assert limiter.schedule.limits.overall_limit == 30
    assert budget.reserved[0][0][0] == "chat:6"


async def test_every_chat_is_busy_while_the_shared_overall_budget_is_taken_ahead() -> None:
    """The overall moment the shared budget gave is more than half a second away (the
    replicas together have that much queued): progress edits everywhere give way."""
    clock = Clock()
    limiter, recorder = PacingRateLimiter(Limits(), clock=clock), Recorder()
    budget = Budget(overall_wait=0.6)
    limiter.share(budget)
    assert not limiter.busy()
    task = call(limiter, recorder, "queued", "sendVideo", 5)
    await clock.until(limiter.busy, "the overall budget busy")
    assert limiter.busy(6)  # a quiet chat too
    await task
    budget.overall_wait = 0.0
    await call(limiter, recorder, "next", "sendVideo", 7)
    assert not limiter.busy(8)


async def test_a_message_reserves_its_chat_and_group_turn_and_hands_the_chat_back() -> None:
    limits = Limits(chat_interval=1.0)
    limiter, recorder, budget = PacingRateLimiter(limits, clock=Clock()), Recorder(), Budget()
    limiter.share(budget)
    await call(limiter, recorder, "private", "sendMessage", 5)
    await call(limiter, recorder, "group", "sendMessage", -100)
    await call(limiter, recorder, "action", "sendChatAction", 5)  # not a message
    held = 2 * CHAT_MARGIN
    assert budget.reserved == [[("chat:5", held)], [("chat:-100", held)]]
    assert budget.windows == [[], [("group:-100", 20, 61.0)]]  # 20 a minute, and a second
    assert budget.answered == [
        ("chat:5", CHAT_MARGIN, 100.0 + held),
        ("chat:-100", CHAT_MARGIN, 100.0 + held),
    ]
    assert recorder.finished == ["private", "group", "action"]


async def test_a_message_waits_for_its_reserved_moment() -> None:
    limiter, recorder = PacingRateLimiter(Limits(), clock=Clock()), Recorder()
    budget = Budget(wait=SHARED_WAIT_HELD)  # a moment away: waited for holding the turn
    limiter.share(budget)
    task = call(limiter, recorder, "later", "sendMessage", 5)
    async with asyncio.timeout(10):
        await budget.reserving.wait()  # answered "wait": the limiter goes on from here
    assert recorder.started == []  # its turn in this replica came; the shared one has not
    await task
    assert recorder.finished == ["later"]


async def test_a_message_waiting_for_another_replica_gives_its_turn_to_other_chats() -> None:
    """A chat another replica holds for a while does not hold this replica's overall budget
    meanwhile: a message to another chat goes first, and the held one asks again at the
    moment it was told."""
    limits = Limits(chat_interval=1.0, overall_limit=1, overall_period=0.05)
    limiter, recorder = PacingRateLimiter(limits), Recorder()
    budget = Budget(wait=0.2)
    limiter.share(budget)
    held = call(limiter, recorder, "held", "sendVideo", 5)
    async with asyncio.timeout(10):
        await budget.reserving.wait()
    budget.wait = 0.0
    other = call(limiter, recorder, "other", "sendVideo", 6)
    await asyncio.gather(held, other)
    assert recorder.finished == ["other", "held"]
    assert [spacings[0][0] for spacings in budget.reserved] == ["chat:5", "chat:6", "chat:5"]
    assert limiter.schedule.in_flight == 0


async def test_a_message_in_flight_keeps_its_chat_held_until_answered() -> None:
    """An upload taking longer than the chat's interval renews the chat's hold every interval,
    so other replicas wait for its answer as this replica's own schedule does; the answer
    then hands the chat back under the last hold."""
    limiter, recorder = PacingRateLimiter(Limits(chat_interval=0.02)), Recorder()
    budget = Budget()
    limiter.share(budget)
    recorder.held["upload"] = asyncio.Event()
    upload = call(limiter, recorder, "upload", "sendVideo", 5)
    await budget.holding.until(lambda: True if len(budget.held) >= 2 else None, 10, "two holds")
    recorder.held["upload"].set()
    await upload
    interval = 0.02 * CHAT_MARGIN
    first = 100.0 + 2 * interval
    assert budget.held[:2] == [("chat:5", 2 * interval, first), ("chat:5", 2 * interval, first + 1)]
    assert budget.answered == [("chat:5", interval, first + len(budget.held))]


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


async def test_a_message_waiting_for_its_chat_reserves_nothing_until_the_chat_is_free():
    """PostgreSQL: a message whose chat is held takes no place (no overall turn, no later
    moment of the chat) and is told when to ask again; a message in flight keeps the chat
    held, and its answer hands it back."""
    overall = ("overall", 0.5)
    async with postgres_schema() as (url, schema):
        a, b, c = [await PostgresStore.open(url, schema=schema) for _ in range(3)]
        try:
            wait, first = await a.reserve_send([("chat:1", 30.0)], overall=overall, within=0.05)
            assert wait < 0.05 and "overall" in first
            wait, nothing = await b.reserve_send([("chat:1", 30.0)], overall=overall, within=0.05)
            assert 29.0 < wait <= 30.0 and nothing == {}  # a holds the chat for 30 s
            wait, other = await c.reserve_send([("chat:2", 30.0)], overall=overall, within=0.05)
            assert 0.3 < wait <= 0.5 and "overall" in other  # after a's overall turn only
            wait, _ = await b.reserve_send([("chat:1", 30.0)], overall=overall, within=0.05)
            assert 29.0 < wait <= 30.0  # b's first ask took no place: still a's 30 s, not 60
            held = await a.hold("chat:1", 60.0, first["chat:1"])  # still in flight
            assert held is not None
            assert await a.hold("chat:1", 60.0, first["chat:1"]) is None  # not its hold now
            wait, _ = await b.reserve_send([("chat:1", 30.0)], overall=overall, within=0.05)
            assert 59.0 < wait <= 60.0
            await a.sent("chat:1", 0.2, held)  # answered: the chat is free 0.2 s from now
            wait, mine = await b.reserve_send([("chat:1", 30.0)], overall=overall, within=0.5)
            assert wait <= 1.0 and "chat:1" in mine  # the chat's 0.2 s, then c's overall turn
        finally:
            for store in (a, b, c):
                await store.close()


async def test_a_group_may_take_several_moments_at_once_but_never_more_than_its_window():
    """PostgreSQL: a group's window (here 3 in 10 s) lets replicas send a few messages at
    once and the next only when the oldest leaves the window; a message told to wait takes
    no place in the window."""
    group = [("group:1", 3, 10.0)]
    async with postgres_schema() as (url, schema):
        a, b = [await PostgresStore.open(url, schema=schema) for _ in range(2)]
        try:
            waits = [(await a.reserve_send([], windows=group))[0] for _ in range(2)]
            waits.append((await b.reserve_send([], windows=group))[0])
            assert max(waits) < 0.5  # three at once
            for _ in range(2):
                wait, nothing = await b.reserve_send([], windows=group, within=0.05)
                assert 9.0 < wait <= 10.0 and nothing == {}  # once the first has left
            wait, _ = await a.reserve_send([], windows=group)
            assert 9.0 < wait <= 10.0  # the fourth: the two asks above took no place
            wait, _ = await a.reserve_send([], windows=group)
            assert 9.0 < wait <= 10.0  # the fifth, with the second
        finally:
            await a.close()
            await b.close()

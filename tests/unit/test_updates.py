"""The update processor (`bot.updates`): lanes keep their order, run side by side, and a
lane's backlog takes no concurrency slot."""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from typing import Any

from telegram import Chat, Message, Update, User

from bot.jobs import JobState, ProviderCallback
from bot.providers.base import TaskUpdate
from bot.updates import ChatOrderedProcessor, lane_of


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    user = User(chat_id, "Ann", is_bot=False)
    return Update(update_id, message=Message(update_id, None, chat, from_user=user, text="hi"))  # type: ignore[arg-type]


class Work:
    """Coroutines that record when they start and finish, and can be held open; a test
    awaits those moments (`reached`) rather than counting loop turns."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self._moments: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def run(self, name: str, fail: bool = False) -> None:
        self.started.append(name)
        self._moments[f"started {name}"].set()
        if name in self.gates:
            await self.gates[name].wait()
        if fail:
            raise RuntimeError(name)
        self.finished.append(name)
        self._moments[f"finished {name}"].set()

    async def reached(self, *moments: str) -> None:
        """Until each of `moments` ("started a1", "finished b1") has happened."""
        async with asyncio.timeout(5):
            for moment in moments:
                await self._moments[moment].wait()

    def hold(self, name: str) -> asyncio.Event:
        self.gates[name] = asyncio.Event()
        return self.gates[name]


def process(processor: ChatOrderedProcessor, item: Any, work: Any) -> asyncio.Task[None]:
    return asyncio.create_task(processor.process_update(item, work))


async def test_one_chat_in_order_other_chats_side_by_side() -> None:
    processor, work = ChatOrderedProcessor(), Work()
    gate = work.hold("a1")
    tasks = [
        process(processor, update(i, chat), work.run(name))
        for i, (name, chat) in enumerate((("a1", 1), ("a2", 1), ("b1", 2), ("a3", 1)))
    ]
    await work.reached("started a1", "finished b1")  # chat 2 went past chat 1's held update
    assert work.started == ["a1", "b1"] and work.finished == ["b1"]
    gate.set()
    await asyncio.gather(*tasks)
    assert work.finished == ["b1", "a1", "a2", "a3"]
    assert processor.active_lanes == 0  # memory follows chats with work in progress


async def test_a_flooding_chat_takes_one_slot_and_never_stalls_the_others() -> None:
    processor, work = ChatOrderedProcessor(max_concurrent_updates=2), Work()
    gate = work.hold("a0")
    flood = [process(processor, update(i, 1), work.run(f"a{i}")) for i in range(50)]
    other = process(processor, update(99, 2), work.run("b"))
    await asyncio.wait_for(other, 5)
    assert work.finished == ["b"]
    gate.set()
    await asyncio.gather(*flood)
    assert work.finished[1:] == [f"a{i}" for i in range(50)]


async def test_a_failing_update_does_not_stop_its_lane() -> None:
    processor, work = ChatOrderedProcessor(), Work()
    gate = work.hold("a1")
    tasks = [
        process(processor, update(1, 1), work.run("a1", fail=True)),
        process(processor, update(2, 1), work.run("a2")),
    ]
    await work.reached("started a1")
    gate.set()
    await asyncio.gather(*tasks)
    assert work.finished == ["a2"]


async def test_a_cancelled_lane_closes_what_it_had_not_run() -> None:
    processor, work = ChatOrderedProcessor(), Work()
    work.hold("a1")
    first = process(processor, update(1, 1), work.run("a1"))
    await work.reached("started a1")
    waiting = work.run("a2")
    await process(processor, update(2, 1), waiting)  # handed to the lane, returns at once
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert inspect.getcoroutinestate(waiting) == inspect.CORO_CLOSED  # no "never awaited"
    assert processor.active_lanes == 0


def test_lanes() -> None:
    assert lane_of(update(1, 5)) == lane_of(update(2, 5)) != lane_of(update(3, 6))
    callback = ProviderCallback(7, TaskUpdate("t", JobState.RUNNING))
    assert lane_of(callback) == ("job", 7)
    assert lane_of(object()) != lane_of(object())

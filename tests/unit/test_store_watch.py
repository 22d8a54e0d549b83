"""`StoreWatch`: one line when an outage starts and one when it ends, whoever notices it;
work waiting for the database runs once it answers, or is dropped when the bot stops."""

from __future__ import annotations

import asyncio
import logging

from bot.store import StoreWatch


class FlakyStore:
    """Just `ping`, answering as the test says."""

    def __init__(self) -> None:
        self.up = True

    async def ping(self) -> bool:
        return self.up


async def test_an_outage_is_logged_once_and_waiting_work_runs_when_it_ends(caplog):
    store = FlakyStore()
    watch = StoreWatch(store, interval=0.01)
    assert not await watch.failed(), "an error with the database up is no outage"
    store.up = False
    ran: list[str] = []
    done = asyncio.Event()

    async def work() -> None:
        ran.append("after")
        done.set()

    with caplog.at_level(logging.INFO, logger="bot.store.watch"):
        assert all(await asyncio.gather(*(watch.failed() for _ in range(5))))
        assert watch.down
        watch.after_outage(work())
        store.up = True
        await watch.back()
        async with asyncio.timeout(10):
            await done.wait()  # the waiting work ran once the database was back
    assert not watch.down and ran == ["after"]
    lines = [r.getMessage() for r in caplog.records]
    assert sum("database unreachable" in line for line in lines) == 1, lines
    assert sum("answers again" in line for line in lines) == 1, lines
    await watch.aclose()


async def test_work_still_waiting_at_stop_is_dropped_cleanly():
    store = FlakyStore()
    store.up = False
    watch = StoreWatch(store, interval=0.01)
    ran: list[str] = []

    async def work() -> None:
        ran.append("never")

    assert await watch.failed()
    watch.after_outage(work())
    await watch.aclose()  # no "never awaited" warning, no task left behind
    assert ran == []

"""Leases in a running bot: an upload that outlasts its lease keeps it the whole time.

No wall clock: the test drives the lease's renewals itself (`Overrides.lease_sleep`) and
moves the database's clock on by moving the lease back by each wait the bot asked for."""

from __future__ import annotations

import asyncio
import time

from bot.jobs import JobState
from tests.e2e.conftest import ask_for_video


class Renewals:
    """The bot's waits between two renewals of a lease, each ended by the test (`tick`)."""

    def __init__(self) -> None:
        self.started = 0
        self.pending: dict[int, float] = {}  # waits in progress: their number, their seconds
        self._changed = asyncio.Condition()
        self._ticks = asyncio.Queue[None]()

    async def sleep(self, seconds: float) -> None:
        self.started += 1
        number = self.started
        async with self._changed:
            self.pending[number] = seconds
            self._changed.notify_all()
        try:
            await self._ticks.get()
        finally:
            del self.pending[number]

    async def next_wait(self, after: int = 0) -> tuple[int, float]:
        """A wait begun after wait number `after`, once the bot is in it: (number, seconds)."""
        async with self._changed, asyncio.timeout(10):
            await self._changed.wait_for(lambda: any(n > after for n in self.pending))
        number = max(self.pending)
        return number, self.pending[number]

    def tick(self) -> None:
        self._ticks.put_nowait(None)


async def test_a_long_upload_keeps_its_lease(telegram, apiframe, apiframe_settings, start_bot):
    renewals = Renewals()
    bot = await start_bot(apiframe_settings(lease_seconds=60), lease_sleep=renewals.sleep)
    task = await ask_for_video(telegram, apiframe, "/video a slow upload")
    held = telegram.hold("sendVideo")
    await apiframe.finish(task.task_id)
    await held.arrived.wait()  # the upload is in flight
    store, owner = bot.parts.store, bot.settings.replica_id
    assert (await store.get_job(1)).lease_owner == owner

    # Three lease lengths pass while Telegram holds the upload: at each wait's end, another
    # replica asking never gets the job, and the renewal then gives it a whole lease again.
    try:
        waited, number = 0.0, 0
        while waited < 3 * 60:
            number, wait = await renewals.next_wait(after=number)
            # The bot renews before the lease lapses (this replica's own delivery claims could
            # otherwise take a lapsed lease back before another replica's claim is tried).
            left = (await store.get_job(1)).lease_until - time.time()
            assert wait < left, f"the bot waits {wait} s to renew a lease {left:.0f} s from lapsing"
            await store._db.execute(
                "UPDATE jobs SET lease_until = lease_until - ? WHERE id = 1", wait
            )
            waited += wait
            assert await store.claim_job(1, "another-replica", 60) is None, f"after {waited} s"
            before = (await store.get_job(1)).lease_until
            renewals.tick()
            await renewals.next_wait(after=number)  # renewed, and waiting again
            renewed = await store.get_job(1)
            assert renewed.lease_owner == owner and renewed.lease_until > before
    finally:
        telegram.release("sendVideo")  # a held request would keep the fake from stopping
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    done = await store.get_job(1)
    assert done.state is JobState.DELIVERED and done.lease_owner is None
    assert len(telegram.calls_to("sendVideo")) == 1

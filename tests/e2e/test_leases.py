"""Leases in a running bot: an upload that outlasts its lease keeps it the whole time."""

from __future__ import annotations

import asyncio
import time

from bot.jobs import JobState
from tests.e2e.conftest import ask_for_video


async def test_a_long_upload_keeps_its_lease(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings(lease_seconds=0.3))
    task = await ask_for_video(telegram, apiframe, "/video a slow upload")
    held = telegram.hold("sendVideo")
    await apiframe.finish(task.task_id)
    await held.arrived.wait()  # the upload is in flight
    store, owner = bot.parts.store, bot.settings.replica_id
    at_start = await store.get_job(1)
    assert at_start.lease_owner == owner

    # Three lease lengths pass while Telegram holds the upload: another replica asking all
    # along never gets the job, because the upload renews its lease.
    try:
        until = at_start.lease_until + 0.6
        while time.time() < until:
            assert await store.claim_job(1, "another-replica", 60) is None
            await asyncio.sleep(0.05)
        renewed = await store.get_job(1)
        assert renewed.lease_owner == owner and renewed.lease_until > at_start.lease_until
    finally:
        telegram.release("sendVideo")  # a held request would keep the fake from stopping
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    done = await store.get_job(1)
    assert done.state is JobState.DELIVERED and done.lease_owner is None
    assert len(telegram.calls_to("sendVideo")) == 1

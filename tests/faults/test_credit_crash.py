"""SIGKILL of a bot that charges for videos (`BILLING=stars`), with the bot as a real
subprocess: killed between the reservation and the submit, and between Telegram taking the
video and the bot recording the delivery (which charges it). After the restart the ledger
sums to the balances, the job is charged once, and nothing is reserved for ever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs import JobState
from bot.store import SqliteStore
from tests.e2e.conftest import AIMLAPI_KEY, ask_for_video
from tests.fakes.aimlapi import FakeAimlapi
from tests.fakes.telegram import FakeTelegram
from tests.faults.processes import BotProcess
from tests.faults.test_crash import bot_env, start_polling

ALICE = 1001


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def aimlapi(telegram: FakeTelegram) -> AsyncIterator[FakeAimlapi]:
    async with FakeAimlapi(AIMLAPI_KEY, forbidden=[telegram.token]) as fake:
        yield fake


@pytest.fixture
async def paying_bot(
    telegram: FakeTelegram, aimlapi: FakeAimlapi, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    env = bot_env(
        telegram,
        "aimlapi",
        aimlapi.url,
        tmp_path / "bot.db",
        AIMLAPI_API_KEY=AIMLAPI_KEY,
        BILLING="stars",
        WELCOME_CREDITS="30",
    )
    process = BotProcess(env)
    yield process
    await process.stop()


async def ledger(database: Path) -> tuple[JobState, int, int, list[str], list[str]]:
    """(job 1's state, Alice's available and reserved credits, audit problems, her ledger
    kinds newest first), read from the database the bot left."""
    store = await SqliteStore.open(database)
    try:
        job = await store.get_job(1)
        assert job is not None
        have = await store.credit_balance(ALICE)
        kinds = [entry.kind for entry in await store.credit_entries(ALICE, 20)]
        return job.state, have.available, have.reserved, await store.audit_credits(), kinds
    finally:
        await store.close()


async def test_kill_between_reservation_and_submit(telegram, aimlapi, paying_bot, tmp_path):
    database = tmp_path / "bot.db"
    await start_polling(paying_bot, telegram)
    held = telegram.hold("sendMessage")  # the status message, sent before the submit
    telegram.send_text(telegram.user(ALICE), "/video reserved, never sent")
    await asyncio.wait_for(held.arrived.wait(), 10)
    await paying_bot.kill()
    telegram.release("sendMessage")
    assert aimlapi.requests == []
    assert await ledger(database) == (JobState.QUEUED, 20, 10, [], ["reserve", "welcome"])

    await start_polling(paying_bot, telegram)
    task = await aimlapi.wait_for_task()
    await aimlapi.finish(task.task_id)
    video = await telegram.wait_for("sendVideo", lambda c: c.ok)
    assert "Charged: 10 credits" in video.params["caption"]
    await paying_bot.stop()  # SIGTERM: a delivery in flight is finished and recorded
    assert await ledger(database) == (
        JobState.DELIVERED,
        20,
        0,
        [],
        ["charge", "reserve", "welcome"],
    )


async def test_kill_between_delivery_and_its_charge(telegram, aimlapi, paying_bot, tmp_path):
    """Telegram took the video, the bot died before recording it: the video is sent again
    after the restart (delivery is at-least-once across a crash), and charged once."""
    database = tmp_path / "bot.db"
    await start_polling(paying_bot, telegram)
    task = await ask_for_video(telegram, aimlapi, "/video killed before the charge")
    held = telegram.hold("sendVideo")
    await aimlapi.finish(task.task_id)
    await asyncio.wait_for(held.arrived.wait(), 10)
    await paying_bot.kill()
    telegram.release("sendVideo")  # Telegram completes the upload the dead bot started
    await telegram.wait_for("sendVideo", lambda c: c.ok)
    assert await ledger(database) == (JobState.SUCCEEDED, 20, 10, [], ["reserve", "welcome"])

    await start_polling(paying_bot, telegram)
    await telegram.wait_for("editMessageText", lambda c: "Charged: 10" in c.params["text"])
    await paying_bot.stop()
    assert len([c for c in telegram.calls_to("sendVideo") if c.ok]) == 2
    assert await ledger(database) == (
        JobState.DELIVERED,
        20,
        0,
        [],
        ["charge", "reserve", "welcome"],
    )

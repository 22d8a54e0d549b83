"""SIGKILL at each step of a job's life, with the bot as a real subprocess.

Each test names the moment of the kill and the promise that must hold after a restart.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from bot.jobs import JobState
from bot.store import SqliteStore
from tests.e2e.conftest import AIMLAPI_KEY, KLING_ACCESS, KLING_SECRET, ask_for_video
from tests.fakes.aimlapi import FakeAimlapi
from tests.fakes.kling import FakeKling
from tests.fakes.telegram import FakeTelegram
from tests.faults.processes import BotProcess

CREATE = "/v2/generate/video/kling/generation"


async def start_polling(bot: BotProcess, telegram: FakeTelegram) -> None:
    """Start the bot and wait until it long-polls the fake Telegram."""
    await bot.start()
    await telegram.wait_until_polling(timeout=30)


def bot_env(
    telegram: FakeTelegram, provider: str, url: str, database, **credentials: str
) -> dict[str, str]:
    """The environment of a bot on `telegram` using one `provider` served at `url`, with
    that provider's `credentials` (variable names as keys)."""
    return {
        "PATH": os.environ["PATH"],
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "VIDEO_PROVIDERS": provider,
        f"{provider.upper()}_BASE_URL": url,
        "VIDEO_TRUSTED_ORIGINS": url,  # its videos: plain http on 127.0.0.1
        "DATABASE_URL": f"sqlite:///{database}",
        "POLL_INTERVAL": "0.05",
        "STATUS_EDIT_INTERVAL": "0",
        "LOG_LEVEL": "INFO",  # what an operator runs at: its lines are scanned for secrets
        **credentials,
    }


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def aimlapi(telegram) -> AsyncIterator[FakeAimlapi]:
    async with FakeAimlapi(AIMLAPI_KEY, forbidden=[telegram.token]) as fake:
        yield fake
    assert fake.leaks == []


@pytest.fixture
def database(tmp_path):
    return tmp_path / "bot.db"


@pytest.fixture
async def bot(telegram, aimlapi, database) -> AsyncIterator[BotProcess]:
    process = BotProcess(
        bot_env(telegram, "aimlapi", aimlapi.url, database, AIMLAPI_API_KEY=AIMLAPI_KEY)
    )
    yield process
    await process.stop()


@pytest.fixture
async def kling(telegram) -> AsyncIterator[FakeKling]:
    async with FakeKling(KLING_ACCESS, KLING_SECRET, forbidden=[telegram.token]) as fake:
        yield fake
    assert fake.leaks == []


@pytest.fixture
async def kling_bot(telegram, kling, database) -> AsyncIterator[BotProcess]:
    credentials = {"KLING_ACCESS_KEY": KLING_ACCESS, "KLING_SECRET_KEY": KLING_SECRET}
    process = BotProcess(bot_env(telegram, "kling", kling.url, database, **credentials))
    yield process
    await process.stop()


async def job_state(database, job_id: int = 1) -> JobState:
    store = await SqliteStore.open(database)
    try:
        job = await store.get_job(job_id)
        assert job is not None
        return job.state
    finally:
        await store.close()


async def test_kill_after_task_recorded_delivers_once_after_restart(
    telegram, aimlapi, bot, database
):
    await start_polling(bot, telegram)
    task = await ask_for_video(telegram, aimlapi, "/video killed while generating")
    await aimlapi.wait_for(CREATE)
    await aimlapi.wait_for("/v2/generate/video/kling/generation", lambda r: r.method == "GET")
    await bot.kill()  # the task id was recorded: the bot polled it

    await aimlapi.finish(task.task_id)
    await start_polling(bot, telegram)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert len([r for r in aimlapi.requests if r.method == "POST"]) == 1  # resumed, not resent
    assert len(telegram.calls_to("sendVideo")) == 1
    assert await job_state(database) is JobState.DELIVERED


async def test_kill_while_provider_accepts_is_never_resubmitted(telegram, aimlapi, bot, database):
    await start_polling(bot, telegram)
    aimlapi.stall(CREATE)
    telegram.send_text(telegram.user(1001), "/video killed mid-submit")
    await aimlapi.wait_for(CREATE, lambda r: r.method == "POST")
    await bot.kill()  # the provider got the request; we never heard its answer
    aimlapi.release()
    await aimlapi.wait_for_task()  # ... and it went on to make (and bill) the video

    await start_polling(bot, telegram)
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "did not send it again" in notice.params["text"]
    assert len([r for r in aimlapi.requests if r.method == "POST"]) == 1
    assert await job_state(database) is JobState.FAILED


async def test_kill_while_kling_accepts_is_reconciled_and_delivered_once(
    telegram, kling, kling_bot, database
):
    create = "/v1/videos/text2video"
    await start_polling(kling_bot, telegram)
    kling.stall(create)
    telegram.send_text(telegram.user(1001), "/video killed mid-submit, found again")
    await kling.wait_for(create, lambda r: r.method == "POST")
    await kling_bot.kill()  # Kling got the request; we never heard its answer
    kling.release()
    task = await kling.wait_for_task()  # ... and it went on to make (and bill) the video

    await start_polling(kling_bot, telegram)
    await kling.wait_for(f"{create}/job-1")  # found by the external_task_id we gave it
    await kling.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert len([r for r in kling.requests if r.method == "POST"]) == 1  # never resubmitted
    assert len(telegram.calls_to("sendVideo")) == 1
    assert not [c for c in telegram.calls_to("sendMessage") if "failed" in c.params["text"]]
    assert await job_state(database) is JobState.DELIVERED


async def test_kill_before_submit_sends_it_after_restart(telegram, aimlapi, bot, database):
    await start_polling(bot, telegram)
    held = telegram.hold("sendMessage")  # the status message, sent before the submit
    telegram.send_text(telegram.user(1001), "/video queued but never sent")
    await asyncio.wait_for(held.arrived.wait(), 10)
    await bot.kill()  # the job row exists; nothing reached the provider
    telegram.release("sendMessage")
    assert aimlapi.requests == []

    await start_polling(bot, telegram)
    task = await aimlapi.wait_for_task()
    await aimlapi.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    assert len([r for r in aimlapi.requests if r.method == "POST"]) == 1


async def test_kill_during_upload_completes_the_delivery_once_after_restart(
    telegram, aimlapi, bot, database
):
    await start_polling(bot, telegram)
    task = await ask_for_video(telegram, aimlapi, "/video killed while uploading")
    held = telegram.hold("sendVideo")
    await aimlapi.finish(task.task_id)
    await asyncio.wait_for(held.arrived.wait(), 10)
    await bot.kill()  # mid-upload: the video is not in the chat yet
    telegram.drop("sendVideo")
    assert await job_state(database) is JobState.SUCCEEDED

    await start_polling(bot, telegram)
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert len([c for c in telegram.calls_to("sendVideo") if c.ok]) == 1
    assert len([r for r in aimlapi.requests if r.method == "POST"]) == 1
    assert await job_state(database) is JobState.DELIVERED

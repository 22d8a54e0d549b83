"""Faults between "the video is ready" and "the video is in the chat": each test names the
fault and the promise kept. Delivery retries are scaled down (5 s doubling -> 50 ms)."""

from __future__ import annotations

import pytest

from bot import lifecycle
from bot.jobs import JobState
from tests.e2e.conftest import ask_for_video
from tests.fakes.telegram.calls import text_of


@pytest.fixture(autouse=True)
def fast_delivery_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "DELIVERY_RETRY_BASE", 0.05)


async def test_telegram_5xx_on_send_is_retried_and_delivers_once(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video through a bad gateway")
    telegram.fail_next("sendVideo", error_code=502, description="Bad Gateway", times=2)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))
    sends = telegram.calls_to("sendVideo")
    assert [c.http_status for c in sends] == [502, 502, 200]
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED and job.delivery_attempts == 2


async def test_video_link_that_404s_then_recovers_is_delivered(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video a slow CDN")
    apiframe.media.set_mode("missing")
    store = bot.parts.store
    postpone = store.postpone_delivery

    async def recovered_then_postponed(job_id: int, next_attempt_at: float) -> None:
        # The first attempt has failed (Telegram could not fetch the link, nor could our own
        # download): the link works from the retry on, whenever that comes.
        apiframe.media.set_mode("serve")
        await postpone(job_id, next_attempt_at)

    store.postpone_delivery = recovered_then_postponed
    await apiframe.finish(task.task_id)
    await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED and job.delivery_attempts == 1
    assert [c.http_status for c in telegram.calls_to("sendVideo")] == [400, 200]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("missing", "the video link answered HTTP 404"), ("html", "the video link served a web page")],
)
async def test_video_link_that_stays_broken_ends_in_an_explained_failure(
    telegram, apiframe, apiframe_settings, start_bot, mode, reason
):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video a broken CDN")
    apiframe.media.set_mode(mode)
    await apiframe.finish(task.task_id)
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in text_of(c))
    assert reason in text_of(notice)
    job = await bot.job(1)
    assert job.state is JobState.FAILED and reason in job.error
    assert job.delivery_attempts == lifecycle.MAX_DELIVERY_ATTEMPTS - 1
    assert not [c for c in telegram.calls_to("sendVideo") if c.ok]

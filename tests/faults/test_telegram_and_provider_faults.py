"""Telegram and provider faults: each test names the fault and the promise kept."""

from __future__ import annotations

import pytest

from bot.jobs import JobState
from tests.e2e.conftest import AIMLAPI_KEY, ask_for_video, wait_settled
from tests.e2e.test_delivery_and_restart import first_job_state


def aimlapi_settings(make_settings, fake, **overrides):
    values = {
        "video_providers": "aimlapi",
        "aimlapi_api_key": AIMLAPI_KEY,
        "aimlapi_base_url": fake.url,
    }
    return make_settings(**{**values, **overrides})


@pytest.mark.telegram_limits  # the fake's clock in real seconds, as the retry_after it sends
async def test_telegram_429_on_send_is_waited_out_and_nothing_dropped(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video flood")
    telegram.fail_next(
        "sendVideo", error_code=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    await apiframe.finish(task.task_id)
    sends = await telegram.wait_for_count("sendVideo", 2)
    # The fake answers 429 again to anything sent to the chat before retry_after is over: the
    # second attempt went through, so it was waited out (no clock read here).
    assert [c.http_status for c in sends] == [429, 200]
    # A chat slowed down by a 429 is busy: its status message is deleted, not edited.
    await wait_settled(telegram, 1)
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_user_who_blocked_the_bot_is_not_retried(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    task = await ask_for_video(telegram, apiframe, "/video blocked", alice)
    await telegram.wait_for("sendMessage")
    telegram.blocked_users.add(alice["id"])
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo", lambda c: c.http_status == 403)
    # The job ends as undeliverable; the bot gives up on this chat at once.
    await telegram.wait_for("sendMessage", lambda c: c.http_status == 403)
    job = await bot.job(1)
    assert job.state is JobState.FAILED and "blocked" in job.error
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_status_message_deleted_is_harmless(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video status gone")
    telegram.fail_next(
        "editMessageText",
        error_code=400,
        description="Bad Request: message to edit not found",
        times=5,
    )
    await apiframe.set_processing(task.task_id, 30)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await bot.stop()  # lets the delivery in flight finish, so its outcome is recorded
    assert await first_job_state(bot.settings) is JobState.DELIVERED
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_unreadable_poll_answer_keeps_the_job_waiting(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video garbled")
    apiframe.fail_next("/fetch", status=200, body="<html>gateway says hi</html>", times=3)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await bot.stop()  # lets the delivery in flight finish, so its outcome is recorded
    assert await first_job_state(bot.settings) is JobState.DELIVERED
    assert not [c for c in telegram.calls_to("sendMessage") if "failed" in str(c.params)]


async def test_unknown_status_is_waited_out(telegram, aimlapi, make_settings, start_bot):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    task = await ask_for_video(telegram, aimlapi, "/video odd status")
    await aimlapi.set_status(task.task_id, "upscaling")  # not in the documented vocabulary

    def polls() -> int:
        return sum(1 for r in aimlapi.requests if r.method == "GET")

    seen = polls()
    # Two polls answered "upscaling": the first has been acted on by the time of the second.
    await aimlapi.wait_for("/v2/generate/video/kling/generation", lambda _: polls() >= seen + 2)
    waiting = await bot.job(1)
    assert waiting.state in (JobState.QUEUED, JobState.RUNNING) and waiting.error is None
    await aimlapi.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await bot.stop()
    assert await first_job_state(bot.settings) is JobState.DELIVERED
    assert not [c for c in telegram.calls_to("sendMessage") if "failed" in str(c.params)]


async def test_finished_without_a_video_is_explained(telegram, aimlapi, make_settings, start_bot):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    task = await ask_for_video(telegram, aimlapi, "/video empty result")
    await aimlapi.set_status(task.task_id, "completed")  # no video.url
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "sent no video" in notice.params["text"]
    assert (await bot.job(1)).state is JobState.FAILED


async def test_failed_status_message_does_not_hold_up_the_video(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    telegram.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    telegram.send_text(telegram.user(1001), "/video without a status message")
    task = await apiframe.wait_for_task()  # submitted at once, not after the orphan sweep
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo", lambda c: c.ok)
    assert len(apiframe.tasks) == 1
    assert (await bot.job(1)).status_message_id is None


async def test_chat_that_blocked_the_bot_gets_no_paid_job(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    telegram.blocked_users.add(alice["id"])
    telegram.send_text(alice, "/video nobody will see this")
    telegram.send_text(alice, "/jobs")  # answered only after the request above was handled
    await telegram.wait_for_count("sendMessage", 2, lambda c: c.http_status == 403)
    assert (await bot.job(1)).state is JobState.FAILED
    assert apiframe.tasks == {}

"""Delivery fallbacks, exactly-once delivery, and surviving a restart."""

from __future__ import annotations

import asyncio
import time

from bot.jobs import JobState
from bot.providers.base import TaskUpdate
from tests.e2e.conftest import ask_for_video
from tests.fakes.media import SAMPLE_MP4


async def test_url_refused_falls_back_to_upload(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings())
    telegram.refuse_urls = True
    task = await ask_for_video(telegram, apiframe, "/video a lighthouse")
    video_bytes = SAMPLE_MP4 + b"\x00" * 300_000
    url = await apiframe.finish(task.task_id, video_bytes)
    first, second = await telegram.wait_for_count("sendVideo", 2)
    assert first.params["video"] == url and first.http_status == 400
    assert second.http_status == 200
    assert second.files["video"].data == video_bytes
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_video_over_50_mb_is_sent_as_a_link(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings())
    telegram.refuse_urls = True  # Telegram cannot fetch over 20 MB by URL either
    task = await ask_for_video(telegram, apiframe, "/video an epic")
    url = await apiframe.finish(task.task_id, SAMPLE_MP4 + bytes(51 * 1024 * 1024))
    link = await telegram.wait_for("sendMessage", lambda c: "50 MB" in c.params["text"])
    assert url in link.params["text"]
    assert [c.http_status for c in telegram.calls_to("sendVideo")] == [400]
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_repeated_finished_reports_deliver_once(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    task = await ask_for_video(telegram, apiframe, "/video twice", alice)
    url = await apiframe.finish(task.task_id)
    finished = TaskUpdate(task.task_id, JobState.SUCCEEDED, progress=100, video_url=url)
    # The poller and, say, a duplicate callback report "finished" at the same moment, and late.
    await asyncio.gather(*(bot.parts.lifecycle.apply_update(1, finished) for _ in range(5)))
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    await bot.parts.lifecycle.apply_update(1, finished)
    await bot.parts.lifecycle.apply_update(
        1, TaskUpdate(task.task_id, JobState.RUNNING, progress=50)
    )
    # A second job delivered afterwards proves the bot moved on without a second send.
    later = await ask_for_video(telegram, apiframe, "/video later", alice)
    await apiframe.finish(later.task_id)
    await telegram.wait_for_count("sendVideo", 2)
    assert [c.params["caption"] for c in telegram.calls_to("sendVideo")] == ["twice", "later"]
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_restart_with_unfinished_job_delivers_once(
    telegram, apiframe, apiframe_settings, start_bot
):
    settings = apiframe_settings()
    first = await start_bot(settings)
    alice = telegram.user(1001)
    request = telegram.send_text(alice, "/video survives restarts")
    task = await apiframe.wait_for_task()
    await telegram.wait_for("sendMessage")
    await first.stop()

    await apiframe.finish(task.task_id)  # finishes while the bot is down
    second = await start_bot(settings)
    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await second.job(1)).state is JobState.DELIVERED
    creates = [r for r in apiframe.requests if r.path == "/kling-imagine"]
    assert len(creates) == 1  # resumed by task id, not resubmitted
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_restart_resumes_pending_delivery(telegram, apiframe, apiframe_settings, start_bot):
    settings = apiframe_settings()
    first = await start_bot(settings)
    task = await ask_for_video(telegram, apiframe, "/video delivery interrupted")
    telegram.fail_next("sendVideo", error_code=500, description="Internal Server Error")
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")  # the failed attempt; the retry is 5 s away
    await first.stop()
    # Its retry an hour away: only the restart itself may bring the delivery forward.
    assert (await first_job_state(settings, postpone=3600)) is JobState.SUCCEEDED

    second = await start_bot(settings)
    delivered = await telegram.wait_for("sendVideo", lambda c: c.http_status == 200)
    assert delivered.params["caption"] == "delivery interrupted"
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await second.job(1)).state is JobState.DELIVERED


async def first_job_state(settings, postpone: float | None = None):
    """Job 1's state, read from the stopped bot's database; `postpone`: push its next
    delivery attempt that many seconds away first."""
    from bot.store import SqliteStore

    store = await SqliteStore.open(settings.database_path)
    try:
        if postpone is not None:
            await store.postpone_delivery(1, time.time() + postpone)
        job = await store.get_job(1)
        assert job is not None
        return job.state
    finally:
        await store.close()


async def test_slow_delivery_shows_the_upload_action(
    telegram, apiframe, apiframe_settings, start_bot
):
    await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video a slow upload")
    held = telegram.hold("sendVideo")
    await apiframe.finish(task.task_id)
    await held.arrived.wait()
    action = await telegram.wait_for("sendChatAction")  # after a second of sending
    assert action.params["action"] == "upload_video" and action.params["chat_id"] == 1001
    telegram.release("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])

"""A cancelled job the provider is still making: never delivered, and counted against the
user's limit of videos at once until the provider reports it finished (no provider documents a
cancel endpoint, so `/video` + `/cancel` loops must not run past `MAX_ACTIVE_JOBS_PER_USER`)."""

from __future__ import annotations

from typing import Any

from bot.jobs import JobState
from tests.fakes.apiframe import FakeApiframe
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.calls import text_of


async def polls_after_now(apiframe: FakeApiframe, cycles: int = 2) -> None:
    """Wait for `cycles` more polls (one task or many): by then the bot acted on the first.

    Each test keeps another user's job running, so polls go on once the cancelled ones stop.
    """

    def polls() -> int:
        return sum(1 for r in apiframe.requests if r.path in ("/fetch", "/fetch-many"))

    target = polls() + cycles
    await apiframe.wait(lambda: True if polls() >= target else None, 10, f"{cycles} polls")


async def keep_polling(telegram: FakeTelegram, apiframe: FakeApiframe) -> dict[str, Any]:
    """Alice, who will cancel, and a job of Bob's that keeps the poll loop busy meanwhile."""
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    telegram.send_text(bob, "/video keeps the poll loop busy")
    await apiframe.wait_for_task()
    return alice


async def test_cancelled_jobs_count_until_the_provider_stops_and_are_never_sent(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(max_active_jobs_per_user=2))
    alice = await keep_polling(telegram, apiframe)
    tasks = []
    for n in (1, 2):
        telegram.send_text(alice, f"/video clip {n}")
        tasks.append(await apiframe.wait_for_task())
        telegram.send_text(alice, "/cancel")
        answer = await telegram.wait_for(
            "sendMessage", lambda c, n=n: text_of(c).startswith(f"🚫 Video #{n + 1} cancelled")
        )
        assert "may still be making it" in text_of(answer)
        assert "counts toward your videos in progress" in text_of(answer)
        assert (await bot.job(n + 1)).state is JobState.CANCELLED

    # Both still run at the provider: a third request is refused, and says why.
    telegram.send_text(alice, "/video clip 3")
    refusal = await telegram.wait_for("sendMessage", lambda c: "the limit is 2" in text_of(c))
    assert "2 of them you cancelled" in text_of(refusal)
    assert await bot.job(4) is None and len(apiframe.tasks) == 3

    # The provider finishes one (the video is never sent) and fails the other: both slots free.
    await apiframe.finish(tasks[0].task_id)
    await apiframe.fail(tasks[1].task_id)
    await polls_after_now(apiframe)
    for n in (3, 4):
        telegram.send_text(alice, f"/video clip {n}")
        await apiframe.wait_for_task()
    assert (await bot.job(5)).state is JobState.QUEUED
    telegram.send_text(alice, "/video clip 5")  # two open again: the limit holds
    await telegram.wait_for_count("sendMessage", 2, lambda c: "the limit is 2" in text_of(c))
    assert telegram.calls_to("sendVideo") == []
    assert (await bot.job(2)).state is JobState.CANCELLED


async def test_job_cancelled_while_being_sent_is_tracked_until_the_provider_stops(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(max_active_jobs_per_user=1))
    alice = await keep_polling(telegram, apiframe)
    apiframe.stall("/kling-imagine")
    telegram.send_text(alice, "/video in flight")
    await apiframe.wait_for("/kling-imagine")  # the provider has the request, no answer yet
    telegram.send_text(alice, "/cancel")
    answer = await telegram.wait_for("sendMessage", lambda c: "cancelled" in text_of(c))
    assert "may still be making it" in text_of(answer)
    assert (await bot.job(2)).state is JobState.CANCELLED
    apiframe.release()
    task = await apiframe.wait_for_task()
    # The task id that came back after the cancel is kept, and the task polled.
    await apiframe.wait_for("/fetch-many", lambda r: task.task_id in r.json["task_ids"])
    assert (await bot.job(2)).provider_task_id == task.task_id

    telegram.send_text(alice, "/video too soon")
    await telegram.wait_for("sendMessage", lambda c: "the limit is 1" in text_of(c))
    assert await bot.job(3) is None

    await apiframe.finish(task.task_id)
    await polls_after_now(apiframe)
    telegram.send_text(alice, "/video now")
    await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬 Video #3"))
    assert telegram.calls_to("sendVideo") == []
    assert (await bot.job(2)).state is JobState.CANCELLED

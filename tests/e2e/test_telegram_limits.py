"""With Telegram's real message limits enforced by the fake, a job's messages never get a 429."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.jobs import JobState
from bot.lifecycle import DELIVERIES_PER_CHAT
from bot.pacing import Priority
from tests.e2e.conftest import PacerClock, ask_for_video, enforce_fast_limits, polls_later


@pytest.mark.telegram_limits
async def test_a_whole_job_in_one_chat_stays_under_telegrams_limits(
    telegram, make_settings, start_bot
):
    telegram.enforce_rate_limits = True  # 1 message a second per chat, no burst, as Telegram
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video a corgi surfing at sunset")
    telegram.send_text(alice, "/jobs")

    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in str(c.params["text"]))
    assert (await bot.job(1)).state is JobState.DELIVERED
    paced = [c for c in telegram.calls if c.method.startswith(("send", "edit"))]
    assert len(paced) >= 4
    assert telegram.rate_limited_responses == 0


async def test_ten_videos_finishing_at_once_go_before_status_edits_without_a_429(
    telegram, apiframe, apiframe_settings, start_bot
):
    enforce_fast_limits(telegram)
    clock = PacerClock()
    bot = await start_bot(apiframe_settings(), rate_limiter=clock.fast_limiter)
    pacer = bot.parts.application.bot.rate_limiter
    alice = telegram.user(1001)
    for n in range(10):
        telegram.send_text(alice, f"/video fox number {n}")
    tasks = [await apiframe.wait_for_task() for _ in range(10)]

    # A progress edit is held at Telegram, so the chat's other messages queue up behind it.
    held = telegram.hold("editMessageText", chat_id=1001)
    try:
        for task in tasks:
            await apiframe.set_processing(task.task_id, 40)
        await held.arrived.wait()
        for task in tasks:
            await apiframe.finish(task.task_id)
        # The videos wait for their turn behind it (and show no "sending video"): as many as
        # one chat may deliver at once, the other two behind them in the bot.
        await clock.until(
            lambda: pacer.schedule.queued(1001, Priority.CONTENT) == DELIVERIES_PER_CHAT,
            "videos queued",
        )
        released_at = len(telegram.calls)
    finally:
        telegram.release("editMessageText")  # a held request would keep the fake from stopping

    await all_finished(telegram, 1001, 10)
    assert_one_final_per_status_message(telegram, 1001, 10)  # edited to "done", or deleted
    paced = [
        c.method
        for c in telegram.calls[released_at:]
        if c.method in ("sendVideo", "editMessageText")
    ]
    assert paced[0] == "editMessageText"  # the held one
    assert paced[1:11] == ["sendVideo"] * 10  # then the videos, before any waiting edit
    assert telegram.rate_limited_responses == 0
    for job_id in range(1, 11):
        assert (await bot.job(job_id)).state is JobState.DELIVERED


async def test_a_video_waiting_for_its_chats_turn_shows_no_sending_action_one_on_the_wire_does(
    telegram, apiframe, apiframe_settings, start_bot
):
    clock = PacerClock()
    bot = await start_bot(apiframe_settings(), rate_limiter=clock.fast_limiter)
    pacer = bot.parts.application.bot.rate_limiter
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    alices = await ask_for_video(telegram, apiframe, "/video a fox in line", alice)
    bobs = await ask_for_video(telegram, apiframe, "/video an owl on the wire", bob)

    # Alice's progress edit is held at Telegram, so her video waits for its chat's turn.
    held_edit = telegram.hold("editMessageText", chat_id=1001)
    held_video = telegram.hold("sendVideo", chat_id=1002)
    try:
        await apiframe.set_processing(alices.task_id, 40)
        await held_edit.arrived.wait()
        await apiframe.finish(alices.task_id)
        await clock.until(lambda: pacer.schedule.queued(1001) == 1, "Alice's video queued")
        # Bob's video starts later but goes on the wire at once, and stays there.
        await apiframe.finish(bobs.task_id)
        await held_video.arrived.wait()
        # The first "sending video" is Bob's, shown once his video has been on its way a
        # while; Alice's, waiting in line since before, shows nothing.
        action = await telegram.wait_for("sendChatAction")
        assert action.params["action"] == "upload_video"
        assert in_chat(action, 1002)
        assert [c for c in telegram.calls_to("sendChatAction") if in_chat(c, 1001)] == []
    finally:
        telegram.release("editMessageText")
        telegram.release("sendVideo")
    await all_finished(telegram, 1001, 1)
    await all_finished(telegram, 1002, 1)


@pytest.mark.telegram_limits
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's
async def test_after_a_429_the_chat_slows_down_and_provokes_no_second(
    telegram, make_settings, start_bot
):
    telegram.enforce_rate_limits = True
    # Telegram's 429 says it counts this chat stricter than one a second ("about" one).
    telegram.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    telegram.stricter_chat_limit(1001, 1.5)
    await start_bot(make_settings())
    alice = telegram.user(1001)
    for _ in range(3):
        telegram.send_text(alice, "/help")

    await telegram.wait_for_count("sendMessage", 3, lambda c: c.ok, timeout=20)
    statuses = [c.http_status for c in telegram.calls_to("sendMessage")]
    assert statuses == [429, 200, 200, 200]  # the injected 429, and no other
    assert telegram.rate_limited_responses == 0


PACED = ("sendMessage", "sendVideo", "editMessageText")


def in_chat(call, chat_id: int) -> bool:
    return str(call.params.get("chat_id")) == str(chat_id)


def paced_in(telegram, chat_id: int, since: int = 0) -> list[str]:
    """The message calls (what Telegram's limits count) the bot made in one chat."""
    return [c.method for c in telegram.calls[since:] if c.method in PACED and in_chat(c, chat_id)]


def finals_in(telegram, chat_id: int) -> list[Any]:
    """How status messages in the chat ended: edited to "Done", or deleted (busy chat)."""
    return [
        c
        for c in telegram.calls
        if in_chat(c, chat_id)
        and c.ok
        and (
            c.method == "deleteMessage"
            or (c.method == "editMessageText" and "Done" in str(c.params["text"]))
        )
    ]


async def all_finished(telegram, chat_id: int, jobs: int) -> None:
    await telegram.wait_for_count(
        "sendVideo", jobs, lambda c: in_chat(c, chat_id) and c.ok, timeout=20
    )
    await telegram.wait_until(lambda: len(finals_in(telegram, chat_id)) >= jobs, 20, "finals")


def assert_one_final_per_status_message(telegram, chat_id: int, jobs: int) -> None:
    statuses = {
        c.response["result"]["message_id"]
        for c in telegram.calls
        if c.method == "sendMessage" and in_chat(c, chat_id) and c.ok
    }
    finals = [c.params["message_id"] for c in finals_in(telegram, chat_id)]
    assert len(statuses) == jobs and sorted(finals) == sorted(statuses)


async def test_a_busy_chat_gets_three_calls_per_job_while_a_quiet_chat_sees_progress(
    telegram, apiframe, apiframe_settings, start_bot
):
    enforce_fast_limits(telegram)
    await start_bot(apiframe_settings())
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    bobs = await ask_for_video(telegram, apiframe, "/video a quiet lake", bob)
    for n in range(10):
        telegram.send_text(alice, f"/video fox number {n}")
    alices = [await apiframe.wait_for_task() for _ in range(10)]

    # Alice's first video is held at Telegram: her chat is busy for as long as it uploads.
    held = telegram.hold("sendVideo", chat_id=1001)
    try:
        await apiframe.finish(alices[0].task_id)
        await held.arrived.wait()
        for percentage in (40, 80):
            for task in [bobs, *alices[1:]]:
                await apiframe.set_processing(task.task_id, percentage)
            # Bob's chat is quiet: he sees every step.
            await telegram.wait_for(
                "editMessageText", lambda c, p=percentage: f"{p}%" in c.params["text"]
            )
            await polls_later(apiframe)
        for task in [bobs, *alices[1:]]:
            await apiframe.finish(task.task_id)
        await telegram.wait_for(
            "editMessageText", lambda c: in_chat(c, 1002) and "Done" in c.params["text"]
        )
    finally:
        telegram.release("sendVideo")

    await all_finished(telegram, 1001, 10)
    # Alice: per job her status message, the video, and the status message edited once to
    # "done" or deleted; no progress, no "ready".
    paced = paced_in(telegram, 1001)
    assert paced.count("sendMessage") == 10 and paced.count("sendVideo") == 10
    assert len(paced) + len(telegram.calls_to("deleteMessage")) == 30
    assert_one_final_per_status_message(telegram, 1001, 10)
    # Bob: the status message, 40 %, 80 %, the video and "done".
    assert paced_in(telegram, 1002) == [
        "sendMessage",
        "editMessageText",
        "editMessageText",
        "sendVideo",
        "editMessageText",
    ]
    assert telegram.rate_limited_responses == 0


async def test_twenty_videos_in_a_private_chat_and_a_group_go_videos_first_without_a_429(
    telegram, apiframe, apiframe_settings, start_bot
):
    enforce_fast_limits(telegram)  # the group's 20 a minute too, in a hundredth of the time
    clock = PacerClock()
    bot = await start_bot(apiframe_settings(), rate_limiter=clock.fast_limiter)
    pacer = bot.parts.application.bot.rate_limiter
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    group = telegram.group(-100777, "Video fans")
    for n in range(20):
        telegram.send_text(alice, f"/video fox number {n}")
        telegram.send_text(bob, f"/video@kling_test_bot owl number {n}", chat=group)
    tasks = [await apiframe.wait_for_task() for _ in range(40)]
    # Carol's job keeps running, so the bot keeps polling: `polls_later` can tell when it has
    # seen every other job finish.
    await ask_for_video(telegram, apiframe, "/video a slow snail", telegram.user(1003, "Carol"))

    # Each chat's first video is held at Telegram, so all 40 finish while every chat is busy.
    telegram.hold("sendVideo")
    try:
        for task in tasks:
            await apiframe.finish(task.task_id)
        await polls_later(apiframe)  # all 40 seen finished: each delivery running or next
        # and the group's window no longer counts its status messages, so its twenty videos
        # may go as fast as the private chat's (its deliveries do not hold up Alice's).
        await apiframe.wait(  # re-checked at each poll of Carol's job
            lambda: pacer.schedule.counted(-100777, time.monotonic()) == 0 or None,
            10.0,
            "the group's window clear",
        )
        # The sixteen deliveries that run at once (`CONCURRENT_DELIVERIES`, eight per chat):
        # each chat's first video on the wire (held), fourteen queued behind them; the others
        # start as those end.
        await clock.until(
            lambda: pacer.schedule.queued(1001) + pacer.schedule.queued(-100777) == 14,
            "fourteen videos queued",
        )
        released_at = len(telegram.calls)
    finally:
        telegram.release("sendVideo")

    for chat_id in (1001, -100777):
        await all_finished(telegram, chat_id, 20)
        # The videos first; then only the final edits of status messages not deleted.
        paced = paced_in(telegram, chat_id, released_at)
        assert paced[:20] == ["sendVideo"] * 20
        assert set(paced[20:]) <= {"editMessageText"}
        assert_one_final_per_status_message(telegram, chat_id, 20)
        # Per job: the status message, the video, and one edit or deletion.
        assert len(paced_in(telegram, chat_id)) <= 3 * 20
    assert telegram.rate_limited_responses == 0
    for job_id in range(1, 41):
        assert (await bot.job(job_id)).state is JobState.DELIVERED

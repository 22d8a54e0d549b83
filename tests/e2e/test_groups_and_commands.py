"""Group chats, /jobs and /cancel."""

from __future__ import annotations

from bot.jobs import JobState
from tests.e2e.conftest import ask_for_video


async def test_group_command_with_bot_name_and_reply_to_requester(
    telegram, make_settings, start_bot
):
    await start_bot(make_settings())
    group = telegram.group(-100777, "Video fans")
    alice = telegram.user(1001, "Alice", username="alice")
    bob = telegram.user(1002, "Bob")
    telegram.send_text(bob, "hi all, nice weather", chat=group)
    telegram.send_text(bob, "/video@some_other_bot a ship", chat=group)
    request = telegram.send_text(alice, "/video@kling_test_bot a dragon over the city", chat=group)

    status = await telegram.wait_for("sendMessage")
    assert status.params["chat_id"] == group["id"]
    assert status.params["reply_parameters"]["message_id"] == request["message_id"]
    video = await telegram.wait_for("sendVideo")
    assert video.params["chat_id"] == group["id"]
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    assert video.params["caption"] == "@alice: a dragon over the city"
    # Chatter and the other bot's command came first and got no answer at all.
    assert len(telegram.calls_to("sendMessage")) == 1


async def test_group_photo_without_command_is_ignored(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    group = telegram.group(-100778)
    alice = telegram.user(1001)
    from tests.e2e.conftest import jpeg

    telegram.send_photo(alice, jpeg(), caption="my holiday", chat=group)
    telegram.send_photo(alice, jpeg(), caption="/video@kling_test_bot the sea moves", chat=group)
    await telegram.wait_for("sendVideo")
    assert len(telegram.calls_to("sendMessage")) == 1  # one status message, for the command
    job = await bot.job(1)
    assert job.prompt == "the sea moves"
    assert await bot.job(2) is None


async def test_jobs_lists_recent_jobs(telegram, make_settings, start_bot):
    await start_bot(make_settings(sandbox_delay=60))
    alice = telegram.user(1001)
    telegram.send_text(alice, "/jobs")
    empty = await telegram.wait_for("sendMessage")
    assert "no videos yet" in empty.params["text"]
    for prompt in ("first fox", "second fox"):
        telegram.send_text(alice, f"/video {prompt}")
    telegram.send_text(telegram.user(1002), "/video not alice's")
    telegram.send_text(alice, "/jobs")
    listing = await telegram.wait_for("sendMessage", lambda c: "recent" in c.params["text"])
    lines = listing.params["text"].splitlines()
    # Job numbers depend on which chat's update ran first (chats are handled side by side).
    assert " · queued · " in lines[1] and lines[1].endswith("second fox")
    assert " · queued · " in lines[2] and lines[2].endswith("first fox")
    assert len(lines) == 3


async def test_cancel_latest_and_cancelled_job_is_never_delivered(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    doomed = await ask_for_video(telegram, apiframe, "/video doomed", alice)
    telegram.send_text(alice, "/cancel")
    answer = await telegram.wait_for("sendMessage", lambda c: "cancelled" in c.params["text"])
    assert answer.params["text"] == (
        "🚫 Video #1 cancelled. It will not be sent. The video service cannot be stopped and "
        "may still be making it, so it counts toward your videos in progress until the service "
        "finishes (at most 30 min)."
    )
    await telegram.wait_for("editMessageText", lambda c: "Cancelled" in c.params["text"])
    assert (await bot.job(1)).state is JobState.CANCELLED

    # The provider finishes anyway; a later job is delivered, the cancelled one never.
    await apiframe.finish(doomed.task_id)
    kept = await ask_for_video(telegram, apiframe, "/video kept", alice)
    await apiframe.finish(kept.task_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for(
        "editMessageText", lambda c: "#2" in c.params["text"] and "Done" in c.params["text"]
    )
    assert [c.params["caption"] for c in telegram.calls_to("sendVideo")] == ["kept"]
    assert (await bot.job(1)).state is JobState.CANCELLED


async def test_cancel_by_number_and_errors(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(sandbox_delay=60))
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    telegram.send_text(alice, "/cancel")
    assert (await telegram.wait_for("sendMessage")).params[
        "text"
    ] == "You have no video in progress."
    telegram.send_text(alice, "/video one")
    telegram.send_text(alice, "/video two")
    telegram.send_text(bob, "/cancel 1")
    telegram.send_text(alice, "/cancel abc")
    telegram.send_text(alice, "/cancel #1")
    answers = await telegram.wait_for_count(
        "sendMessage", 4, lambda c: not c.params["text"].startswith("🎬")
    )
    texts = [c.params["text"] for c in answers]
    assert texts[1] == "Video #1 is not one of your videos in progress."  # Bob's attempt
    assert "/cancel <video number>" in texts[2]
    assert texts[3] == "🚫 Video #1 cancelled. It will not be sent."
    assert (await bot.job(1)).state is JobState.CANCELLED
    assert (await bot.job(2)).state is JobState.QUEUED

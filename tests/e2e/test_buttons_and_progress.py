"""The status message (progress bar, time, Cancel) and the buttons under results and lists."""

from __future__ import annotations

from bot.jobs import JobKind, JobState, NewJob, Requester
from tests.e2e.conftest import ask_for_video, polls_later
from tests.fakes.telegram.calls import buttons, text_of


async def test_status_shows_progress_bar_time_and_cancel(
    telegram, apiframe, apiframe_settings, start_bot
):
    await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    task = await ask_for_video(telegram, apiframe, "/video --ar 9:16 waves", alice)
    status = await telegram.wait_for("sendMessage")
    assert buttons(status) == ["stop:1"]
    assert "⏱ 0:0" in text_of(status) and "9:16" in text_of(status)
    await apiframe.set_processing(task.task_id, 40)
    edit = await telegram.wait_for("editMessageText", lambda c: "40%" in text_of(c))
    lines = text_of(edit).splitlines()
    assert lines[:3] == ["🎬 Video #1 · apiframe", "⚙️ Generating: 40%", "▰▰▰▰▱▱▱▱▱▱"]
    assert lines[3].startswith("⏱ ") and lines[4] == "9:16"
    assert buttons(edit) == ["stop:1"]
    await apiframe.finish(task.task_id)
    done = await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))
    assert "reply_markup" not in done.params  # nothing left to cancel


async def test_progress_edits_stay_throttled(telegram, apiframe, apiframe_settings, start_bot):
    await start_bot(apiframe_settings(status_edit_interval=3600))
    task = await ask_for_video(telegram, apiframe, "/video waves")
    for percentage in (10, 20, 30, 40, 50):
        await apiframe.set_processing(task.task_id, percentage)
        await polls_later(apiframe)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))
    edits = [text_of(c) for c in telegram.calls_to("editMessageText")]
    # The first progress report, then done: 4 reports were skipped, and "ready, sending" is
    # never an edit of its own (the delivery's "done" follows at once).
    assert len(edits) == 2
    assert "10%" in edits[0] and "Done" in edits[1]


async def test_cancel_button_on_the_status_message(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    await ask_for_video(telegram, apiframe, "/video doomed", alice)
    status = (await telegram.wait_for("sendMessage")).response["result"]
    telegram.press_button(bob, status, "stop:1")  # not his video
    refused = await telegram.wait_for("answerCallbackQuery")
    assert refused.params["text"] == "Video #1 is not one of your videos in progress."
    telegram.press_button(alice, status, "stop:1")
    answer = await telegram.wait_for_count("answerCallbackQuery", 2)
    # APIFRAME already holds the task and cannot be told to stop: the answer says so.
    assert answer[1].params["text"].startswith("🚫 Video #1 cancelled. It will not be sent.")
    assert "cannot be stopped" in answer[1].params["text"]
    edit = await telegram.wait_for("editMessageText", lambda c: "Cancelled" in text_of(c))
    assert edit.params["message_id"] == status["message_id"] and "reply_markup" not in edit.params
    assert (await bot.job(1)).state is JobState.CANCELLED


async def test_again_makes_a_new_job_with_the_same_request(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video -d 10 a paper boat")
    video = await telegram.wait_for("sendVideo")
    assert video.params["caption"] == "a paper boat\n\n10 s"
    assert buttons(video) == ["again:1", "settings"]
    assert video.params["supports_streaming"] is True
    assert (video.params["width"], video.params["height"], video.params["duration"]) == (
        320,
        180,
        2,
    )  # read from the sandbox clip's header
    message = video.response["result"]
    held = telegram.hold("sendMessage")  # the new job's status message waits...
    try:
        query = telegram.press_button(alice, message, "again:1")
        answered = await telegram.wait_for("answerCallbackQuery")  # ...the press goes first
        assert answered.params["callback_query_id"] == query["id"]
        await held.arrived.wait()
    finally:
        telegram.release("sendMessage")  # a held request would keep the fake from stopping
    second = await telegram.wait_for("sendMessage", lambda c: "Video #2" in text_of(c))
    assert second.params["reply_parameters"]["message_id"] == message["message_id"]
    await telegram.wait_for_count("sendVideo", 2)
    job = await bot.job(2)
    assert job.prompt == "a paper boat" and job.params["duration"] == 10

    telegram.press_button(alice, message, "settings")
    panel = await telegram.wait_for("sendMessage", lambda c: "⚙️ Your settings" in text_of(c))
    assert "set:m" in buttons(panel)


async def test_again_is_only_for_the_requester(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    group = telegram.group(-100400)
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    telegram.send_text(alice, "/video a kite", chat=group)
    video = await telegram.wait_for("sendVideo")
    telegram.press_button(bob, video.response["result"], "again:1")
    refused = await telegram.wait_for("answerCallbackQuery")
    assert refused.params["text"] == "Only the person who asked for this video can do that."
    assert refused.params["show_alert"] is True
    assert await bot.job(2) is None


async def start_with_jobs(start_bot, make_settings, count: int):
    """A bot whose sandbox takes a minute, with `count` queued jobs of Alice's (user 1001)."""
    bot = await start_bot(make_settings(sandbox_delay=60))
    user_id = 1001
    for n in range(1, count + 1):
        await bot.parts.store.create_job(
            NewJob(
                requester=Requester(user_id, user_id, 100 + n),
                kind=JobKind.TEXT,
                prompt=f"fox number {n}",
                provider="sandbox",
                params={"duration": 5},
            )
        )
    return bot


async def test_jobs_pages_and_details(telegram, make_settings, start_bot):
    bot = await start_with_jobs(start_bot, make_settings, 7)
    alice = telegram.user(1001)
    telegram.send_text(alice, "/jobs")
    listing = await telegram.wait_for("sendMessage")
    lines = text_of(listing).splitlines()
    assert lines[1].startswith("#7 · queued") and lines[5].startswith("#3 · queued")
    assert lines[-1] == "Page 1 of 2"
    assert buttons(listing) == [
        "job:1001:7:1",
        "job:1001:6:1",
        "job:1001:5:1",
        "job:1001:4:1",
        "job:1001:3:1",
        "jobs:1001:2",
    ]
    message = listing.response["result"]

    telegram.press_button(telegram.user(1002, "Bob"), message, "jobs:1001:2")
    refused = await telegram.wait_for("answerCallbackQuery")
    assert "someone else" in refused.params["text"]

    telegram.press_button(alice, message, "jobs:1001:2")
    page2 = await telegram.wait_for("editMessageText")
    assert text_of(page2).splitlines()[1].startswith("#2 · queued")
    assert buttons(page2) == ["job:1001:2:2", "job:1001:1:2", "jobs:1001:1"]
    telegram.press_button(alice, message, "job:1001:1:2")
    details = await telegram.wait_for("editMessageText", lambda c: "🎬 Video #1" in text_of(c))
    assert text_of(details).startswith("🎬 Video #1\n⏳ Queued · sandbox")
    assert "5 s" in text_of(details)
    assert buttons(details) == ["cancel:1", "jobs:1001:2"]
    telegram.press_button(alice, message, "cancel:1")
    await telegram.wait_for("editMessageText", lambda c: "cancelled" in text_of(c))
    assert (await bot.job(1)).state is JobState.CANCELLED


async def test_cancel_asks_which_when_several_run(telegram, make_settings, start_bot):
    bot = await start_with_jobs(start_bot, make_settings, 2)
    alice = telegram.user(1001)
    telegram.send_text(alice, "/cancel")
    question = await telegram.wait_for("sendMessage")
    assert "Which one" in text_of(question)
    assert buttons(question) == ["cancel:2", "cancel:1"]
    telegram.press_button(alice, question.response["result"], "cancel:1")
    edit = await telegram.wait_for("editMessageText")
    assert text_of(edit) == "🚫 Video #1 cancelled. It will not be sent."
    assert "reply_markup" not in edit.params
    assert (await bot.job(1)).state is JobState.CANCELLED
    assert (await bot.job(2)).state is JobState.QUEUED


async def add_job(bot, user_id: int, chat_id: int, prompt: str) -> int:
    job = await bot.parts.store.create_job(
        NewJob(
            requester=Requester(user_id, chat_id, 100),
            kind=JobKind.TEXT,
            prompt=prompt,
            provider="sandbox",
        )
    )
    return int(job.id)


async def test_forged_buttons_never_edit_a_message_or_leak_a_prompt(
    telegram, make_settings, start_bot
):
    """Callback data is whatever a client sends: pressed under Alice's list in a group, data
    naming other users' jobs, other chats, huge numbers or garbage edits nothing and shows no
    prompt; each press gets a short answer. A group's list shows only that group's videos."""
    bot = await start_bot(make_settings(sandbox_delay=60))
    group = telegram.group(-100400)
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    telegram.set_admin(group["id"], alice["id"])
    diary = await add_job(bot, 1001, 1001, "alice's private diary")
    here = await add_job(bot, 1001, group["id"], "a fox in the group")
    secret = await add_job(bot, 1002, 1002, "bob's secret plan")
    elsewhere = await add_job(bot, 1002, -100500, "bob's other group")

    telegram.send_text(alice, "/jobs", chat=group)
    listing = await telegram.wait_for("sendMessage")
    assert "a fox in the group" in text_of(listing) and "diary" not in text_of(listing)
    assert buttons(listing) == [f"job:1001:{here}:1"]
    message = listing.response["result"]
    telegram.press_button(alice, message, f"job:1001:{here}:1")
    details = await telegram.wait_for("editMessageText")
    assert "a fox in the group" in text_of(details)

    forged = [
        (bob, "jobs:1001:1"),  # the Back button this message shows, but Alice's list
        (bob, "jobs:1002:1"),
        (bob, f"job:1002:{secret}:1"),
        (bob, f"job:1002:{elsewhere}:1"),
        (bob, f"cancel:{secret}"),
        (bob, f"stop:{secret}"),
        (bob, f"again:{secret}"),
        (bob, f"cancel:{here}"),  # a real button, but not his video
        (alice, f"job:1001:{diary}:1"),  # her own, but made in another chat
        (alice, "jobs:1001:2"),  # her own list, but not a button this message shows
        (alice, "set:main"),  # she administers the group: still not a settings panel
        (alice, "settings"),
        (alice, "job:1001:99999999999999999999999:1"),
        (alice, "jobs:1001:²"),
        (alice, "job:1001"),
        (alice, "jobs:1001:1:1:1"),
        (alice, "💥"),
    ]
    for user, data in forged:
        query = telegram.press_button(user, message, data, strict=False)
        answer = await telegram.wait_for(
            "answerCallbackQuery", lambda c, q=query: c.params["callback_query_id"] == q["id"]
        )
        assert answer.params.get("text"), data  # a short answer, not silence

    telegram.press_button(alice, message, "jobs:1001:1")  # the real Back button
    back = await telegram.wait_for_count("editMessageText", 2)
    assert "Your recent videos" in text_of(back[1])
    assert len(telegram.calls_to("editMessageText")) == 2  # only Alice's two real presses
    shown = [text_of(c) for c in telegram.calls_to("sendMessage")]
    shown += [text_of(c) for c in telegram.calls_to("editMessageText")]
    assert not any("secret" in text or "diary" in text or "other group" in text for text in shown)
    for job_id in (diary, here, secret, elsewhere):
        assert (await bot.job(job_id)).state is JobState.QUEUED
    assert await bot.job(elsewhere + 1) is None  # "Again" made nothing


async def test_cancel_in_a_group_offers_only_that_groups_videos(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(sandbox_delay=60))
    group = telegram.group(-100400)
    alice = telegram.user(1001, "Alice")
    diary = await add_job(bot, 1001, 1001, "alice's private diary")
    first = await add_job(bot, 1001, group["id"], "a fox in the group")
    second = await add_job(bot, 1001, group["id"], "a kite in the group")
    telegram.send_text(alice, "/cancel", chat=group)
    question = await telegram.wait_for("sendMessage")
    assert buttons(question) == [f"cancel:{second}", f"cancel:{first}"]
    labels = [b["text"] for row in question.params["reply_markup"]["inline_keyboard"] for b in row]
    assert not any("diary" in label for label in labels)
    telegram.press_button(alice, question.response["result"], f"cancel:{first}")
    await telegram.wait_for("editMessageText")
    telegram.send_text(alice, "/cancel", chat=group)  # one left here: stopped at once
    await telegram.wait_for("sendMessage", lambda c: f"#{second} cancelled" in text_of(c))
    assert (await bot.job(diary)).state is JobState.QUEUED
    telegram.send_text(alice, "/cancel", chat=group)
    await telegram.wait_for("sendMessage", lambda c: "no video in progress" in text_of(c))
    assert (await bot.job(diary)).state is JobState.QUEUED

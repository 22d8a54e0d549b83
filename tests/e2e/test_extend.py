"""The Extend button through the real Application: under a video from a provider that makes
videos longer (Kling), its press makes an extension of that video; elsewhere no such button."""

from __future__ import annotations

from bot.jobs import JobKind, JobState
from tests.e2e.conftest import ask_for_video
from tests.e2e.test_providers import aimlapi_settings, kling_settings
from tests.fakes.telegram.calls import buttons, text_of


async def test_extend_makes_the_delivered_video_longer(telegram, kling, make_settings, start_bot):
    bot = await start_bot(kling_settings(make_settings, kling))
    alice = telegram.user(1001)
    first = await ask_for_video(telegram, kling, "/video a paper boat")
    await kling.finish(first.task_id)
    video = await telegram.wait_for("sendVideo")
    assert buttons(video) == ["again:1", "extend:1", "settings"]
    await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))

    telegram.press_button(alice, video.response["result"], "extend:1")
    longer = await kling.wait_for_task()
    assert longer.kind == "video-extend"
    assert longer.request == {"video_id": f"v-{first.task_id}", "external_task_id": "job-2"}
    job = await bot.job(2)
    assert job.kind is JobKind.EXTEND and job.params["extend_of"] == f"text2video:{first.task_id}"
    status = await telegram.wait_for("sendMessage", lambda c: "Video #2" in text_of(c))
    assert status.params["reply_parameters"]["message_id"] == video.response["result"]["message_id"]
    await kling.finish(longer.task_id)
    second = (await telegram.wait_for_count("sendVideo", 2))[-1]
    assert second.params["caption"] == "⏩ video #1, made longer"
    assert buttons(second) == ["again:2", "extend:2", "settings"]  # extended again, up to 3 min
    await telegram.wait_for(
        "editMessageText", lambda c: "Video #2" in text_of(c) and "Done" in text_of(c)
    )
    assert (await bot.job(2)).state is JobState.DELIVERED


async def test_only_the_requester_extends(telegram, kling, make_settings, start_bot):
    await start_bot(kling_settings(make_settings, kling))
    group = telegram.group(-100500)
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    telegram.send_text(alice, "/video a kite", chat=group)
    task = await kling.wait_for_task()
    await kling.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    telegram.press_button(bob, video.response["result"], "extend:1")
    answer = await telegram.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Only the person who asked for this video can do that."
    assert len(kling.tasks) == 1


async def test_no_extend_button_where_the_provider_cannot(
    telegram, aimlapi, make_settings, start_bot
):
    await start_bot(aimlapi_settings(make_settings, aimlapi))
    task = await ask_for_video(telegram, aimlapi, "/video a paper boat")
    await aimlapi.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    assert buttons(video) == ["again:1", "settings"]

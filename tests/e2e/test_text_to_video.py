"""`/video <prompt>` end to end: status message, progress edits, the video as a reply."""

from __future__ import annotations

from bot.jobs import JobState
from bot.providers.sandbox import CLIP_PATH
from tests.e2e.conftest import APIFRAME_KEY, ask_for_video, polls_later
from tests.fakes.media import SAMPLE_MP4


def status_of(call) -> str:
    return str(call.params["text"])


async def test_start_registers_commands_and_help_explains(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    commands = await telegram.wait_for("setMyCommands")
    names = [command["command"] for command in commands.params["commands"]]
    assert {"video", "jobs", "cancel", "help"} <= set(names)
    alice = telegram.user(1001)
    telegram.send_text(alice, "/start")
    answer = await telegram.wait_for("sendMessage")
    assert answer.params["chat_id"] == alice["id"]
    assert "/video" in status_of(answer) and "photo" in status_of(answer)
    telegram.send_text(alice, "/help")
    assert (await telegram.wait_for_count("sendMessage", 2))[1].params["text"] == status_of(answer)


async def test_sandbox_text_to_video(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    request = telegram.send_text(alice, "/video a corgi surfing at sunset")

    status = await telegram.wait_for("sendMessage")
    assert status_of(status).startswith("🎬 Video #1 · sandbox")
    assert "Queued" in status_of(status)
    assert status.params["reply_parameters"]["message_id"] == request["message_id"]

    video = await telegram.wait_for("sendVideo")
    assert video.params["chat_id"] == alice["id"]
    assert video.params["caption"] == "a corgi surfing at sunset"
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    assert video.files["video"].data == CLIP_PATH.read_bytes()
    status_id = status.response["result"]["message_id"]
    await telegram.wait_for(
        "editMessageText",
        lambda c: c.params["message_id"] == status_id and "Done" in status_of(c),
    )
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_apiframe_text_to_video_reports_progress(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    request = telegram.send_text(alice, "/video@kling_test_bot a fox in the snow\nslow motion")

    task = await apiframe.wait_for_task()
    create = await apiframe.wait_for("/kling-imagine")
    assert create.headers["authorization"] == APIFRAME_KEY
    assert create.json == {
        "prompt": "a fox in the snow\nslow motion",
        "generation_type": "text2video",
    }
    status = await telegram.wait_for("sendMessage")
    assert "apiframe" in status_of(status)

    await apiframe.set_processing(task.task_id, 40)
    await telegram.wait_for("editMessageText", lambda c: "Generating: 40%" in status_of(c))

    url = await apiframe.finish(task.task_id, SAMPLE_MP4)
    video = await telegram.wait_for("sendVideo")
    assert video.params["video"] == url  # sent by URL: Telegram fetched it from the provider
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    assert video.params["supports_streaming"] is True
    await telegram.wait_for("editMessageText", lambda c: "Done" in status_of(c))
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED and job.result_url == url


async def test_video_without_prompt_gets_usage_and_no_job(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video")
    usage = await telegram.wait_for("sendMessage")
    assert "/video a corgi" in status_of(usage)
    telegram.send_text(alice, "/video   ")
    await telegram.wait_for_count("sendMessage", 2)
    assert apiframe.tasks == {}
    assert await bot.job(1) is None


async def test_prompt_over_the_limit_is_refused(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    telegram.send_text(telegram.user(1001), "/video " + "x" * 2501)
    answer = await telegram.wait_for("sendMessage")
    assert "too long" in status_of(answer) and "2500" in status_of(answer)
    assert await bot.job(1) is None


async def test_private_chatter_gets_a_hint(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    telegram.send_text(telegram.user(1001), "hello?")
    hint = await telegram.wait_for("sendMessage")
    assert "/video" in status_of(hint)


async def test_progress_edits_are_throttled(telegram, apiframe, apiframe_settings, start_bot):
    await start_bot(apiframe_settings(status_edit_interval=3600))
    task = await ask_for_video(telegram, apiframe, "/video waves")
    for percentage in (10, 20, 30, 40):
        await apiframe.set_processing(task.task_id, percentage)
        await polls_later(apiframe)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in status_of(c))
    progress_edits = [
        c for c in telegram.calls_to("editMessageText") if "Generating" in status_of(c)
    ]
    assert len(progress_edits) == 1  # the first progress edit; the rest fell inside the interval
    assert "10%" in status_of(progress_edits[0])


async def test_provider_failure_is_explained(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings())
    alice = telegram.user(1001)
    request = telegram.send_text(alice, "/video something odd")
    task = await apiframe.wait_for_task()
    await apiframe.fail(task.task_id, "Prompt rejected by the safety filter")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in status_of(c))
    assert status_of(notice) == "❌ Video #1 failed: Prompt rejected by the safety filter"
    assert notice.params["reply_parameters"]["message_id"] == request["message_id"]
    await telegram.wait_for("editMessageText", lambda c: "❌ Failed" in status_of(c))
    assert (await bot.job(1)).state is JobState.FAILED
    assert telegram.calls_to("sendVideo") == []


async def test_submit_refusal_is_explained(telegram, apiframe, apiframe_settings, start_bot):
    await start_bot(apiframe_settings())
    apiframe.fail_next(
        "/kling-imagine", status=400, body={"errors": [{"msg": "prompt is invalid"}]}
    )
    telegram.send_text(telegram.user(1001), "/video ???")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in status_of(c))
    assert "prompt is invalid" in status_of(notice)


async def test_bad_provider_key_tells_user_service_unavailable(
    telegram, apiframe, apiframe_settings, start_bot
):
    await start_bot(apiframe_settings(apiframe_api_key="wrong-key-123"))
    telegram.send_text(telegram.user(1001), "/video a cat")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in status_of(c))
    assert "temporarily unavailable" in status_of(notice)
    assert "key" not in status_of(notice).lower()


async def test_unfinished_job_times_out(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings(job_timeout=0.5))
    await ask_for_video(telegram, apiframe, "/video forever")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in status_of(c))
    assert "did not finish" in status_of(notice)
    assert (await bot.job(1)).state is JobState.FAILED


async def test_provider_never_sees_the_bot_token(telegram, apiframe, apiframe_settings, start_bot):
    await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video tokens")
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    secret = telegram.token.split(":", 1)[1]
    for request in apiframe.requests:
        seen = request.body.decode(errors="replace") + str(request.headers) + request.path
        assert secret not in seen

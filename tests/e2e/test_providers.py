"""Each provider end to end through the bot: text-to-video and image-to-video, and failover."""

from __future__ import annotations

from bot.jobs import JobState
from tests.e2e.conftest import (
    AIMLAPI_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
    ask_for_video,
    free_port,
    jpeg,
)


def aimlapi_settings(make_settings, fake, name="aimlapi", **overrides):
    values = {
        "video_providers": name,
        f"{name}_api_key": AIMLAPI_KEY,
        f"{name}_base_url": fake.url,
    }
    values.update(overrides)
    return make_settings(**values)


async def test_aimlapi_text_to_video(telegram, aimlapi, make_settings, start_bot):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    request = telegram.send_text(telegram.user(1001), "/video a koi pond in the rain")
    task = await aimlapi.wait_for_task()
    create = await aimlapi.wait_for("/v2/generate/video/kling/generation")
    assert create.headers["authorization"] == f"Bearer {AIMLAPI_KEY}"
    assert task.request == {
        "model": "kling-video/v1.6/standard/text-to-video",
        "prompt": "a koi pond in the rain",
    }
    await aimlapi.set_generating(task.task_id)
    await aimlapi.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_aimlapi_image_to_video_sends_base64(telegram, aimlapi, make_settings, start_bot):
    await start_bot(aimlapi_settings(make_settings, aimlapi))
    photo = jpeg(720, 720, "navy")
    telegram.send_photo(telegram.user(1001), photo, caption="the waves roll in")
    task = await aimlapi.wait_for_task()
    assert task.request["model"] == "kling-video/v1.6/standard/image-to-video"
    assert task.request["image_url"].startswith("data:image/jpeg;base64,")
    assert task.image_bytes == photo  # no public URL needed: the photo itself travelled
    await aimlapi.finish(task.task_id)
    await telegram.wait_for("sendVideo")


async def test_aimlapi_failure_reason_reaches_the_user(telegram, aimlapi, make_settings, start_bot):
    await start_bot(aimlapi_settings(make_settings, aimlapi))
    task = await ask_for_video(telegram, aimlapi, "/video something")
    await aimlapi.fail(task.task_id, "Generation failed: NSFW")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "Generation failed: NSFW" in notice.params["text"]


async def test_apilaplas_image_to_video_with_string_duration(
    telegram, apilaplas, make_settings, start_bot
):
    await start_bot(aimlapi_settings(make_settings, apilaplas, "apilaplas"))
    photo = jpeg(640, 640, "gold")
    telegram.send_photo(telegram.user(1001), photo, caption="leaves fall")
    task = await apilaplas.wait_for_task()
    assert task.request["model"] == "kling-video/v1.6/standard/image-to-video"
    assert task.image_bytes == photo
    await apilaplas.finish(task.task_id)
    await telegram.wait_for("sendVideo")


async def test_apilaplas_refuses_text_jobs_before_any_call(
    telegram, apilaplas, make_settings, start_bot
):
    bot = await start_bot(aimlapi_settings(make_settings, apilaplas, "apilaplas"))
    telegram.send_text(telegram.user(1001), "/video text only")
    answer = await telegram.wait_for("sendMessage")
    assert (
        answer.params["text"]
        == "I can't make that video: this provider does not make text-to-video."
    )
    assert apilaplas.requests == []
    assert await bot.job(1) is None


async def test_failover_from_empty_balance_delivers_one_video(
    telegram, aimlapi, apiframe, apiframe_settings, start_bot
):
    settings = apiframe_settings(
        video_providers="aimlapi,apiframe",
        aimlapi_api_key=AIMLAPI_KEY,
        aimlapi_base_url=aimlapi.url,
    )
    aimlapi.credits = 0  # AI/ML answers 403 when the balance is empty
    bot = await start_bot(settings)
    task = await ask_for_video(telegram, apiframe, "/video a balloon")
    await telegram.wait_for(
        "editMessageText", lambda c: "aimlapi is unavailable, trying apiframe" in c.params["text"]
    )
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert len(telegram.calls_to("sendVideo")) == 1
    assert aimlapi.tasks == {}
    # Asked once: waiting does not refill a balance, so an empty one is not retried.
    assert [r.method for r in aimlapi.requests if r.path.endswith("/generation")] == ["POST"]
    job = await bot.job(1)
    assert job.provider == "apiframe" and job.state is JobState.DELIVERED


def kling_settings(make_settings, fake, **overrides):
    values = {
        "video_providers": "kling",
        "kling_access_key": KLING_ACCESS,
        "kling_secret_key": KLING_SECRET,
        "kling_base_url": fake.url,
    }
    values.update(overrides)
    return make_settings(**values)


def makevid_settings(make_settings, fake, **overrides):
    values = {
        "video_providers": "makevid",
        "makevid_api_key": KLING_ACCESS,  # the makevid fake takes its access key as the API key
        "makevid_base_url": fake.url,
    }
    values.update(overrides)
    return make_settings(**values)


async def test_kling_text_to_video_by_polling(telegram, kling, make_settings, start_bot):
    bot = await start_bot(kling_settings(make_settings, kling))
    task = await ask_for_video(telegram, kling, "/video a paper boat on a river")
    assert task.kind == "text2video"
    assert task.request["prompt"] == "a paper boat on a river"
    assert task.request["model_name"] == "kling-v1-6"
    assert task.external_task_id == "job-1"  # our idempotency key
    await kling.set_processing(task.task_id)
    await kling.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_kling_image_to_video_with_callbacks(telegram, kling, make_settings, start_bot):
    port = free_port()
    settings = kling_settings(
        make_settings,
        kling,
        public_url=f"http://127.0.0.1:{port}",
        listen_host="127.0.0.1",
        port=port,
        webhook_secret=WEBHOOK_SECRET,
        callback_poll_interval=3600,
    )
    await start_bot(settings)
    photo = jpeg(800, 500, "maroon")
    telegram.send_photo(telegram.user(1001), photo, caption="the flag waves")
    task = await kling.wait_for_task()
    assert task.kind == "image2video"
    assert task.image_bytes == photo  # raw base64, no public link needed
    assert task.callback_url.startswith(f"{settings.public_url}/callbacks/kling/")
    await kling.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    assert [r for r in kling.requests if r.method == "GET" and "/v1/videos/" in r.path] == []


async def test_makevid_text_and_image_to_video(telegram, makevid, make_settings, start_bot):
    await start_bot(makevid_settings(make_settings, makevid))
    alice = telegram.user(1001)
    text_task = await ask_for_video(telegram, makevid, "/video fog over the hills", alice)
    assert text_task.kind == "text2video" and text_task.request["prompt"] == "fog over the hills"
    await makevid.finish(text_task.task_id)
    await telegram.wait_for("sendVideo")
    photo = jpeg(400, 400, "olive")
    telegram.send_photo(alice, photo, caption="the fog lifts")
    image_task = await makevid.wait_for_task()
    assert image_task.kind == "image2video" and image_task.image_bytes == photo
    await makevid.finish(image_task.task_id)
    await telegram.wait_for_count("sendVideo", 2)

"""A submit whose answer is lost (a 500 after the provider accepted, a read timeout) leaves a
job the provider may be making and billing: it is reconciled where the provider offers a way,
delivered once, and never sent again; elsewhere the user is told plainly."""

from __future__ import annotations

import pytest

from bot.jobs import JobState
from tests.e2e.conftest import AIMLAPI_KEY, ask_for_video
from tests.e2e.test_providers import kling_settings

KLING_CREATE = "/v1/videos/text2video"
AIMLAPI_CREATE = "/v2/generate/video/kling/generation"
CHECKING = "checking whether it got your request"


def creates(fake, path):
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


@pytest.mark.parametrize("lost_answer", ["500 after accepting", "read timeout"])
async def test_kling_unanswered_submit_is_found_by_our_id_and_delivered_once(
    telegram, kling, make_settings, start_bot, lost_answer
):
    settings = kling_settings(make_settings, kling, provider_timeout=0.5)
    if lost_answer == "500 after accepting":
        kling.fail_next(KLING_CREATE, status=500, accepted=True)
    else:
        kling.stall(KLING_CREATE)  # the answer comes after the bot stopped waiting
    bot = await start_bot(settings)
    request = telegram.send_text(telegram.user(1001), "/video a lighthouse in fog")
    await telegram.wait_for("editMessageText", lambda c: CHECKING in c.params["text"])
    kling.release()
    task = await kling.wait_for_task()
    await kling.wait_for(f"{KLING_CREATE}/job-1")  # looked up by its external_task_id
    await kling.set_processing(task.task_id)
    await kling.finish(task.task_id)

    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED
    assert job.provider_task_id == f"text2video:{task.task_id}"
    assert len(creates(kling, KLING_CREATE)) == 1  # never sent again
    assert len(telegram.calls_to("sendVideo")) == 1
    assert not [c for c in telegram.calls_to("sendMessage") if "failed" in c.params["text"]]


async def test_kling_task_never_made_fails_plainly_after_the_reconcile_timeout(
    telegram, kling, make_settings, start_bot
):
    await start_bot(kling_settings(make_settings, kling, reconcile_timeout=0.5))
    kling.fail_next(KLING_CREATE, status=500)  # refused before any task was made
    telegram.send_text(telegram.user(1001), "/video nothing came of it")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "did not answer in time" in notice.params["text"]
    assert [r for r in kling.requests if r.path == f"{KLING_CREATE}/job-1"], "it was looked up"
    assert len(creates(kling, KLING_CREATE)) == 1 and kling.tasks == {}
    assert telegram.calls_to("sendVideo") == []


async def test_apiframe_unanswered_submit_is_adopted_from_its_callback_and_delivered_once(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings(callback_poll_interval=3600))
    apiframe.fail_next("/kling-imagine", status=500, accepted=True)
    task = await ask_for_video(telegram, apiframe, "/video a kite over the dunes")
    await telegram.wait_for("editMessageText", lambda c: CHECKING in c.params["text"])
    assert (await bot.job(1)).provider_task_id is None  # the bot never heard the task id

    await apiframe.set_processing(task.task_id, 30)  # the callback names the task
    await telegram.wait_for("editMessageText", lambda c: "30%" in c.params["text"])
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED and job.provider_task_id == task.task_id
    assert [d.status for d in apiframe.webhook_deliveries] == [200, 200]
    assert len(creates(apiframe, "/kling-imagine")) == 1
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_provider_with_no_way_to_reconcile_tells_the_user_plainly(
    telegram, aimlapi, make_settings, start_bot
):
    settings = make_settings(
        video_providers="aimlapi,sandbox",
        aimlapi_api_key=AIMLAPI_KEY,
        aimlapi_base_url=aimlapi.url,
    )
    bot = await start_bot(settings)
    aimlapi.fail_next(AIMLAPI_CREATE, status=500, accepted=True)  # made, billed, unanswered
    telegram.send_text(telegram.user(1001), "/video lost in the mail")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "did not answer in time" in notice.params["text"]
    assert len(aimlapi.tasks) == 1 and len(creates(aimlapi, AIMLAPI_CREATE)) == 1
    assert (await bot.job(1)).state is JobState.FAILED
    assert telegram.calls_to("sendVideo") == []  # not sent to the sandbox either

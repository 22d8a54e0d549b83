"""Webhook mode: Telegram pushes updates and providers call back, on one HTTP server."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.config import ConfigError
from bot.jobs import JobState
from tests.e2e.conftest import KLING_ACCESS, KLING_SECRET, WEBHOOK_SECRET, ask_for_video
from tests.e2e.test_delivery_and_restart import first_job_state
from tests.fakes.apiframe import FakeApiframe, FakeTask
from tests.fakes.telegram import FakeTelegram


def creates(apiframe):
    return [r for r in apiframe.requests if r.path == "/kling-imagine"]


def polls(apiframe):
    return [r for r in apiframe.requests if r.path in ("/fetch", "/fetch-many")]


async def asked_for_video(telegram: FakeTelegram, apiframe: FakeApiframe, text: str) -> FakeTask:
    """Alice sends `text` (a /video command): its task, once the bot has answered her."""
    task = await ask_for_video(telegram, apiframe, text)
    await telegram.wait_for("sendMessage")
    return task


def forged_finish(task: FakeTask) -> dict[str, Any]:
    """A `finished` result for `task` whose video is an attacker's."""
    return {
        "task_id": task.task_id,
        "task_type": "kling-video",
        "status": "finished",
        "percentage": 100,
        "video_url": "https://evil.example/x.mp4",
    }


async def test_set_webhook_and_no_long_polling(telegram, apiframe, public_settings, start_bot):
    settings = public_settings(drop_pending_updates=True)
    await start_bot(settings)
    call = await telegram.wait_for("setWebhook")
    assert call.params["url"] == f"{settings.public_url}/telegram"
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert call.params["allowed_updates"] == [
        "message",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "pre_checkout_query",
    ]
    assert call.params["drop_pending_updates"] is True
    telegram.send_text(telegram.user(1001), "/help")
    await telegram.wait_for("sendMessage")
    assert telegram.calls_to("getUpdates") == []


async def test_refuses_to_start_without_secret(make_settings):
    try:
        make_settings(public_url="https://bot.example.com")
    except ConfigError as exc:
        assert exc.variable == "WEBHOOK_SECRET"
    else:
        raise AssertionError("webhook mode without WEBHOOK_SECRET was accepted")


async def test_callback_delivers_without_any_poll(telegram, apiframe, public_settings, start_bot):
    settings = public_settings(callback_poll_interval=3600)
    bot = await start_bot(settings)
    request = telegram.send_text(telegram.user(1001), "/video a comet")
    task = await apiframe.wait_for_task()
    webhook_url = task.request["webhook_url"]
    assert webhook_url.startswith(f"{settings.public_url}/callbacks/apiframe/")
    assert len(urlsplit(webhook_url).path.rsplit("/", 1)[1]) >= 22  # 128+ random bits
    assert task.request["webhook_secret"]

    await apiframe.set_processing(task.task_id, 55)
    await telegram.wait_for("editMessageText", lambda c: "55%" in c.params["text"])
    await apiframe.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert polls(apiframe) == []  # callbacks alone, no poll in between
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_lost_callback_is_caught_by_the_safety_net_poll(
    telegram, apiframe, public_settings, start_bot
):
    await start_bot(public_settings(callback_poll_interval=0.2))
    apiframe.deliver_webhooks = False
    task = await ask_for_video(telegram, apiframe, "/video a lost callback")
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")
    assert polls(apiframe), "the video came by polling"


async def test_duplicate_and_out_of_order_callbacks_deliver_once(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings(callback_poll_interval=3600))
    task = await asked_for_video(telegram, apiframe, "/video echo")
    await apiframe.finish(task.task_id)
    finished = await apiframe.wait_for_webhook(lambda d: d.payload["status"] == "finished")
    late_progress = {**finished.payload, "status": "processing", "percentage": "70"}
    del late_progress["video_url"]
    async with httpx.AsyncClient() as client:
        for payload in (finished.payload, finished.payload, late_progress, finished.payload):
            answer = await client.post(finished.url, json=payload, headers=finished.headers)
            assert answer.status_code == 200
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    async with httpx.AsyncClient() as client:  # after delivery: acknowledged, ignored
        answer = await client.post(finished.url, json=late_progress, headers=finished.headers)
        assert answer.status_code == 200 and answer.json() == {"ok": True}
    # A later job delivered afterwards proves nothing else was queued for the first.
    later = await ask_for_video(telegram, apiframe, "/video after")
    await apiframe.finish(later.task_id)
    await telegram.wait_for_count("sendVideo", 2)
    assert [c.params["caption"] for c in telegram.calls_to("sendVideo")] == ["echo", "after"]
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_forged_callbacks_are_refused_and_change_nothing(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings(callback_poll_interval=3600))
    task = await asked_for_video(telegram, apiframe, "/video guarded")
    url = task.request["webhook_url"]
    base = url.rsplit("/", 1)[0]
    forged = forged_finish(task)
    async with httpx.AsyncClient() as client:
        wrong_token = await client.post(
            f"{base}/not-the-token",
            json=forged,
            headers={"x-webhook-secret": task.request["webhook_secret"]},
        )
        wrong_header = await client.post(url, json=forged, headers={"x-webhook-secret": "guess"})
        other_provider = await client.post(url.replace("/apiframe/", "/kling/"), json=forged)
        not_json = await client.post(
            url,
            content=b"status=finished",
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-webhook-secret": task.request["webhook_secret"],
            },
        )
        too_big = await client.post(
            url,
            content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
            headers={
                "content-type": "application/json",
                "x-webhook-secret": task.request["webhook_secret"],
            },
        )
    assert [wrong_token.status_code, wrong_header.status_code, other_provider.status_code] == [
        403
    ] * 3
    assert not_json.status_code == 400 and too_big.status_code == 413
    assert "Traceback" not in wrong_token.text + not_json.text
    job = await bot.job(1)
    assert job.state is JobState.QUEUED and job.result_url is None
    assert telegram.calls_to("sendVideo") == []


async def test_with_two_providers_a_callback_must_match_the_jobs_provider_and_task(
    telegram, apiframe, kling, public_settings, start_bot
):
    """APIFRAME and Kling both configured (so the Kling route exists): an APIFRAME job's
    callback URL on Kling's route is refused, and an authenticated callback that names another
    job's task is acknowledged and changes nothing, for either job."""
    settings = public_settings(
        video_providers="apiframe,kling",
        kling_access_key=KLING_ACCESS,
        kling_secret_key=KLING_SECRET,
        kling_base_url=kling.url,
        callback_poll_interval=3600,
    )
    bot = await start_bot(settings)
    mine = await ask_for_video(telegram, apiframe, "/video mine")
    other = await ask_for_video(telegram, apiframe, "/video theirs", telegram.user(1002, "Bob"))
    await telegram.wait_for_count("sendMessage", 2)
    url, secret = mine.request["webhook_url"], mine.request["webhook_secret"]
    kling_shaped = {
        "task_id": mine.task_id,
        "task_status": "succeed",
        "task_result": {"videos": [{"id": "v", "url": "https://evil.example/x.mp4"}]},
    }
    async with httpx.AsyncClient() as client:
        on_klings_route = await client.post(url.replace("/apiframe/", "/kling/"), json=kling_shaped)
        foreign_task = await client.post(
            url, json=forged_finish(other), headers={"x-webhook-secret": secret}
        )
    assert on_klings_route.status_code == 403
    assert foreign_task.status_code == 200  # acknowledged, so APIFRAME does not resend it
    assert bot.parts is not None
    exposition = (await bot.parts.metrics.render(bot.parts.store)).decode()
    assert 'kling_bot_callbacks_total{outcome="ignored",provider="apiframe"} 1.0' in exposition
    assert 'outcome="accepted"' not in exposition
    # The job's own callback comes after the forged one on its queue: it is the one acted on.
    await apiframe.finish(mine.task_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["video"] == mine.video_url
    job = await bot.job(2)
    assert job.state is JobState.QUEUED and job.result_url is None


async def test_apiframe_callbacks_need_their_own_secret_not_just_the_url(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings(callback_poll_interval=3600))
    task = await asked_for_video(telegram, apiframe, "/video a sealed letter")
    url, secret = task.request["webhook_url"], task.request["webhook_secret"]
    token = url.rsplit("/", 1)[1]
    assert len(secret) >= 22 and secret not in url  # a leaked URL alone is not enough
    forged = forged_finish(task)
    async with httpx.AsyncClient() as client:
        answers = [
            await client.post(url, json=forged, headers=headers)
            for headers in (
                {},
                {"x-webhook-secret": ""},
                {"x-webhook-secret": "guess"},
                {"x-webhook-secret": token},
            )
        ]
    assert [a.status_code for a in answers] == [403] * 4
    assert (await bot.job(1)).result_url is None

    await apiframe.finish(task.task_id)  # the real callback carries the job's secret
    video = await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert "evil.example" not in repr(video.params)
    assert apiframe.webhook_deliveries[-1].headers == {"x-webhook-secret": secret}
    assert apiframe.webhook_deliveries[-1].status == 200
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_apiframe_job_without_a_stored_secret_is_delivered_by_polling_only(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings(callback_poll_interval=0.2))
    task = await asked_for_video(telegram, apiframe, "/video from before the upgrade")
    # A job sent before callback secrets existed: its webhook secret was the URL token.
    await bot.parts.store._db.execute("UPDATE jobs SET callback_secret = NULL")
    url = task.request["webhook_url"]
    token = url.rsplit("/", 1)[1]
    forged = {**task.result(), "status": "finished", "video_url": "https://evil.example/x.mp4"}
    async with httpx.AsyncClient() as client:
        answers = [
            await client.post(url, json=forged, headers={"x-webhook-secret": value})
            for value in ("", token)
        ]
    assert [a.status_code for a in answers] == [403, 403]
    await apiframe.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")  # by the safety-net poll
    assert apiframe.webhook_deliveries[-1].status == 403
    assert "evil.example" not in repr(video.params)
    await bot.stop()  # lets the delivery in flight finish, so its outcome is recorded
    assert await first_job_state(bot.settings) is JobState.DELIVERED
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_forged_telegram_updates_are_refused(telegram, apiframe, public_settings, start_bot):
    await start_bot(public_settings())
    await telegram.wait_for("setWebhook")
    alice = telegram.user(1001)
    forged = {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1001, "type": "private"},
            "from": alice,
            "text": "/video forged",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    assert await telegram.push_raw(forged, secret="wrong-secret-0000000000") == 403
    assert await telegram.push_raw(forged, secret=None) == 403
    telegram.send_text(alice, "/jobs")  # a genuine update, pushed with the secret
    listing = await telegram.wait_for("sendMessage")
    assert "no videos yet" in listing.params["text"]
    assert apiframe.tasks == {}


async def test_health_and_metrics(telegram, apiframe, public_settings, start_bot):
    settings = public_settings()
    await start_bot(settings)
    await ask_for_video(telegram, apiframe, "/video counted")
    async with httpx.AsyncClient(base_url=settings.public_url) as client:
        health = await client.get("/healthz")
        public_metrics = await client.get("/metrics")
        metrics = await client.get(f"http://{settings.metrics_listen}/metrics")
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert public_metrics.status_code == 404, "/metrics must stay off the public port"
    assert metrics.status_code == 200
    assert 'kling_bot_jobs{provider="apiframe",state="queued"} 1.0' in metrics.text
    assert WEBHOOK_SECRET not in metrics.text and telegram.token not in metrics.text


async def test_stop_during_delivery_completes_it(telegram, apiframe, public_settings, start_bot):
    bot = await start_bot(public_settings(callback_poll_interval=3600))
    task = await ask_for_video(telegram, apiframe, "/video finish me")
    held = telegram.hold("sendVideo")
    await apiframe.finish(task.task_id)
    await held.arrived.wait()  # the video is on its way to Telegram
    lifecycle = bot.parts.lifecycle
    closing, aclose = asyncio.Event(), lifecycle.aclose

    async def noted_aclose(grace: float = 10.0) -> None:
        closing.set()
        await aclose(grace)

    lifecycle.aclose = noted_aclose
    stopping = asyncio.create_task(bot.stop())  # what SIGTERM does
    await closing.wait()  # the stop now waits for the work in flight: the upload
    telegram.release("sendVideo")
    await stopping
    video = await telegram.wait_for("sendVideo")
    assert video.http_status == 200
    assert await first_job_state(bot.settings) is JobState.DELIVERED

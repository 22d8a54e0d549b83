"""APIFRAME v2 (`apiframe2`) through the real Application: a text video delivered by polling
and by its signed webhook, a forged or unsigned webhook refused (403) with nothing delivered,
`--sound` on kling-2.6, and a 12 s kling-3.0 video with sound (a 12 s request on a 5|10 s
model refused with words and no request)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.jobs import JobState
from tests.e2e.conftest import WEBHOOK_SECRET, ask_for_video, forbidden, free_port, jpeg, serving
from tests.e2e.test_settings import open_panel
from tests.fakes.apiframe2 import FakeApiframe2, signature
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.calls import buttons, text_of

KEY = "afk_e2e0000000000000000000000000000000000000"


@pytest.fixture
async def apiframe2(
    telegram: FakeTelegram, media_origins: list[str]
) -> AsyncIterator[FakeApiframe2]:
    fake = FakeApiframe2(KEY, forbidden=forbidden(telegram))
    async with serving(fake, media_origins):
        yield fake


@pytest.fixture
def settings(make_settings, apiframe2: FakeApiframe2) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values = {
            "video_providers": "apiframe2",
            "apiframe2_api_key": KEY,
            "apiframe2_base_url": apiframe2.url,
            **overrides,
        }
        made: Settings = make_settings(**values)
        return made

    return make


@pytest.fixture
def public(settings) -> Callable[..., Settings]:
    """Webhook mode: the bot's web server on a local port as PUBLIC_URL."""

    def make(**overrides: Any) -> Settings:
        port = free_port()
        made: Settings = settings(
            public_url=f"http://127.0.0.1:{port}",
            listen_host="127.0.0.1",
            port=port,
            webhook_secret=WEBHOOK_SECRET,
            callback_poll_interval=3600,
            **overrides,
        )
        return made

    return make


def polls(fake: FakeApiframe2) -> list[Any]:
    return [r for r in fake.requests if r.path.startswith("/v2/jobs/")]


async def test_a_text_video_is_delivered_by_polling(telegram, apiframe2, settings, start_bot):
    bot = await start_bot(settings())
    job = await ask_for_video(telegram, apiframe2, "/video a red fox")
    assert job.request == {
        "model": "kling-2.1",
        "prompt": "a red fox",
        "klingParams": {"mode": "standard"},
    }
    await apiframe2.set_processing(job.job_id, 40)
    await telegram.wait_for("editMessageText", lambda c: "40%" in c.params["text"])
    await apiframe2.finish(job.job_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["caption"] == "a red fox"
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert polls(apiframe2) and (await bot.job(1)).state is JobState.DELIVERED


async def test_a_signed_webhook_delivers_without_any_poll(telegram, apiframe2, public, start_bot):
    made = public()
    bot = await start_bot(made)
    job = await ask_for_video(telegram, apiframe2, "/video a comet")
    url = job.request["webhookUrl"]
    assert url.startswith(f"{made.public_url}/callbacks/apiframe2/")
    assert job.request["webhookEvents"] == ["progress", "completed", "failed"]
    await apiframe2.set_processing(job.job_id, 55)
    await telegram.wait_for("editMessageText", lambda c: "55%" in c.params["text"])
    await apiframe2.finish(job.job_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert [d.status for d in apiframe2.deliveries] == [200, 200]
    assert polls(apiframe2) == []  # the webhook alone
    assert (await bot.job(1)).state is JobState.DELIVERED


async def test_forged_and_unsigned_webhooks_are_refused_and_deliver_nothing(
    telegram, apiframe2, public, start_bot
):
    bot = await start_bot(public())
    job = await ask_for_video(telegram, apiframe2, "/video guarded")
    await telegram.wait_for("sendMessage")
    url = job.request["webhookUrl"]
    forged = (
        b'{"jobId": "%s", "type": "completed", "status": "COMPLETED", "progress": 100, '
        b'"result": {"videoUrl": "https://evil.example/x.mp4"}, "error": null}'
    ) % job.job_id.encode()
    json_type = {"content-type": "application/json"}
    other = b'{"jobId": "%s", "status": "PROCESSING"}' % job.job_id.encode()
    attempts = {
        "unsigned": {},
        "signed with another key": {"x-webhook-signature": signature("afk_attacker", forged)},
        "signed for another body": {"x-webhook-signature": signature(KEY, other)},
        "keyed with the raw key": {  # SHA-256(apiKey) is the key, not the key itself
            "x-webhook-signature": "sha256="
            + hmac.new(KEY.encode(), forged, hashlib.sha256).hexdigest()
        },
        "not hex": {"x-webhook-signature": "sha256=nothex"},
    }
    async with httpx.AsyncClient() as client:
        for name, headers in attempts.items():
            answer = await client.post(url, content=forged, headers={**json_type, **headers})
            assert answer.status_code == 403, name
        # The same body correctly signed but on a made-up job token: refused too.
        good = {**json_type, "x-webhook-signature": signature(KEY, forged)}
        answer = await client.post(
            url.rsplit("/", 1)[0] + "/not-a-token", content=forged, headers=good
        )
        assert answer.status_code == 403
    job_now = await bot.job(1)
    assert job_now.state not in (JobState.SUCCEEDED, JobState.DELIVERED)
    assert job_now.result_url is None
    assert telegram.calls_to("sendVideo") == []
    # The real video still arrives, once, from the real (signed) webhook.
    video_url = await apiframe2.finish(job.job_id)
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert len(telegram.calls_to("sendVideo")) == 1
    assert (await bot.job(1)).result_url == video_url


async def test_sound_reaches_kling_2_6(telegram, apiframe2, settings, start_bot):
    await start_bot(settings())
    job = await ask_for_video(telegram, apiframe2, "/video -m 2.6 --mode pro --sound a storm")
    assert job.request == {
        "model": "kling-2.6",
        "prompt": "a storm",
        "klingParams": {"generate_audio": True},
    }
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert "with sound" in text_of(status)


async def test_sound_on_a_silent_model_is_refused_without_a_request(
    telegram, apiframe2, settings, start_bot
):
    bot = await start_bot(settings())
    telegram.send_text(telegram.user(1001), "/video --sound a storm")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer == (
        "I can't make that video: this provider makes sound only with "
        "kling-v2-6 pro, kling-v3 pro, kling-v3 std."
    )
    assert await bot.job(1) is None
    assert apiframe2.requests == []


async def test_a_photo_reaches_it_as_a_media_link_of_ours(telegram, apiframe2, public, start_bot):
    made = public()
    await start_bot(made)
    photo = jpeg(800, 600, "teal")
    telegram.send_photo(telegram.user(1001), photo, caption="--model 2.1 --mode pro it turns")
    job = await apiframe2.wait_for_task()
    start_image = job.request["klingParams"]["start_image"]
    assert start_image.startswith(f"{made.public_url}/media/")
    assert job.request == {
        "model": "kling-2.1",
        "prompt": "it turns",
        "klingParams": {"mode": "pro", "start_image": start_image},
        "webhookUrl": job.request["webhookUrl"],
        "webhookEvents": ["progress", "completed", "failed"],
    }
    assert job.fetched_images["start_image"] == (photo, "image/jpeg")
    await apiframe2.finish(job.job_id)
    await telegram.wait_for("sendVideo")


async def test_a_photo_without_public_url_is_refused_before_any_request(
    telegram, apiframe2, settings, start_bot
):
    bot = await start_bot(settings())
    telegram.send_photo(telegram.user(1001), jpeg(), caption="it turns")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert "needs the bot to have a public web address" in answer
    assert await bot.job(1) is None
    assert apiframe2.requests == []


async def test_a_12_s_kling_v3_video_with_sound_is_delivered(
    telegram, apiframe2, settings, start_bot
):
    bot = await start_bot(settings())
    job = await ask_for_video(telegram, apiframe2, "/video -m v3 -d 12 --sound a storm at sea")
    assert job.request == {
        "model": "kling-3.0",
        "prompt": "a storm at sea",
        "klingParams": {"mode": "standard", "duration": 12, "generate_audio": True},
    }
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert "12 s" in text_of(status) and "with sound" in text_of(status)
    await apiframe2.finish(job.job_id)
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    done = await bot.job(1)
    assert done.state is JobState.DELIVERED and done.params["duration"] == 12


async def test_a_12_s_request_on_a_5_or_10_s_model_is_refused_without_a_request(
    telegram, apiframe2, settings, start_bot
):
    bot = await start_bot(settings())
    telegram.send_text(telegram.user(1001), "/video -m 2.6 --mode pro -d 12 a storm")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer == "I can't make that video: kling-v2-6 makes videos of 5, 10 seconds only."
    assert await bot.job(1) is None
    assert apiframe2.requests == []


async def test_settings_offer_each_models_durations(telegram, apiframe2, settings, start_bot):
    await start_bot(settings())
    alice = telegram.user(1001)
    panel = await open_panel(telegram, alice)
    durations = await panel.press("set:d")  # kling-v2-1, the default model: 5 or 10 s
    assert [d for d in buttons(durations) if d.startswith("set:d=") and d != "set:d="] == [
        "set:d=5",
        "set:d=10",
    ]
    await panel.press("set:main")
    await panel.press("set:m")
    await panel.press("set:m=kling-v3")
    durations = await panel.press("set:d")
    offered = [d for d in buttons(durations) if d.startswith("set:d=") and d != "set:d="]
    assert offered == [f"set:d={n}" for n in (5, 3, 4, *range(6, 16))]  # the default first
    await panel.press("set:d=12")
    await panel.press("set:m")
    back = await panel.press("set:m=kling-v2-1")  # 12 s is not a kling-v2-1 length
    assert "Duration: not offered by kling-v2-1, back to default." in text_of(back)

    telegram.send_text(alice, "/video a kept default")
    job = await apiframe2.wait_for_task()
    assert job.request == {
        "model": "kling-2.1",
        "prompt": "a kept default",
        "klingParams": {"mode": "standard"},
    }

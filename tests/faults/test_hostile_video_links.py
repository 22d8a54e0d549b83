"""A provider's video link is outside input: each test names a hostile link (or file) and the
promise kept. The fakes host their videos on plain http on 127.0.0.1, which the strict policy
refuses; the test settings trust exactly the fake provider's origin (`VIDEO_TRUSTED_ORIGINS`,
see `media_origins`), so everything else here meets the policy a production bot has.

Where the bot must fetch the video itself, the fake Telegram is told it cannot fetch URLs
(`refuse_urls`): Telegram fetching a link is its own network's business, ours is what the bot
fetches. Delivery retries are scaled down (5 s doubling -> 10 ms).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import delivery as delivery_module
from bot import lifecycle
from bot.jobs import JobState
from tests.e2e.conftest import ask_for_video
from tests.fakes.media import SAMPLE_MP4
from tests.fakes.server import LocalServer
from tests.fakes.telegram import Call
from tests.fakes.telegram.calls import text_of

MAX_ATTEMPTS = lifecycle.MAX_DELIVERY_ATTEMPTS
FTYP = SAMPLE_MP4[:24]
#: An MP4 whose `moov` holds an `mvhd` box with no body: a reader that indexes into it fails.
MALFORMED_MP4 = FTYP + b"\x00\x00\x00\x10moov" + b"\x00\x00\x00\x08mvhd"
NOT_HTTPS = "the video service gave a link that is not https"
PRIVATE = "the video link leads to a private network address"


@pytest.fixture(autouse=True)
def fast_delivery_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "DELIVERY_RETRY_BASE", 0.01)


class SecretServer:
    """Something inside the bot's network that must never be reached through a video link."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = LocalServer(Starlette(routes=[Route("/{path:path}", self._serve)]))
        self.port = 0

    async def _serve(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        return Response(SAMPLE_MP4 + b"internal secrets", media_type="video/mp4")

    async def __aenter__(self) -> SecretServer:
        await self._server.start()
        self.port = self._server.port
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()


@pytest.fixture
async def secret() -> AsyncIterator[SecretServer]:
    async with SecretServer() as server:
        yield server


def uploads(telegram) -> list[Call]:
    """Every video or file the bot got into a chat."""
    sends = (*telegram.calls_to("sendVideo"), *telegram.calls_to("sendDocument"))
    return [c for c in sends if c.ok]


async def failure_notice(telegram, timeout: float = 10.0):  # noqa: ASYNC109 - a test deadline
    return await telegram.wait_for("sendMessage", lambda c: "failed" in text_of(c), timeout=timeout)


# --- links refused as soon as the provider reports them (item 7) -------------------------------


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("file://{tmp_path}/bot.db", NOT_HTTPS),  # the bot's own database
        ("http://127.0.0.1:1/video.mp4", NOT_HTTPS),
        ("sandbox:clip", NOT_HTTPS),  # the sandbox's internal reference, from another provider
        ("https://127.0.0.1:1/video.mp4", PRIVATE),
        ("https://[::ffff:127.0.0.1]:1/video.mp4", PRIVATE),
    ],
)
async def test_a_link_the_bot_must_not_open_fails_the_job_with_the_reason(
    telegram, apiframe, apiframe_settings, start_bot, tmp_path, link, reason
):
    bot = await start_bot(apiframe_settings())
    task = await ask_for_video(telegram, apiframe, "/video show me your files")
    await apiframe.finish(task.task_id, video_url=link.format(tmp_path=tmp_path))
    notice = await failure_notice(telegram)
    assert f"could not send the video ({reason})" in text_of(notice)
    job = await bot.job(1)
    assert job.state is JobState.FAILED and job.delivery_attempts == 0
    assert telegram.calls_to("sendVideo") == [] and telegram.calls_to("sendDocument") == []


async def test_a_callback_with_a_local_file_link_fails_the_job(
    telegram, apiframe, public_settings, start_bot, tmp_path
):
    secret_file = tmp_path / ".env"
    secret_file.write_bytes(FTYP + b"KLING_SECRET_KEY=do-not-upload")
    bot = await start_bot(public_settings(callback_poll_interval=3600))
    task = await ask_for_video(telegram, apiframe, "/video via a callback")
    await apiframe.finish(task.task_id, video_url=secret_file.as_uri())
    notice = await failure_notice(telegram)
    assert NOT_HTTPS in text_of(notice)
    assert (await bot.job(1)).state is JobState.FAILED
    assert uploads(telegram) == []


# --- the bot's own download: every hop checked, a video required (item 8) ----------------------


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/internal", NOT_HTTPS),
        ("https://127.0.0.1:{port}/internal", PRIVATE),
        ("https://localhost:{port}/internal", PRIVATE),  # a name: resolved, then refused
    ],
)
async def test_a_redirect_out_of_the_trusted_origin_into_the_network_is_refused(
    telegram, apiframe, apiframe_settings, start_bot, secret, target, reason
):
    bot = await start_bot(apiframe_settings())
    telegram.refuse_urls = True
    task = await ask_for_video(telegram, apiframe, "/video redirected")
    apiframe.media.redirect(f"{task.task_id}.mp4", target.format(port=secret.port))
    await apiframe.finish(task.task_id)
    notice = await failure_notice(telegram)
    assert reason in text_of(notice)
    assert secret.requests == []  # not even asked: refused before connecting
    assert uploads(telegram) == []
    assert (await bot.job(1)).state is JobState.FAILED


async def test_a_redirect_within_the_trusted_origin_is_followed(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    telegram.refuse_urls = True
    task = await ask_for_video(telegram, apiframe, "/video via the CDN's redirect")
    real = apiframe.media.add(f"{task.task_id}-edge.mp4", SAMPLE_MP4)
    apiframe.media.redirect(f"{task.task_id}.mp4", real)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))
    [video] = uploads(telegram)
    assert video.files["video"].data == SAMPLE_MP4
    assert (await bot.job(1)).state is JobState.DELIVERED


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("html", "the video link served a web page"),
        ("not_mp4", "the video link did not serve an MP4 video"),
    ],
)
async def test_an_answer_that_is_no_video_is_never_uploaded(
    telegram, apiframe, apiframe_settings, start_bot, mode, reason
):
    bot = await start_bot(apiframe_settings())
    telegram.refuse_urls = True
    task = await ask_for_video(telegram, apiframe, "/video not really a video")
    apiframe.media.set_mode(mode)
    await apiframe.finish(task.task_id)
    notice = await failure_notice(telegram)
    assert reason in text_of(notice)
    assert uploads(telegram) == []
    job = await bot.job(1)
    assert job.state is JobState.FAILED and job.delivery_attempts == MAX_ATTEMPTS - 1


# --- slow links (item 9) -------------------------------------------------------------------------


async def test_a_trickling_link_hits_the_download_deadline(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(video_download_timeout=0.2, video_download_min_rate=0))
    telegram.refuse_urls = True
    task = await ask_for_video(telegram, apiframe, "/video a byte at a time")
    apiframe.media.set_mode("trickle")
    await apiframe.finish(task.task_id)
    notice = await failure_notice(telegram)
    assert "the video link was too slow" in text_of(notice)
    assert uploads(telegram) == []
    job = await bot.job(1)
    assert job.state is JobState.FAILED and job.delivery_attempts == MAX_ATTEMPTS - 1


async def test_a_trickling_link_below_the_minimum_rate_frees_its_delivery_slot(
    telegram, apiframe, apiframe_settings, start_bot, monkeypatch
):
    # One delivery slot, so a link that held its slot would stop every other video.
    monkeypatch.setattr(lifecycle, "CONCURRENT_DELIVERIES", 1)
    settings = apiframe_settings(video_download_min_rate=100_000)  # the default deadline
    bot = await start_bot(settings, download_rate_grace=0.1)
    telegram.refuse_urls = True
    slow = await ask_for_video(telegram, apiframe, "/video trickles")
    telegram.send_text(telegram.user(1002), "/video flows")
    fast = await apiframe.wait_for_task()
    apiframe.media.set_mode("trickle", f"{slow.task_id}.mp4")
    await apiframe.finish(slow.task_id)
    await apiframe.wait_for(f"/videos/{slow.task_id}.mp4")  # the slot is the trickle's now
    await apiframe.finish(fast.task_id)
    await telegram.wait_for("sendVideo", lambda c: c.ok and c.params["chat_id"] == 1002)
    notice = await failure_notice(telegram)
    assert notice.params["chat_id"] == 1001
    assert "the video link was too slow" in text_of(notice)
    assert (await bot.job(1)).delivery_attempts == MAX_ATTEMPTS - 1
    assert (await bot.job(2)).state is JobState.DELIVERED


# --- files that break the reader, and errors nobody foresaw (item 10) ---------------------------


async def test_a_malformed_mp4_is_a_counted_attempt_and_ends_in_a_worded_failure(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    telegram.refuse_urls = True
    task = await ask_for_video(telegram, apiframe, "/video a broken file")
    await apiframe.finish(task.task_id, MALFORMED_MP4)
    notice = await failure_notice(telegram)
    assert "could not send the video (the video file is damaged)" in text_of(notice)
    job = await bot.job(1)
    assert job.state is JobState.FAILED and job.delivery_attempts == MAX_ATTEMPTS - 1
    downloaded = [r for r in apiframe.requests if r.path == f"/videos/{task.task_id}.mp4"]
    assert len(downloaded) == MAX_ATTEMPTS  # once per attempt, then never again
    assert uploads(telegram) == []


async def test_an_unexpected_error_in_a_delivery_is_counted_and_ends_in_a_worded_failure(
    telegram, make_settings, start_bot, monkeypatch
):
    reads = 0

    def broken_reader(handle: object) -> None:
        nonlocal reads
        reads += 1
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(delivery_module, "read_info", broken_reader)
    bot = await start_bot(make_settings())  # the sandbox: its clip is uploaded, so read
    telegram.send_text(telegram.user(1001), "/video anything")
    notice = await failure_notice(telegram)
    assert "could not send the video (something unexpected went wrong)" in text_of(notice)
    job = await bot.job(1)
    assert job.state is JobState.FAILED and job.delivery_attempts == MAX_ATTEMPTS - 1
    assert reads == MAX_ATTEMPTS  # read once per attempt: nothing retried past the last

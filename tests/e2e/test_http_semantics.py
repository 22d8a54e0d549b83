"""One table of HTTP semantics for every provider, through the whole bot.

Every provider (APIFRAME, AI/ML API, Apilaplas, Kling, makevid) meets every status and transport
outcome on submit. "Not processed" (429, 503, a refused connection) is retried with backoff and
then moved to the next provider, which delivers one video. "Ambiguous" (500, 502, 504, a read
timeout after the request was sent, a 2xx we cannot read) may hide a job the provider started
and bills, so it is never sent again, to any provider.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.jobs import JobState
from tests.e2e.conftest import (
    AIMLAPI_KEY,
    APIFRAME_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    free_port,
    jpeg,
)
from tests.fakes.aimlapi import GENERATION_PATH, FakeAimlapi
from tests.fakes.apiframe import FakeApiframe
from tests.fakes.kling import FakeKling

ATTEMPTS = 2  # SUBMIT_ATTEMPTS in these tests: one retry, then failover


@dataclass(frozen=True)
class Target:
    """How to point the bot at one provider's fake, and where that fake takes new jobs."""

    create_path: str
    settings: Callable[[str], dict[str, Any]]  # the fake's URL -> settings for this provider
    photo: bool = False  # Apilaplas makes image-to-video only


TARGETS = {
    "apiframe": Target(
        "/kling-imagine",
        lambda url: {"apiframe_api_key": APIFRAME_KEY, "apiframe_base_url": url},
    ),
    "aimlapi": Target(
        GENERATION_PATH,
        lambda url: {"aimlapi_api_key": AIMLAPI_KEY, "aimlapi_base_url": url},
    ),
    "apilaplas": Target(
        GENERATION_PATH,
        lambda url: {"apilaplas_api_key": AIMLAPI_KEY, "apilaplas_base_url": url},
        photo=True,
    ),
    "kling": Target(
        "/v1/videos/text2video",
        lambda url: {
            "kling_access_key": KLING_ACCESS,
            "kling_secret_key": KLING_SECRET,
            "kling_base_url": url,
        },
    ),
    "makevid": Target(
        "/api/v1/kling/text2video/create_kling",
        lambda url: {"makevid_api_key": KLING_ACCESS, "makevid_base_url": url},
    ),
}

NOT_PROCESSED = ("429", "503", "connection refused")
AMBIGUOUS = ("500", "502", "504", "read timeout", "unreadable 2xx")


def start_fault(fake: Any, target: Target, case: str) -> str:
    """Arrange `case` on the fake's create endpoint; returns the base URL the bot should use."""
    path = target.create_path
    if case == "connection refused":
        return f"http://127.0.0.1:{free_port()}"  # nothing listens there
    if case == "read timeout":
        fake.stall(path)  # the request arrives; the answer never does
    elif case == "unreadable 2xx":
        fake.fail_next(path, status=200, body="<html>Welcome to nginx!</html>")
    elif case == "502":  # a gateway in front of the API speaks HTML
        fake.fail_next(path, status=502, body="<html>502 Bad Gateway</html>", times=ATTEMPTS)
    else:  # the provider's own body for that status, on every attempt
        fake.fail_next(path, status=int(case), times=ATTEMPTS)
    return str(fake.url)


@pytest.fixture(params=list(TARGETS))
async def provider(request, telegram) -> AsyncIterator[tuple[str, Any]]:
    """Each provider in turn: its name and its fake, started like the shared fixtures do."""
    name = request.param
    forbidden = [telegram.token, "/file/bot"]
    fake: Any
    if name == "apiframe":
        fake = FakeApiframe(APIFRAME_KEY, forbidden=forbidden)
    elif name in ("aimlapi", "apilaplas"):
        fake = FakeAimlapi(AIMLAPI_KEY, edition=name, forbidden=forbidden)
    else:
        fake = FakeKling(KLING_ACCESS, KLING_SECRET, flavour=name, forbidden=forbidden)
    await fake.start()
    yield name, fake
    await fake.stop()
    assert fake.leaks == [], "the bot token or a Telegram file URL reached the provider"


async def start_job(telegram, make_settings, start_bot, provider, case: str):
    """A bot with the provider first and the sandbox second, and one job sent to it."""
    name, fake = provider
    target = TARGETS[name]
    url = start_fault(fake, target, case)
    settings = make_settings(
        video_providers=f"{name},sandbox",
        submit_attempts=ATTEMPTS,
        submit_backoff=0.01,
        # Short only where the timeout is the point: elsewhere a slow answer on a busy machine
        # must not turn into a read timeout.
        provider_timeout=0.5 if case == "read timeout" else 10.0,
        # Kling can be asked for a task by our id: the ambiguous job is looked up, and as no
        # task was made it fails plainly once this passes (tests/e2e/test_reconcile.py).
        reconcile_timeout=0.3,
        **target.settings(url),
    )
    bot = await start_bot(settings)
    user = telegram.user(1001)
    if target.photo:
        telegram.send_photo(user, jpeg(640, 640), caption="a lighthouse in a storm")
    else:
        telegram.send_text(user, "/video a lighthouse in a storm")
    return bot, name, fake, target


def creates(fake: Any, target: Target) -> int:
    return sum(1 for r in fake.requests if r.path == target.create_path and r.method == "POST")


@pytest.mark.parametrize("case", NOT_PROCESSED)
async def test_not_processed_is_retried_then_failed_over(
    telegram, make_settings, start_bot, caplog, provider, case
):
    caplog.set_level(logging.WARNING, logger="bot.submission")
    bot, name, fake, target = await start_job(telegram, make_settings, start_bot, provider, case)
    moved = await telegram.wait_for(
        "editMessageText", lambda c: "trying sandbox" in c.params["text"]
    )
    assert f"{name} is unavailable" in moved.params["text"]
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED and job.provider == "sandbox"
    assert len(telegram.calls_to("sendVideo")) == 1
    retries = [r for r in caplog.records if f"{name} submit attempt" in r.getMessage()]
    assert len(retries) == ATTEMPTS - 1  # retried with backoff before moving on
    if case != "connection refused":  # a refused connection never reaches the fake
        assert creates(fake, target) == ATTEMPTS


@pytest.mark.parametrize("case", AMBIGUOUS)
async def test_ambiguous_answer_is_never_sent_again(
    telegram, make_settings, start_bot, provider, case
):
    bot, name, fake, target = await start_job(telegram, make_settings, start_bot, provider, case)
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "did not answer in time" in notice.params["text"]
    assert creates(fake, target) == 1  # not retried
    job = await bot.job(1)
    assert job.state is JobState.FAILED and job.provider == name  # not moved to the sandbox
    edits = [c.params["text"] for c in telegram.calls_to("editMessageText")]
    assert not any("trying sandbox" in text for text in edits)
    assert telegram.calls_to("sendVideo") == []

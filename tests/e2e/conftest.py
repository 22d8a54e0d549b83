"""End-to-end harness: the real bot (python-telegram-bot Application and all) against the fake
Telegram Bot API and fake providers, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from PIL import Image

from bot.app import BotParts, run_bot
from bot.config import Settings
from bot.overrides import Overrides
from bot.pacing import Limits, PacingRateLimiter
from tests.fakes import provider as provider_fakes
from tests.fakes.aimlapi import FakeAimlapi
from tests.fakes.apiframe import FakeApiframe
from tests.fakes.apiframe2 import FakeApiframe2
from tests.fakes.kling import FakeKling
from tests.fakes.recording import Signal
from tests.fakes.telegram import FakeTelegram

APIFRAME_KEY = "apiframe-test-key-0123456789"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"

#: Telegram's limits divided by 100: the pacing code stays on every test's path, but a test
#: sending five messages to one chat takes 50 ms instead of five seconds.
FAST_LIMITS = Limits(chat_interval=0.01, group_period=0.6, overall_period=0.01)
FAST_FACTOR = 100


def enforce_fast_limits(telegram: FakeTelegram) -> None:
    """The fake enforces Telegram's real limits in the bot's `FAST_LIMITS` time (its clock runs
    100 times faster): dozens of messages to one chat take a fraction of a second, and anything
    the pacing lets through too early is still answered 429, as Telegram would."""
    telegram.enforce_rate_limits = True
    telegram.clock = lambda: time.monotonic() * FAST_FACTOR


def fast_rate_limiter() -> PacingRateLimiter:
    """The bot's own pacing with Telegram's limits scaled down by `FAST_FACTOR`."""
    return PacingRateLimiter(FAST_LIMITS)


class PacerClock:
    """`time.monotonic` for the bot's pacing, waking `until` at each read. The pacer reads its
    clock at every change to its schedule (a message queued, given its turn, answered), so a
    test waits for a state of the schedule (videos queued in a chat) as for an event."""

    def __init__(self) -> None:
        self._read = Signal()

    def __call__(self) -> float:
        self._read.notify()
        return time.monotonic()

    def fast_limiter(self) -> PacingRateLimiter:
        """`fast_rate_limiter` on this clock: pass as `start_bot(..., rate_limiter=...)`."""
        return PacingRateLimiter(FAST_LIMITS, clock=self)

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        await self._read.until(lambda: True if condition() else None, 10.0, what)


@pytest.fixture
def overrides(request: pytest.FixtureRequest) -> Overrides:
    """What `start_bot` passes to `run_bot`: the bot's pacing scaled down, unless a test is
    marked `telegram_limits` (then the shipped limits). A test module that needs more (quick
    albums, say) overrides this fixture; a single test passes changes to `start_bot`."""
    if request.node.get_closest_marker("telegram_limits") is None:
        return Overrides(rate_limiter=fast_rate_limiter)
    return Overrides()


def jpeg(width: int = 640, height: int = 480, color: str = "orange") -> bytes:
    """A real JPEG photo of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def polls_later(apiframe: FakeApiframe, cycles: int = 2) -> None:
    """Wait until the bot has polled `cycles` more times: by then it has acted on the first."""

    def polls() -> int:
        return sum(1 for r in apiframe.requests if r.path in ("/fetch", "/fetch-many"))

    target = polls() + cycles
    await apiframe.wait(lambda: True if polls() >= target else None, 10.0, "polls")


def settled(call: Any) -> bool:
    """A status message's last change: edited to "Done", or deleted (what the bot does in a
    busy chat, see `bot.chat_status`)."""
    if call.http_status != 200:
        return False
    done = call.method == "editMessageText" and "Done" in str(call.params.get("text"))
    return done or call.method == "deleteMessage"


async def wait_settled(telegram: FakeTelegram, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Until `count` status messages have been settled (edited to "Done" or deleted)."""
    await telegram.wait_until(
        lambda: sum(1 for c in telegram.calls if settled(c)) >= count,
        timeout,
        f"{count} status messages edited to Done or deleted",
    )


class RunningBot:
    """A bot started with `run_bot` in this event loop, stoppable and restartable."""

    def __init__(self, settings: Settings, overrides: Overrides) -> None:
        self.settings = settings
        self.overrides = overrides
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.parts: BotParts | None = None

    async def start(self) -> RunningBot:
        ready = asyncio.Event()

        def on_ready(parts: BotParts) -> None:
            self.parts = parts
            ready.set()

        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            run_bot(self.settings, self._stop, on_ready=on_ready, overrides=self.overrides)
        )
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=15, return_when="FIRST_COMPLETED"
        )
        if self._task in done:
            waiter.cancel()
            self._task.result()
            raise AssertionError("the bot stopped during start-up")
        assert waiter in done, "the bot did not start within 15 s"
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None

    async def job(self, job_id: int) -> Any:
        assert self.parts is not None
        return await self.parts.store.get_job(job_id)


@pytest.fixture
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, as strict as Telegram: its flood limits enforced (in the fast bot's
    time, or in real time for a test marked `telegram_limits`), a 429's `retry_after` too,
    and press answers due within Telegram's deadline. At the end, the bot must not have
    provoked a 429 (only injected ones are allowed) nor left a pressed button unanswered."""
    fake = FakeTelegram()
    if request.node.get_closest_marker("telegram_limits") is None:
        enforce_fast_limits(fake)
    else:
        fake.enforce_rate_limits = True
    await fake.start()
    yield fake
    await fake.stop()
    assert_no_secret_sent(fake)
    assert fake.rate_limited_responses == 0, "the bot provoked a 429 from Telegram"
    unanswered = [query["data"] for query in fake.unanswered_callback_queries()]
    assert unanswered == [], f"buttons pressed and never answered: {unanswered}"


def assert_no_secret_sent(fake: FakeTelegram) -> None:
    """No message, caption, button or link the bot sent to a chat carries a secret."""
    secrets = (fake.token.split(":", 1)[1], *TEST_SECRETS)
    for call in fake.calls:
        if call.method in ("getFile", "setWebhook"):  # the webhook secret belongs there
            continue
        sent = repr(call.params)
        leaked = [secret for secret in secrets if secret in sent]
        assert not leaked, f"{call.method} carried a secret to Telegram"


@pytest.fixture
def media_origins() -> list[str]:
    """The origins of this test's fake providers, which host their videos on plain http on
    127.0.0.1: the bot's settings trust exactly these (`VIDEO_TRUSTED_ORIGINS`); any other
    link gets the strict policy. Each provider fixture adds its own."""
    return []


ProviderFake = TypeVar("ProviderFake", FakeApiframe, FakeApiframe2, FakeAimlapi, FakeKling)
TaskT = TypeVar("TaskT")


@contextlib.asynccontextmanager
async def serving(fake: ProviderFake, media_origins: list[str]) -> AsyncIterator[ProviderFake]:
    """A provider fake served for one test: the bot trusts its media origin, and at the end no
    request may have carried the bot token or a Telegram file URL to it."""
    media_origins.append(await fake.start())
    yield fake
    await fake.stop()
    assert fake.leaks == [], "the bot token or a Telegram file URL reached the provider"


async def ask_for_video(
    telegram: FakeTelegram,
    provider: provider_fakes.ProviderFake[TaskT, Any],
    text: str,
    user: dict[str, Any] | None = None,
) -> TaskT:
    """`user` (by default Alice, user 1001) sends `text`, a /video command: the task it made at
    `provider`."""
    telegram.send_text(user if user is not None else telegram.user(1001), text)
    return await provider.wait_for_task()


def forbidden(telegram: FakeTelegram) -> list[str]:
    """What must never reach a provider: the bot token and Telegram's file URLs."""
    return [telegram.token, "/file/bot"]


@pytest.fixture
async def apiframe(telegram: FakeTelegram, media_origins: list[str]) -> AsyncIterator[FakeApiframe]:
    fake = FakeApiframe(APIFRAME_KEY, forbidden=forbidden(telegram))
    async with serving(fake, media_origins):
        yield fake


@pytest.fixture
def make_settings(
    tmp_path, telegram: FakeTelegram, media_origins: list[str]
) -> Callable[..., Settings]:
    """Settings pointing at the fakes, with fast polling; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": telegram.token,
            "telegram_api_url": telegram.url,
            "database_url": f"sqlite:///{tmp_path}/bot.db",
            "poll_interval": 0.05,
            "status_edit_interval": 0,
            "sandbox_delay": 0.3,
            "log_level": "DEBUG",
            # Tests send requests faster than people; tests/e2e/test_access.py puts back the
            # default cooldown and limits where they are the point.
            "request_cooldown": 0,
            "max_active_jobs_per_user": 100,
            "daily_jobs_per_user": 1000,
            "video_trusted_origins": ",".join(media_origins),
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
async def start_bot(overrides: Overrides) -> AsyncIterator[Callable[..., Any]]:
    """Start bots with `overrides`, plus any keyword changes to them (`purge_interval=0.0`);
    every bot still running at the end of the test is stopped."""
    bots: list[RunningBot] = []

    async def start(settings: Settings, **changes: Any) -> RunningBot:
        bot = RunningBot(settings, dataclasses.replace(overrides, **changes))
        bots.append(bot)
        return await bot.start()

    yield start
    for bot in bots:
        with contextlib.suppress(Exception):
            await bot.stop()


@pytest.fixture
def apiframe_settings(make_settings, apiframe: FakeApiframe) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values = {
            "video_providers": "apiframe",
            "apiframe_api_key": APIFRAME_KEY,
            "apiframe_base_url": apiframe.url,
        }
        values.update(overrides)
        settings: Settings = make_settings(**values)
        return settings

    return make


@pytest.fixture
def public_settings(apiframe_settings) -> Callable[..., Settings]:
    """Webhook mode: the bot's web server on a local port as PUBLIC_URL, with a secret."""

    def make(**overrides: Any) -> Settings:
        port = free_port()
        values = {
            "public_url": f"http://127.0.0.1:{port}",
            "listen_host": "127.0.0.1",
            "port": port,
            "webhook_secret": WEBHOOK_SECRET,
            "metrics_listen": f"127.0.0.1:{free_port()}",
        }
        values.update(overrides)
        settings: Settings = apiframe_settings(**values)
        return settings

    return make


AIMLAPI_KEY = "aimlapi-test-key-0123456789"


@pytest.fixture
async def aimlapi(telegram: FakeTelegram, media_origins: list[str]) -> AsyncIterator[FakeAimlapi]:
    fake = FakeAimlapi(AIMLAPI_KEY, edition="aimlapi", forbidden=forbidden(telegram))
    async with serving(fake, media_origins):
        yield fake


@pytest.fixture
async def apilaplas(telegram: FakeTelegram, media_origins: list[str]) -> AsyncIterator[FakeAimlapi]:
    fake = FakeAimlapi(AIMLAPI_KEY, edition="apilaplas", forbidden=forbidden(telegram))
    async with serving(fake, media_origins):
        yield fake


KLING_ACCESS = "kling-access-key-0123456789"
KLING_SECRET = "kling-secret-key-0123456789abcdef0123"


@pytest.fixture
async def kling(telegram: FakeTelegram, media_origins: list[str]) -> AsyncIterator[FakeKling]:
    fake = FakeKling(KLING_ACCESS, KLING_SECRET, flavour="kling", forbidden=forbidden(telegram))
    async with serving(fake, media_origins):
        yield fake


@pytest.fixture
async def makevid(telegram: FakeTelegram, media_origins: list[str]) -> AsyncIterator[FakeKling]:
    fake = FakeKling(KLING_ACCESS, KLING_SECRET, flavour="makevid", forbidden=forbidden(telegram))
    async with serving(fake, media_origins):
        yield fake


#: A PostgreSQL password (the test server trusts local users, so any password is accepted).
DATABASE_PASSWORD = "p@ss/w#rd+0123456789"

TEST_SECRETS = (
    APIFRAME_KEY,
    AIMLAPI_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
    DATABASE_PASSWORD,
)

"""`SENTRY_DSN`: a real bot process reports its errors to a fake Sentry, and not one byte it
sends there carries a secret, not even a secret inside an exception's own message, which the
log masking never sees."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import WEBHOOK_SECRET
from tests.fakes.apiframe import FakeApiframe
from tests.fakes.sentry import KEY, FakeSentry
from tests.faults.processes import ROOT
from tests.faults.test_log_masking import debug_bot

RIGHT_KEY, WRONG_KEY = "apiframe-right-key-0123456789", "apiframe-wrong-key-0123456789"


@pytest.fixture
async def sentry() -> AsyncIterator[FakeSentry]:
    async with FakeSentry() as fake:
        yield fake


def leaked(sentry: FakeSentry, secrets: dict[str, str]) -> list[str]:
    sent = "\n".join(sentry.bodies)
    return [name for name, secret in secrets.items() if secret in sent]


async def test_an_error_reaches_sentry_with_its_context_and_no_secret(telegram, sentry, tmp_path):
    """APIFRAME refuses the bot's key: the ERROR line becomes one event, the INFO lines before
    it its breadcrumbs; the user is told, and Sentry never sees the token or the key."""
    async with FakeApiframe(RIGHT_KEY) as apiframe:
        bot = debug_bot(
            telegram,
            tmp_path / "bot.log",
            {
                "LOG_LEVEL": "INFO",
                "SENTRY_DSN": sentry.dsn,
                "VIDEO_PROVIDERS": "apiframe",
                "APIFRAME_API_KEY": WRONG_KEY,
                "APIFRAME_BASE_URL": apiframe.url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
            },
        )
        await bot.start()
        try:
            telegram.send_text(telegram.user(1001), "/video a comet over the sea")
            event = await sentry.wait_for_event()
            await telegram.wait_for("editMessageText", lambda c: "❌" in c.params["text"])
        finally:
            await bot.stop()
    assert event["level"] == "error"
    assert event["logentry"]["formatted"].startswith("job 1: apiframe failed on submit")
    assert event["release"].startswith("kling-bot@")
    crumbs = [crumb["message"] for crumb in event["breadcrumbs"]["values"]]
    assert "errors are reported to Sentry" in crumbs
    secrets = {"the bot token": telegram.token, "the API key": WRONG_KEY}
    secrets["the token's secret half"] = telegram.token.split(":", 1)[1]
    assert leaked(sentry, secrets) == []


SCRIPT = """
import logging
from bot.cli import setup_observability
from bot.config import load_settings

settings = load_settings()
setup_observability(settings)
token = settings.telegram_bot_token.get_secret_value()
webhook, dsn = settings.webhook_secret.get_secret_value(), settings.sentry_dsn.get_secret_value()
try:
    raise ConnectionError(
        f"POST https://api.telegram.org/bot{token}/sendVideo failed; webhook {webhook}; dsn {dsn}"
        f"; db postgresql://bot:pa55w0rd-unknown@db/bot " + "x" * 3000 + token
    )
except ConnectionError:
    logging.getLogger("kling-bot").exception("delivery failed for %s", token)
"""


async def test_secrets_inside_an_exception_are_scrubbed_before_sending(telegram, sentry):
    """The exception's own message (which the SDK reads from the exception, not from the log
    record) holds the token in a Telegram URL, the webhook secret, the DSN and a database
    password nobody configured; the event still arrives, with each one masked."""
    env = {
        "PATH": os.environ["PATH"],
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SENTRY_DSN": sentry.dsn,
        "PYTHONPATH": str(ROOT),
    }
    script = textwrap.dedent(SCRIPT)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    event = await sentry.wait_for_event()
    value = event["exception"]["values"][0]["value"]
    assert value.startswith("POST https://api.telegram.org/bot***/sendVideo failed; webhook ***")
    assert "postgresql://bot:***@db/bot" in value and value.endswith("x***")
    assert event["logentry"]["formatted"] == "delivery failed for ***"
    secrets = {
        "the bot token": telegram.token,
        "the token's secret half": telegram.token.split(":", 1)[1],
        "the webhook secret": WEBHOOK_SECRET,
        "the unknown database password": "pa55w0rd-unknown",
    }
    assert leaked(sentry, secrets) == []
    # The key the SDK authenticates with goes to Sentry itself, in the envelope header only.
    assert all(KEY not in body.split("\n", 1)[1] for body in sentry.bodies)

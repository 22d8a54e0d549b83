"""No secret in the logs of a real bot process at LOG_LEVEL=DEBUG, with its own logging setup
and every secret set (the token, every provider's keys, the webhook secret, the database
password): start, a text job and a photo job with provider callbacks, the provider fetching
the photo from the bot's /media/ link, videos delivered, a uvicorn error, and a stop. Every
line of its stderr is scanned for each of them, and for the callback and media tokens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import (
    AIMLAPI_KEY,
    APIFRAME_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
    free_port,
    jpeg,
)
from tests.faults.processes import BotProcess
from tests.stores import postgres_schema

DB_PASSWORD = "db-password-0123456789"  # the test server trusts local users: any password
APILAPLAS_KEY = "apilaplas-test-key-0123456789"
MAKEVID_KEY = "makevid-test-key-0123456789"


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path) -> AsyncIterator[str]:
    if backend == "sqlite":  # aiosqlite logs every call with its arguments at DEBUG
        yield f"sqlite:///{tmp_path}/bot.db"
        return
    async with postgres_schema() as (url, schema):
        parts = urlsplit(url)
        user = parts.username or "postgres"
        netloc = f"{user}:{DB_PASSWORD}@{parts.hostname}:{parts.port or 5432}"
        query = f"{parts.query}&search_path={schema}" if parts.query else f"search_path={schema}"
        yield urlunsplit(parts._replace(netloc=netloc, query=query))


def debug_bot(telegram, log_file, env: dict[str, str]) -> BotProcess:
    """A bot process at LOG_LEVEL=DEBUG with its real logging setup, writing to `log_file`."""
    base = {
        "PATH": os.environ["PATH"],
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "LOG_LEVEL": "DEBUG",
    }
    return BotProcess({**base, **env}, log=log_file)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_debug_logs_of_a_whole_life_carry_no_secret(
    backend, telegram, apiframe, kling, aimlapi, tmp_path
):
    port = free_port()
    log_file = tmp_path / "bot.log"
    async with database(backend, tmp_path) as database_url:
        bot = debug_bot(
            telegram,
            log_file,
            {
                # Every provider configured, so each key is loaded (and signs or authorises
                # what the bot sends it); APIFRAME first, so it makes both videos.
                "VIDEO_PROVIDERS": "apiframe,kling,aimlapi,apilaplas,makevid",
                "APIFRAME_API_KEY": APIFRAME_KEY,
                "APIFRAME_BASE_URL": apiframe.url,
                "KLING_ACCESS_KEY": KLING_ACCESS,
                "KLING_SECRET_KEY": KLING_SECRET,
                "KLING_BASE_URL": kling.url,
                "AIMLAPI_API_KEY": AIMLAPI_KEY,
                "AIMLAPI_BASE_URL": aimlapi.url,
                "APILAPLAS_API_KEY": APILAPLAS_KEY,
                "APILAPLAS_BASE_URL": aimlapi.url,
                "MAKEVID_API_KEY": MAKEVID_KEY,
                "MAKEVID_BASE_URL": kling.url,
                "VIDEO_TRUSTED_ORIGINS": apiframe.url,  # its videos: plain http on 127.0.0.1
                "DATABASE_URL": database_url,
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LISTEN_HOST": "127.0.0.1",
                "PORT": str(port),
                "METRICS_LISTEN": f"127.0.0.1:{free_port()}",
                # The safety net too, for a callback that comes before the task id is stored.
                "CALLBACK_POLL_INTERVAL": "0.5",
                "POLL_INTERVAL": "0.1",
            },
        )
        await bot.start()
        try:
            await telegram.wait_for("setWebhook", timeout=30)
            telegram.send_text(telegram.user(1001), "/video a comet over the sea")
            task = await apiframe.wait_for_task()
            await apiframe.finish(task.task_id)  # calls back to the bot with its token
            await telegram.wait_for("sendVideo")
            bob = telegram.user(1002)  # another user: Alice's cooldown has not passed yet
            telegram.send_photo(bob, jpeg(), caption="the photo comes alive")
            photo_task = await apiframe.wait_for_task()
            assert photo_task.fetched_image is not None  # fetched from the bot's /media/ link
            await apiframe.finish(photo_task.task_id)
            await telegram.wait_for_count("sendVideo", 2)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn logs this itself
            await reader.read()
            writer.close()
        finally:
            await bot.stop()
    output = log_file.read_text()

    def last_part(url: str) -> str:
        return urlsplit(url).path.rsplit("/", 1)[1]

    secrets = {
        "the bot token": telegram.token,
        "the token's secret half": telegram.token.split(":", 1)[1],
        "the APIFRAME key": APIFRAME_KEY,
        "the Kling access key": KLING_ACCESS,
        "the Kling secret key": KLING_SECRET,
        "the AI/ML API key": AIMLAPI_KEY,
        "the Apilaplas key": APILAPLAS_KEY,
        "the makevid key": MAKEVID_KEY,
        "the webhook secret": WEBHOOK_SECRET,
        "the database password": DB_PASSWORD,
        "a callback token": last_part(task.request["webhook_url"]),
        "the photo job's callback token": last_part(photo_task.request["webhook_url"]),
        "a media token": last_part(photo_task.request["image_url"]),
        "the provider's webhook secret": task.request["webhook_secret"],
    }
    leaked = [name for name, secret in secrets.items() if secret in output]
    assert leaked == [], f"{', '.join(leaked)} reached the log"
    assert "job 1: delivered" in output and "job 2: delivered" in output and " DEBUG " in output
    assert "GET /media/*** 200" in output  # the fetch was logged, with its token masked
    # uvicorn's own lines go through the bot's handler (and so its masking), not uvicorn's.
    assert " WARNING uvicorn.error: Invalid HTTP request received." in output


async def test_json_log_lines_parse_and_carry_no_secret(telegram, tmp_path):
    """`LOG_FORMAT=json` for log shippers: every line of a whole life is one JSON object with
    time, level, logger and message, masked like the text lines."""
    log_file = tmp_path / "bot.log"
    bot = debug_bot(
        telegram,
        log_file,
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
            "SANDBOX_DELAY": "0.2",
            "POLL_INTERVAL": "0.05",
            "LOG_FORMAT": "json",
        },
    )
    await bot.start()
    try:
        telegram.send_text(telegram.user(1001), "/video a lighthouse")
        await telegram.wait_for("sendVideo", timeout=30)
    finally:
        await bot.stop()
    lines = log_file.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any(entry["message"] == "job 1: delivered" for entry in entries)
    assert any(entry["level"] == "DEBUG" for entry in entries)
    token, secret_half = telegram.token, telegram.token.split(":", 1)[1]
    assert not [line for line in lines if token in line or secret_half in line]

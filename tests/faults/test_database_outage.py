"""PostgreSQL away: at start the bot waits for it (one line per attempt) and gives up with one
line and exit status 3; while running, an outage (a TCP relay in front of the real server,
cut and restored) loses no job and no update, and `/healthz` says 503 meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx

from bot.jobs import JobState
from tests.e2e.conftest import polls_later
from tests.fakes.tcp_proxy import TcpProxy
from tests.faults.test_startup import closed_port
from tests.stores import postgres_schema

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"
PASSWORD = "db-password-never-logged"


async def test_unreachable_database_at_start_is_waited_for_then_exits_3(tmp_path):
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{closed_port()}/bot"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env={
            "PATH": os.environ["PATH"],
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DATABASE_URL": url,
            "DATABASE_WAIT": "4",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    raw, _ = await asyncio.wait_for(process.communicate(), 60)
    output = raw.decode()
    lines = output.strip().splitlines()
    assert process.returncode == 3, output
    attempts = [line for line in lines if "not reachable (attempt" in line]
    assert len(attempts) >= 2, output  # backoff: 0.5 s, 1 s, 2 s (+ jitter) within 4 s
    assert [n for n in range(1, len(attempts) + 1)] == [
        int(line.split("(attempt ")[1].split(")")[0]) for line in attempts
    ]
    assert lines == [*attempts, lines[-1]], "one line per attempt, then one more, nothing else"
    assert (
        "CRITICAL" in lines[-1]
        and f"not reachable after {len(attempts) + 1} attempts" in (lines[-1])
    )
    assert "Traceback" not in output
    assert PASSWORD not in output and TOKEN.split(":")[1] not in output


@contextlib.asynccontextmanager
async def postgres_behind_a_relay() -> AsyncIterator[tuple[str, TcpProxy]]:
    """A fresh schema on the test server, reached through a relay the test can cut."""
    async with postgres_schema() as (url, schema):
        parts = urlsplit(url)
        relay = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        port = await relay.start()
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
        query = f"{parts.query}&search_path={schema}" if parts.query else f"search_path={schema}"
        try:
            yield urlunsplit(parts._replace(netloc=netloc, query=query)), relay
        finally:
            await relay.stop()


async def test_database_outage_in_webhook_mode_loses_no_job_and_no_update(
    telegram, apiframe, public_settings, start_bot, caplog
):
    async with postgres_behind_a_relay() as (url, relay):
        settings = public_settings(database_url=url, callback_poll_interval=0.2)
        bot = await start_bot(settings)
        alice = telegram.user(1001)
        telegram.send_text(alice, "/video made before the outage")
        task = await apiframe.wait_for_task()
        await telegram.wait_for("sendMessage")  # the status message
        await polls_later(apiframe)  # the task id is recorded: the job is being polled

        caplog.clear()
        await relay.cut()
        async with httpx.AsyncClient(base_url=settings.public_url) as client:
            assert (await client.get("/healthz")).status_code == 503
            await apiframe.finish(task.task_id)  # the job finishes during the outage
            callback = await apiframe.wait_for_webhook()
            assert callback.status == 503  # no 500, no traceback: the provider may resend
            assert bot.parts.watch.down  # so Telegram's pushes are refused from now on
            telegram.send_text(alice, "/jobs")  # an update during the outage
            refused = await telegram.wait_for_webhook_delivery(lambda d: d.status == 503)
            assert refused.update_id == telegram.pending_updates[-1]["update_id"]
            assert telegram.calls_to("sendVideo") == []

            await relay.restore()
            await telegram.wait_for("sendVideo")  # the finished job, delivered after
            await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
            listing = await telegram.wait_for("sendMessage", lambda c: "#1" in c.params["text"])
            assert listing.params["chat_id"] == alice["id"]  # the update, handled after
            assert (await client.get("/healthz")).status_code == 200
        assert (await bot.job(1)).state is JobState.DELIVERED
        assert len(telegram.calls_to("sendVideo")) == 1
        await bot.stop()  # before the relay goes
    # One line when the outage began and one when it ended; no traceback per poll cycle.
    said = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert sum("database unreachable" in line for line in said) == 1, said
    assert sum("database answers again" in line for line in said) == 1, said
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]


async def test_update_that_failed_on_a_database_outage_is_handled_once_it_is_back(
    telegram, apiframe, apiframe_settings, start_bot
):
    """Long polling: Telegram has handed the update over already, so the bot keeps it and
    handles it again when the database answers, instead of answering "sorry"."""
    async with postgres_behind_a_relay() as (url, relay):
        bot = await start_bot(apiframe_settings(database_url=url))
        alice = telegram.user(1001)
        await relay.cut()
        telegram.send_text(alice, "/jobs")
        update_id = telegram.pending_updates[-1]["update_id"]
        await telegram.wait_for(
            "getUpdates", lambda c: any(u["update_id"] == update_id for u in c.result)
        )
        await telegram.wait_until_polling()  # the next poll: the update is on the bot's queue
        await bot.parts.application.update_queue.join()  # handled, and failed
        assert telegram.calls_to("sendMessage") == [], "no 'sorry': it is not given up"

        await relay.restore()
        listing = await telegram.wait_for("sendMessage")
        assert "no videos yet" in listing.params["text"]
        assert len(telegram.calls_to("sendMessage")) == 1
        await bot.stop()  # before the relay goes


async def test_request_caught_by_an_outage_after_its_job_was_made_is_made_once(
    telegram, apiframe, apiframe_settings, start_bot
):
    """The outage begins between the new job's row and the record of its status message:
    the request is not answered "sorry" nor handled again (that would make a second paid
    job); the job is submitted as soon as the database is back."""
    async with postgres_behind_a_relay() as (url, relay):
        bot = await start_bot(apiframe_settings(database_url=url))
        held = telegram.hold("sendMessage")
        telegram.send_text(telegram.user(1001), "/video one job only")
        await held.arrived.wait()  # the job exists; its status message is on its way
        await relay.cut()
        telegram.release("sendMessage")
        await telegram.wait_for("sendMessage")
        await bot.parts.application.update_queue.join()  # the request is handled
        assert apiframe.tasks == {}

        await relay.restore()
        task = await apiframe.wait_for_task()
        await apiframe.finish(task.task_id)
        await telegram.wait_for("sendVideo")
        assert len(apiframe.tasks) == 1
        assert await bot.job(2) is None, "the request made a second job"
        assert len(telegram.calls_to("sendMessage")) == 1, "one status message, no 'sorry'"
        await bot.stop()  # before the relay goes


async def test_webhook_update_caught_by_an_outage_is_handled_again_despite_its_claim(
    telegram, apiframe, public_settings, start_bot
):
    """Webhook mode: the update was claimed in the database (so another replica would not
    handle it too) before the outage hit its handler. The claim must not stop this replica
    from handling it once the database is back: one job, submitted, one status message."""
    async with postgres_behind_a_relay() as (url, relay):
        bot = await start_bot(public_settings(database_url=url))
        held = telegram.hold("sendMessage")
        telegram.send_text(telegram.user(1001), "/video claimed, then the outage")
        await held.arrived.wait()  # claimed and its job made; its status message on its way
        await relay.cut()
        telegram.release("sendMessage")
        await telegram.wait_for("sendMessage")
        await bot.parts.application.update_queue.join()  # handled, and failed on the outage

        await relay.restore()
        task = await apiframe.wait_for_task()
        await apiframe.finish(task.task_id)
        await telegram.wait_for("sendVideo")
        assert len(apiframe.tasks) == 1
        assert await bot.job(2) is None, "the request made a second job"
        assert len(telegram.calls_to("sendMessage")) == 1, "one status message, no 'sorry'"
        assert len(telegram.webhook_deliveries) == 1  # Telegram sent it once: no resend helped
        await bot.stop()  # before the relay goes

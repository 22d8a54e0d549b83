"""The public web server under hostile clients: JSON that is not an object, connections that
never finish their request head (slowloris), and more connections than it takes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.conftest import WEBHOOK_SECRET, ask_for_video, free_port

NOT_OBJECTS = {
    "a list": b"[]",
    "a string": b'"update"',
    "a number": b"42",
    "null": b"null",
    "10k-deep lists": b"[" * 10_000 + b"]" * 10_000,
    "a 10k-deep object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
}


async def test_json_that_is_not_an_object_answers_400(
    telegram, apiframe, public_settings, start_bot
):
    settings = public_settings(callback_poll_interval=3600)
    await start_bot(settings)
    task = await ask_for_video(telegram, apiframe, "/video a comet")
    callback_url = task.request["webhook_url"]
    json = {"content-type": "application/json"}
    async with httpx.AsyncClient() as client:
        for name, body in NOT_OBJECTS.items():
            update = await client.post(
                f"{settings.public_url}/telegram",
                content=body,
                headers={**json, "x-telegram-bot-api-secret-token": WEBHOOK_SECRET},
            )
            assert update.status_code == 400, f"Telegram webhook, {name}"
            callback = await client.post(
                callback_url,
                content=body,
                headers={**json, "x-webhook-secret": task.request["webhook_secret"]},
            )
            assert callback.status_code == 400, f"callback, {name}"
        not_an_update = await client.post(
            f"{settings.public_url}/telegram",
            json={"update_id": "one", "message": "not a message"},
            headers={"x-telegram-bot-api-secret-token": WEBHOOK_SECRET},
        )
        assert not_an_update.status_code == 400
    await apiframe.finish(task.task_id)  # the job is untouched and its callback still works
    await telegram.wait_for("sendVideo")


@contextlib.asynccontextmanager
async def raw_connection(
    port: int,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (within a generous test deadline)."""
    try:
        return await asyncio.wait_for(reader.read(), 10) == b""
    except (TimeoutError, ConnectionError):
        return False


async def test_half_sent_and_idle_connections_are_closed_after_the_header_timeout(
    telegram, apiframe, public_settings, start_bot
):
    settings = public_settings(http_header_timeout=0.5)
    await start_bot(settings)
    async with (
        raw_connection(settings.port) as (half, half_writer),
        raw_connection(settings.port) as (idle, _),
    ):
        half_writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Slow: ")  # never finished
        await half_writer.drain()
        assert await closed_by_server(half), "a half-sent request head is cut"
        assert await closed_by_server(idle), "a connection that sends nothing is cut"
    async with raw_connection(settings.port) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), "a request sent in time is served"
        assert await reader.readexactly(len(b'{"ok":true}')) == b'{"ok":true}'
        # The next request on the kept-alive connection stalls: uvicorn's keep-alive timer
        # stops at its first byte, ours does not.
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
        assert await closed_by_server(reader), "a half-sent second request head is cut too"
    async with raw_connection(settings.port) as (reader, writer):
        # A request longer than the timeout (its body comes late) is served, and the timer
        # starts again after its response: a stalled next request head is still cut.
        writer.write(
            b"POST /telegram HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + WEBHOOK_SECRET.encode() + b"\r\n"
            b"Content-Length: 2\r\n\r\n"
        )
        # No event says "the first timer went off"; waiting longer than it can only make
        # this test pass for the wrong reason if too short, never fail for one.
        await asyncio.sleep(settings.http_header_timeout * 2)
        writer.write(b"[]")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), "a slow body is not cut by the head timer"
        await reader.readexactly(len(b"Bad Request"))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
        assert await closed_by_server(reader), "after a long request, a stalled head is cut"


async def test_connections_over_the_limit_get_503_until_some_close(
    telegram, apiframe, public_settings, start_bot
):
    settings = public_settings(http_max_connections=4, http_header_timeout=3)
    await start_bot(settings)
    async with contextlib.AsyncExitStack() as stack:
        idle = [
            (await stack.enter_async_context(raw_connection(settings.port)))[0]
            for _ in range(settings.http_max_connections)
        ]
        async with httpx.AsyncClient(base_url=settings.public_url) as client:
            refused = await client.get("/healthz")
            assert refused.status_code == 503 and refused.text == "Service Unavailable"
            for reader in idle:  # the header timeout frees the slots
                assert await closed_by_server(reader)
            assert (await client.get("/healthz")).status_code == 200


class AccessLines(logging.Handler):
    """The web server's access lines, with an event for each new one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.new = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.new.set()

    async def line_for(self, prefix: str) -> logging.LogRecord:
        async with asyncio.timeout(10):
            while True:
                found = [r for r in self.records if r.getMessage().startswith(prefix)]
                if found:
                    return found[0]
                self.new.clear()
                await self.new.wait()


async def test_a_body_cut_off_midway_is_a_400_and_health_checks_stay_out_of_info(
    telegram, apiframe, public_settings, start_bot, caplog
):
    settings = public_settings()
    await start_bot(settings)
    access = AccessLines()
    logging.getLogger("bot.web").addHandler(access)
    try:
        async with raw_connection(settings.port) as (_, writer):
            writer.write(
                b"POST /telegram HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
                + f"X-Telegram-Bot-Api-Secret-Token: {WEBHOOK_SECRET}\r\n".encode()
                + b"Content-Length: 1000\r\n\r\n"
                + b'{"update_id": 1, "mess'  # and the client goes away
            )
            await writer.drain()
        cut = await access.line_for("POST /telegram")
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{settings.public_url}/healthz")).status_code == 200
        health = await access.line_for("GET /healthz")
    finally:
        logging.getLogger("bot.web").removeHandler(access)
    assert cut.getMessage().startswith("POST /telegram 400")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "a client that went away is no server error (no traceback)"
    assert health.levelno == logging.DEBUG  # every few seconds from a balancer: not at INFO


async def test_health_and_metrics_in_long_polling_mode(telegram, make_settings, start_bot):
    port = free_port()
    bot = await start_bot(make_settings(metrics_listen=f"127.0.0.1:{port}"))
    telegram.send_text(telegram.user(1001), "/video a kite")
    await telegram.wait_for("sendVideo")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"ok": True}
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "kling_bot_jobs{" in metrics.text
        await bot.stop()  # the listener goes with the bot
        with pytest.raises(httpx.ConnectError):
            await client.get("/healthz")

"""Bench 4, video relay: a 45 MB video delivered by upload, against a plain httpx copy.

The fake Telegram refuses to fetch videos by URL (`refuse_urls`), so the bot does what it does
for any video Telegram cannot fetch: streams it from the provider's link into a temporary file
and uploads that (`bot.delivery`). The video is served by this benchmark in 256 KB chunks, so
it knows when the last byte left; the fake Telegram tells when the upload arrived and when it
was answered. Per delivery that gives the transfer time (download plus upload) and the gap
between them: the bot's own work and its wait for the chat's turn, since the shipped bot
paces the upload behind the refused by-URL attempt (one message a second per chat; before
issue 16 also behind a "ready, sending" edit). Memory: the bot's peak RSS above its idle
RSS, read as VmHWM after resetting it (/proc/<pid>/clear_refs) and as the highest VmRSS
sampled every 5 ms, whichever is higher.

The baseline, in the same run, is `bench.relay_copy`: the same download and upload of the same
bytes from the same server with nothing but httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bench import harness as h
from tests.fakes.apiframe import FakeApiframe
from tests.fakes.server import LocalServer
from tests.fakes.telegram import Call, FakeTelegram

CHUNK = 256 * 1024
POLL_INTERVAL = 0.2


def video(size: int) -> bytes:
    """`size` bytes that are an MP4 as far as a box reader goes: `ftyp`, then one `mdat`."""
    ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    mdat_size = size - len(ftyp)
    pattern = bytes(range(256)) * 4096  # 1 MB, not all zeros
    payload = (pattern * (mdat_size // len(pattern) + 1))[: mdat_size - 8]
    return ftyp + mdat_size.to_bytes(4, "big") + b"mdat" + payload


@dataclass
class Served:
    """One download from the video host: when it was asked for and when the last byte left."""

    asked: float
    finished: float = 0.0


@dataclass
class VideoHost:
    """Serves one video at /<name>.mp4 in 256 KB chunks and notes each download's times."""

    data: bytes
    downloads: list[Served] = field(default_factory=list)

    async def _video(self, request: Request) -> Response:
        served = Served(time.monotonic())
        self.downloads.append(served)
        view = memoryview(self.data)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(view), CHUNK):
                yield bytes(view[start : start + CHUNK])
            # The server awaits each chunk's send (flow control) before asking for the next,
            # so here at most the socket buffers are still in flight.
            served.finished = time.monotonic()

        headers = {"content-length": str(len(self.data))}
        return StreamingResponse(chunks(), media_type="video/mp4", headers=headers)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = LocalServer(Starlette(routes=[Route("/{name}.mp4", self._video)]))
        url = await server.start()
        try:
            yield url
        finally:
            await server.stop()


@dataclass
class Relay:
    transfer: float  # download plus upload
    gap: float  # last byte downloaded -> upload started
    above_idle_kb: int

    @property
    def total(self) -> float:
        return self.transfer + self.gap


def upload_to(chat_id: int) -> Any:
    return lambda call: (
        (call.method == "sendVideo" and call.ok and "video" in call.files)
        and call.params.get("chat_id") == chat_id
    )


async def finished_upload(
    telegram: FakeTelegram,
    chat_id: int,
    seen: int,
    timeout: float,  # noqa: ASYNC109 - a benchmark deadline
) -> tuple[Call, float]:
    """The `seen`+1-th upload into `chat_id` and when it was answered (seen by this loop)."""
    calls = await telegram.wait_for_count(
        "sendVideo", seen + 1, upload_to(chat_id), timeout=timeout
    )
    return calls[seen], time.monotonic()


async def sample_rss(process: h.Process, peak: list[int]) -> None:
    """Keep the highest VmRSS in `peak[0]` until cancelled."""
    while True:
        peak[0] = max(peak[0], process.rss_kb())
        await asyncio.sleep(0.005)


@contextlib.contextmanager
def sampling(process: h.Process, peak: list[int]) -> Iterator[None]:
    task = asyncio.get_running_loop().create_task(sample_rss(process, peak))
    try:
        yield
    finally:
        task.cancel()


async def bot_relays(
    host: VideoHost,
    url: str,
    rounds: int,
    settle: float,
    timeout: float,  # noqa: ASYNC109 - a benchmark deadline
) -> list[Relay]:
    async with h.fakes() as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        telegram.refuse_urls = True
        with h.workdir() as workdir:
            # One person asks for every round's video: no cooldown between their requests.
            env = h.bot_env(
                workdir,
                telegram,
                apiframe,
                poll_interval=POLL_INTERVAL,
                request_cooldown=0,
                video_trusted_origins=url.rsplit("/", 1)[0],  # the video host, on 127.0.0.1
            )
            bot = h.Process("bot", env, workdir).start()
            try:
                await h.wait_polling(telegram, bot)
                person = h.users(telegram, 1)[0]
                return [
                    await bot_relay(telegram, apiframe, bot, host, url, person, n, settle, timeout)
                    for n in range(rounds)
                ]
            finally:
                await bot.stop()


async def bot_relay(
    telegram: FakeTelegram,
    apiframe: FakeApiframe,
    bot: h.Process,
    host: VideoHost,
    url: str,
    person: dict[str, Any],
    n: int,
    settle: float,
    timeout: float,  # noqa: ASYNC109 - a benchmark deadline
) -> Relay:
    """One job: asked for, status shown, idle for `settle` seconds, then finished with the big
    video's link."""
    telegram.send_text(person, f"/video a glacier calving into the sea, take {n}")
    await h.wait_until(lambda: len(apiframe.tasks) > n, 30, "the job's task", bot)
    task = list(apiframe.tasks.values())[n]
    status = h.Counter(telegram, h.ok("sendMessage"))
    await h.wait_until(lambda: status() > n, 30, "the status message", bot)
    await asyncio.sleep(settle)  # idle: the status message's pacing and first polls are over
    idle = bot.rss_kb()
    h.reset_peak(bot.pid)
    sampled = [idle]
    downloads = len(host.downloads)
    with sampling(bot, sampled):
        await apiframe.finish(task.task_id, video_url=url)
        call, answered = await finished_upload(telegram, person["id"], n, timeout)
    served = host.downloads[downloads]
    peak = max(bot.peak_kb(), sampled[0])
    return Relay(
        transfer=(served.finished - served.asked) + (answered - call.at),
        gap=call.at - served.finished,
        above_idle_kb=peak - idle,
    )


async def copy_relays(host: VideoHost, url: str, rounds: int, timeout: float) -> list[Relay]:  # noqa: ASYNC109
    async with h.fakes(apiframe=False) as fakes:
        telegram = fakes.telegram
        person = h.users(telegram, 1)[0]
        relays = []
        with h.workdir() as workdir:
            for n in range(rounds):
                downloads = len(host.downloads)
                env = h.echo_env(workdir, telegram)
                copier = h.Process("bench.relay_copy", env, workdir, url, str(person["id"]))
                copier.start()
                status = await copier.wait(timeout)
                if status != 0:
                    raise RuntimeError(f"bench.relay_copy failed:\n{copier.log_tail()}")
                call, answered = await finished_upload(telegram, person["id"], n, 5)
                served = host.downloads[downloads]
                memory = json.loads(copier.log_tail(1))
                relays.append(
                    Relay(
                        transfer=(served.finished - served.asked) + (answered - call.at),
                        gap=call.at - served.finished,
                        above_idle_kb=memory["peak_kb"] - memory["idle_kb"],
                    )
                )
    return relays


async def main(args: argparse.Namespace) -> None:
    size = (4 if args.smoke else 45) * h.MB
    rounds = 1 if args.smoke else 3
    settle = 0.3 if args.smoke else 1.5
    timeout = 60.0 if args.smoke else 300.0
    host = VideoHost(video(size))
    async with host.running() as root:
        url = f"{root}/result.mp4"
        copies = await copy_relays(host, url, rounds, timeout)
        relays = await bot_relays(host, url, rounds, settle, timeout)

    def mb_per_s(seconds: float) -> float:
        return size / h.MB / seconds

    bot_transfer = statistics.median(r.transfer for r in relays)
    copy_transfer = statistics.median(r.transfer for r in copies)
    bot_total = statistics.median(r.total for r in relays)
    copy_total = statistics.median(r.total for r in copies)
    bot_above = max(r.above_idle_kb for r in relays)
    copy_above = max(r.above_idle_kb for r in copies)
    h.print_table(
        f"4. Video relay: a {size // h.MB} MB video the fake Telegram will not fetch by URL, "
        f"downloaded and uploaded (median of {rounds})",
        ["", "kling bot (bot.delivery)", "plain httpx copy"],
        [
            ["download + upload", h.fmt_s(bot_transfer), h.fmt_s(copy_transfer)],
            [
                "throughput",
                f"{mb_per_s(bot_transfer):.0f} MB/s",
                f"{mb_per_s(copy_transfer):.0f} MB/s",
            ],
            [
                "between download and upload (work, pacing)",
                h.fmt_ms(statistics.median(r.gap for r in relays)),
                h.fmt_ms(statistics.median(r.gap for r in copies)),
            ],
            ["first byte asked -> upload answered", h.fmt_s(bot_total), h.fmt_s(copy_total)],
            ["peak RSS above idle (highest)", h.fmt_mb(bot_above), h.fmt_mb(copy_above)],
        ],
    )
    ratio = copy_transfer / bot_transfer
    h.print_ratios(
        [
            f"throughput bot/copy {ratio:.2f} (target >= 0.8: {h.verdict(ratio >= 0.8)})",
            f"peak RSS above idle {bot_above / 1024:.1f} MB "
            f"(target < 16 MB: {h.verdict(bot_above < 16 * 1024)})",
            f"end to end incl. the gap bot/copy {copy_total / bot_total:.2f}",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

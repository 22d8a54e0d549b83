"""Bench 5, callback to video: webhook mode, from a provider's "finished" callback to sendVideo.

The bot runs as shipped in webhook mode (`PUBLIC_URL` set: the fake Telegram pushes updates to
the bot's web server and the fake APIFRAME calls back). Set-up: 200 people each ask for a
video; every job is submitted and shows its status message; the safety-net poll is moved out
of the way (CALLBACK_POLL_INTERVAL=3600) so only callbacks report. Then the fake APIFRAME
finishes the tasks one at a time, at most 8 a second (three messages each stays under
Telegram's 30 a second, so the pacing never holds one job back for another), and each job is
timed from just before the callback is POSTed to the bot to when the bot's sendVideo for that
chat reached the fake Telegram. (Before issue 16 the bot edited the status message to
"ready, sending" first; now the video is the first thing the chat gets, and the status message
is settled after it.)

The baseline, in the same run, is `bench.callback_relay`: a bare Starlette app whose callback
route calls python-telegram-bot's `Bot.send_video`, with nothing else on the way.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import harness as h
from tests.fakes.apiframe import FakeApiframe, FakeTask
from tests.fakes.telegram import Call, FakeTelegram

SPACING = 1 / 8  # seconds between two callbacks, at least
_TAKE = re.compile(r"take (\d+)$")


@dataclass
class Timing:
    video: float  # callback sent -> sendVideo reached the fake Telegram


def video_in(chat_id: int) -> Callable[[Call], bool]:
    return lambda call: call.params.get("chat_id") == chat_id


async def finish_one_by_one(
    telegram: FakeTelegram,
    apiframe: FakeApiframe,
    jobs: Sequence[tuple[int, FakeTask]],
    process: h.Process,
) -> list[Timing]:
    """Finish each (chat id, task) in turn; how long until each one's sendVideo."""
    timings = []
    for chat_id, task in jobs:
        started = time.monotonic()
        await apiframe.finish(task.task_id)  # returns once the callback was answered
        try:
            call = await telegram.wait_for("sendVideo", video_in(chat_id), timeout=30)
        except AssertionError:
            process.check()
            raise
        timings.append(Timing(call.at - started))
        await asyncio.sleep(max(0.0, started + SPACING - time.monotonic()))
    return timings


async def bot_latencies(count: int) -> list[Timing]:
    async with h.fakes() as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        with h.workdir() as workdir:
            env = h.bot_env(
                workdir,
                telegram,
                apiframe,
                callback_poll_interval=3600,
                **h.webhook_settings(h.free_port()),
            )
            bot = h.Process("bot", env, workdir).start()
            try:
                await h.wait_webhook(telegram, bot)
                people = h.users(telegram, count)
                for n, person in enumerate(people):
                    telegram.send_text(person, f"/video northern lights over a fjord, take {n}")
                statuses = h.Counter(telegram, h.ok("sendMessage"))
                await h.wait_until(
                    lambda: (
                        statuses() >= count
                        and h.count_where(workdir, "provider_task_id IS NOT NULL") >= count
                    ),
                    60 + count / 5,
                    "every job submitted with its status message",
                    bot,
                    0.05,
                )
                await asyncio.sleep(1.5)  # every chat's pacing allowance is full again
                by_take = {int(_take(task)): task for task in apiframe.tasks.values()}
                jobs = [(person["id"], by_take[n]) for n, person in enumerate(people)]
                return await finish_one_by_one(telegram, apiframe, jobs, bot)
            finally:
                await bot.stop()


def _take(task: FakeTask) -> str:
    match = _TAKE.search(str(task.request["prompt"]))
    assert match is not None, task.request
    return match.group(1)


async def relay_latencies(count: int) -> list[Timing]:
    async with h.fakes() as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        port = h.free_port()
        with h.workdir() as workdir:
            env = h.echo_env(workdir, telegram)
            env["PORT"] = str(port)
            relay = h.Process("bench.callback_relay", env, workdir).start()
            try:
                await h.wait_until(lambda: h.port_open(port), 30, "the relay", relay, 0.01)
                jobs = []
                for n, person in enumerate(h.users(telegram, count)):
                    request: dict[str, Any] = {
                        "prompt": f"northern lights over a fjord, take {n}",
                        "generation_type": "text2video",
                        "webhook_url": f"http://127.0.0.1:{port}/callbacks/{person['id']}",
                    }
                    task = FakeTask(f"relay-task-{n}", request, "processing", 50)
                    apiframe.tasks[task.task_id] = task
                    jobs.append((person["id"], task))
                return await finish_one_by_one(telegram, apiframe, jobs, relay)
            finally:
                await relay.stop()


def summary(latencies: Sequence[float]) -> list[str]:
    return [
        h.fmt_ms(h.median(latencies)),
        h.fmt_ms(h.percentile(latencies, 0.9)),
        h.fmt_ms(h.percentile(latencies, 0.99)),
        h.fmt_ms(max(latencies)),
    ]


QUANTILES = ("median", "p90", "p99", "max")


async def main(args: argparse.Namespace) -> None:
    count = 5 if args.smoke else 200
    relay = [t.video for t in await relay_latencies(count)]
    timings = await bot_latencies(count)
    bot = [t.video for t in timings]
    rows = [
        [f"callback -> sendVideo, {q}", b, r]
        for q, b, r in zip(QUANTILES, summary(bot), summary(relay), strict=True)
    ]
    h.print_table(
        f"5. Callback to video: {count} jobs in webhook mode, each timed from the provider's "
        "'finished' callback",
        ["", "kling bot (webhook mode)", "bare callback -> send_video"],
        rows,
    )
    p99 = h.percentile(bot, 0.99)
    h.print_ratios(
        [
            f"p99 {p99 * 1000:.1f} ms (target < 100 ms: {h.verdict(p99 < 0.1)})",
            f"median bot/bare {h.median(bot) / h.median(relay):.2f}",
            f"p99 bot/bare {p99 / h.percentile(relay, 0.99):.2f}",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

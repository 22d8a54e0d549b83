"""Bench 1, job throughput: 2,000 `/video` requests from 500 users through a job's whole life.

Accept, submit, poll, deliver, on APIFRAME with tasks that finish by themselves after a few
fetches, Telegram's limits off in the fake. Measured: the bot's CPU seconds per job (from
/proc/<pid>/stat) and its wall time from the first update to the last video, against a bare
python-telegram-bot echo bot (long polling, one `reply_text` per message) answering the same
updates from the same kind of fake, measured in the same run.

The bot runs through `bench.bot_variant --limiter unpaced`: its pacing code runs but never
waits, since with Telegram's real limits 2,000 jobs take at least 333 s whatever the bot does
(bench 2 covers pacing). The fakes' own CPU time (this process) is shown too, to tell whether
they, rather than the bot, set the pace.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from bench import harness as h
from tests.fakes.telegram import FakeTelegram

FETCHES_BEFORE_FINISH = 2  # each task reports progress twice, then finishes on the third poll


@dataclass
class Run:
    wall: float  # first update sent -> last answer seen
    cpu: float  # the process's CPU seconds over the same span
    fakes_cpu: float  # this process's (the fakes') CPU seconds over the same span
    peak_kb: int
    telegram_calls: int
    message_calls: int  # the calls Telegram's message limits count (sends and edits)


async def run_echo(requests: int, people: int, timeout: float) -> Run:  # noqa: ASYNC109
    async with h.fakes(apiframe=False) as fakes:
        telegram = fakes.telegram
        with h.workdir() as workdir:
            echo = h.Process("bench.echo_bot", h.echo_env(workdir, telegram), workdir).start()
            try:
                await h.wait_polling(telegram, echo)
                replies = h.Counter(telegram, h.ok("sendMessage"))
                return await _drive(telegram, echo, requests, people, replies, timeout)
            finally:
                await echo.stop()


async def run_bot(
    requests: int,
    people: int,
    poll_interval: float,
    timeout: float,  # noqa: ASYNC109 - a benchmark deadline
) -> tuple[Run, int]:
    async with h.fakes() as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        apiframe.auto_finish_after_fetches = FETCHES_BEFORE_FINISH
        with h.workdir() as workdir:
            env = h.bot_env(
                workdir,
                telegram,
                apiframe,
                poll_interval=poll_interval,
                # Four requests per person at once: the access limits must not refuse them.
                request_cooldown=0,
                max_active_jobs_per_user=requests,
                daily_jobs_per_user=requests,
            )
            bot = h.Process("bench.bot_variant", env, workdir, "--limiter", "unpaced").start()
            try:
                await h.wait_polling(telegram, bot)
                videos = h.Counter(telegram, h.ok("sendVideo"))
                run = await _drive(telegram, bot, requests, people, videos, timeout)
                await h.wait_until(
                    lambda: h.count_jobs(workdir, "delivered") == requests,
                    30,
                    "every job marked delivered",
                    bot,
                    0.1,
                )
                return run, h.count_jobs(workdir, "delivered")
            finally:
                await bot.stop()


async def _drive(
    telegram: FakeTelegram,
    process: h.Process,
    requests: int,
    people: int,
    done: h.Counter,
    timeout: float,  # noqa: ASYNC109
) -> Run:
    """Send every request at once, then wait until `done` has counted one answer for each."""
    senders = h.users(telegram, people)
    # getUpdates included, as in the echo bot's count; the bot's start-up calls are not.
    calls = h.Counter(telegram, lambda call: call.method not in h.START_METHODS)
    calls.skip()
    messages = h.Counter(telegram, lambda call: call.method in h.MESSAGE_METHODS)
    messages.skip()
    cpu_before, fakes_before = process.cpu(), time.process_time()
    started = time.monotonic()
    for n in range(requests):
        telegram.send_text(senders[n % people], f"/video a corgi surfing at sunset, take {n}")
    finished = await h.wait_until(
        lambda: done() >= requests, timeout, f"{requests} answers", process, 0.01
    )
    return Run(
        wall=finished - started,
        cpu=process.cpu() - cpu_before,
        fakes_cpu=time.process_time() - fakes_before,
        peak_kb=process.peak_kb(),
        telegram_calls=calls(),
        message_calls=messages(),
    )


async def main(args: argparse.Namespace) -> None:
    requests, people = (20, 5) if args.smoke else (2000, 500)
    poll_interval = 0.1 if args.smoke else 0.5
    timeout = 120.0 if args.smoke else 1200.0
    echo = await run_echo(requests, people, timeout)
    bot, delivered = await run_bot(requests, people, poll_interval, timeout)
    ratio = bot.wall / echo.wall
    h.print_table(
        f"1. Job throughput: {requests} /video from {people} users, APIFRAME finishing after "
        f"{FETCHES_BEFORE_FINISH + 1} polls (POLL_INTERVAL={poll_interval}), Telegram limits off",
        ["", "kling bot (whole job)", "PTB echo bot (one reply)"],
        [
            ["wall time, first update to last answer", h.fmt_s(bot.wall), h.fmt_s(echo.wall)],
            ["requests per second", f"{requests / bot.wall:.0f}", f"{requests / echo.wall:.0f}"],
            [
                "CPU per request",
                h.fmt_ms(bot.cpu / requests),
                h.fmt_ms(echo.cpu / requests),
            ],
            ["Bot API calls", bot.telegram_calls, echo.telegram_calls],
            ["of which messages (sends and edits)", bot.message_calls, echo.message_calls],
            ["fakes' CPU (the benchmark process)", h.fmt_s(bot.fakes_cpu), h.fmt_s(echo.fakes_cpu)],
            ["peak RSS", h.fmt_mb(bot.peak_kb), h.fmt_mb(echo.peak_kb)],
            ["jobs delivered", f"{delivered}/{requests}", "-"],
        ],
    )
    h.print_ratios(
        [
            f"wall time bot/echo {ratio:.2f} (target <= 2: {h.verdict(ratio <= 2)})",
            f"CPU per job {bot.cpu / requests * 1000:.1f} ms",
            f"CPU bot/echo {bot.cpu / max(echo.cpu, 1e-9):.2f}",
            f"paced at Telegram's 30 msg/s the same jobs need >= {bot.message_calls / 30:.0f} s",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

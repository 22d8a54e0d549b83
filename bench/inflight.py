"""Bench 3, many jobs in flight: 10,000 unfinished APIFRAME jobs, against the same bot with 10.

The database is seeded through `SqliteStore` (`create_job`, `record_submission`) and the fake's
tasks stay "processing", so every poll cycle asks about every job and none ever finishes. The
seeded jobs have no status message, so a cycle is pure polling, with no Telegram traffic.
Measured per steady cycle (after the start-up one): provider requests (the target is N/20 with
`/fetch-many`), the bot's CPU seconds and the cycle's length; over the run, the bot's peak RSS
(VmHWM) compared with the 10-job bot's. Then the same bot runs once more inside this process
to count the asyncio tasks and timers it adds to the event loop, which must not grow with the
number of jobs (the tracker is one loop, not a task or timer per job).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench import harness as h
from bot.app import BotParts, run_bot
from bot.config import Settings
from bot.jobs import JobKind, NewJob, Requester
from bot.store import SqliteStore
from tests.fakes.apiframe import FakeApiframe, FakeTask
from tests.fakes.telegram import FakeTelegram

FETCH_PATHS = ("/fetch", "/fetch-many")
FLAT_SLACK = 5  # more tasks plus timers than the 10-job bot that still count as "flat"


@dataclass
class Result:
    jobs: int
    seed_seconds: float
    requests_per_cycle: float
    cpu_per_cycle: float
    cycle_seconds: float
    peak_kb: int
    rss_kb: int
    asyncio_tasks: int
    timers: int


async def seed(path: Path, apiframe: FakeApiframe, jobs: int) -> float:
    """Write `jobs` submitted jobs, and the fake tasks behind them, processing at 40%."""
    started = time.monotonic()
    store = await SqliteStore.open(path)
    try:
        for n in range(jobs):
            job = await store.create_job(
                NewJob(
                    requester=Requester(user_id=200_000 + n, chat_id=200_000 + n, message_id=1),
                    kind=JobKind.TEXT,
                    prompt=f"a lighthouse in a storm, seen from the sea, take {n}",
                    provider="apiframe",
                    callback_token=secrets.token_urlsafe(24),
                )
            )
            task_id = str(uuid.uuid4())
            await store.record_submission(job.id, "apiframe", task_id)
            request = {"prompt": job.prompt, "generation_type": "text2video"}
            apiframe.tasks[task_id] = FakeTask(task_id, request, "processing", 40)
    finally:
        await store.close()
    return time.monotonic() - started


def polls(apiframe: FakeApiframe) -> int:
    return sum(1 for r in apiframe.requests if r.path in FETCH_PATHS)


def cycles_done(apiframe: FakeApiframe) -> int:
    """Complete poll cycles so far: every task is fetched once per cycle."""
    return min(task.fetch_count for task in apiframe.tasks.values())


async def measure(jobs: int, steady_cycles: int, poll_interval: float) -> Result:
    async with h.fakes() as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        with h.workdir() as workdir:
            seeded = await seed(h.database_path(workdir), apiframe, jobs)
            env = h.bot_env(workdir, telegram, apiframe, poll_interval=poll_interval)
            bot = h.Process("bot", env, workdir).start()
            deadline = 60 + jobs / 50
            try:
                await h.wait_polling(telegram, bot)
                # Cycle 1 also moves every job from queued to running; measure from cycle 2.
                await h.wait_until(
                    lambda: cycles_done(apiframe) >= 2, deadline, "two poll cycles", bot, 0.05
                )
                start, cpu, requests = time.monotonic(), bot.cpu(), polls(apiframe)
                target = 2 + steady_cycles
                await h.wait_until(
                    lambda: cycles_done(apiframe) >= target, deadline, "poll cycles", bot, 0.05
                )
                elapsed, cpu, requests = (
                    time.monotonic() - start,
                    bot.cpu() - cpu,
                    polls(apiframe) - requests,
                )
                peak, rss = bot.peak_kb(), bot.rss_kb()
            finally:
                await bot.stop()
            settings = in_process_settings(workdir, telegram, apiframe, poll_interval)
            tasks, timers = await count_tasks(settings, apiframe)
    return Result(
        jobs=jobs,
        seed_seconds=seeded,
        requests_per_cycle=requests / steady_cycles,
        cpu_per_cycle=cpu / steady_cycles,
        cycle_seconds=elapsed / steady_cycles,
        peak_kb=peak,
        rss_kb=rss,
        asyncio_tasks=tasks,
        timers=timers,
    )


def in_process_settings(
    workdir: Path, telegram: FakeTelegram, apiframe: FakeApiframe, poll_interval: float
) -> Settings:
    """The subprocess's settings, for running the same bot in this event loop."""
    return Settings.model_validate(  # model_validate reads no environment and no .env
        {
            "telegram_bot_token": telegram.token,
            "telegram_api_url": telegram.url,
            "database_url": f"sqlite:///{h.database_path(workdir)}",
            "video_providers": "apiframe",
            "apiframe_api_key": h.APIFRAME_KEY,
            "apiframe_base_url": apiframe.url,
            "poll_interval": poll_interval,
        }
    )


def scheduled_timers() -> int:
    """Live timers (call_later handles) in the running loop; asyncio has no public count."""
    handles = getattr(asyncio.get_running_loop(), "_scheduled", ())
    return sum(1 for handle in handles if not handle.cancelled())


async def count_tasks(settings: Settings, apiframe: FakeApiframe) -> tuple[int, int]:
    """The most asyncio tasks and timers the bot had over two poll cycles.

    The bot runs in an event loop of its own, in a thread, so everything in that loop is the
    bot's; the fakes go on answering in this one.
    """
    logging.getLogger().setLevel(logging.ERROR)  # the bot's start-up notices are not output
    return await asyncio.to_thread(asyncio.run, _count_in_own_loop(settings, apiframe))


async def _count_in_own_loop(settings: Settings, apiframe: FakeApiframe) -> tuple[int, int]:
    stop, ready = asyncio.Event(), asyncio.Event()

    def on_ready(parts: BotParts) -> None:
        ready.set()

    running = asyncio.create_task(run_bot(settings, stop, on_ready=on_ready))
    most_tasks = most_timers = 0

    def sample_and_check(target: int) -> bool:
        nonlocal most_tasks, most_timers
        most_tasks = max(most_tasks, len(asyncio.all_tasks()) - 1)  # not this sampler
        most_timers = max(most_timers, scheduled_timers())
        return cycles_done(apiframe) >= target

    try:
        await h.wait_until(lambda: ready.is_set() or running.done(), 60, "the in-process bot")
        if running.done():
            running.result()
        target = cycles_done(apiframe) + 2
        await h.wait_until(
            lambda: sample_and_check(target), 120, "two in-process cycles", None, 0.01
        )
        return most_tasks, most_timers
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)


async def main(args: argparse.Namespace) -> None:
    many = 200 if args.smoke else 10_000
    steady = 1 if args.smoke else 3
    poll_interval = 0.2 if args.smoke else 1.0
    few = await measure(10, steady, poll_interval)
    lots = await measure(many, steady, poll_interval)
    rss_ratio = lots.peak_kb / few.peak_kb
    per_cycle_target = math.ceil(many / 20)
    rows: list[list[object]] = [
        [
            "seeding the database and the fake",
            h.fmt_s(few.seed_seconds),
            h.fmt_s(lots.seed_seconds),
        ],
        [
            "provider requests per cycle",
            f"{few.requests_per_cycle:.0f}",
            f"{lots.requests_per_cycle:.0f}",
        ],
        ["CPU per cycle", h.fmt_cpu(few.cpu_per_cycle), h.fmt_cpu(lots.cpu_per_cycle)],
        [
            "cycle length (incl. the interval)",
            h.fmt_s(few.cycle_seconds),
            h.fmt_s(lots.cycle_seconds),
        ],
        ["peak RSS (VmHWM)", h.fmt_mb(few.peak_kb), h.fmt_mb(lots.peak_kb)],
        ["RSS after the cycles", h.fmt_mb(few.rss_kb), h.fmt_mb(lots.rss_kb)],
        ["asyncio tasks (most at once)", few.asyncio_tasks, lots.asyncio_tasks],
        ["asyncio timers (most at once)", few.timers, lots.timers],
    ]
    h.print_table(
        f"3. Jobs in flight: {many} unfinished APIFRAME jobs against 10 "
        f"(POLL_INTERVAL={poll_interval}, {steady} steady cycles each)",
        ["", "10 jobs", f"{many} jobs"],
        rows,
    )
    requests_ok = lots.requests_per_cycle <= per_cycle_target
    rss_ok = rss_ratio <= 1.2
    # A task or timer per job would add thousands; a request or two in flight adds one or two.
    growth = lots.asyncio_tasks + lots.timers - few.asyncio_tasks - few.timers
    flat_ok = growth <= FLAT_SLACK
    h.print_ratios(
        [
            f"requests per cycle {lots.requests_per_cycle:.0f} for N/20 = {per_cycle_target} "
            f"({h.verdict(requests_ok)})",
            f"peak RSS {many}/10 jobs {rss_ratio:.2f} (target <= 1.2: {h.verdict(rss_ok)})",
            f"CPU per cycle {lots.cpu_per_cycle * 1000:.0f} ms "
            f"({lots.cpu_per_cycle / many * 1e6:.0f} us per job)",
            f"tasks {lots.asyncio_tasks} vs {few.asyncio_tasks}, timers {lots.timers} vs "
            f"{few.timers} (no per-job task or timer, growth <= {FLAT_SLACK}: "
            f"{h.verdict(flat_ok)})",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

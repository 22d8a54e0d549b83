"""Bench 6, start-up and idle: time to the first getUpdates, and RSS once idle.

Each round starts the bot (`python -m bot`, long polling, APIFRAME configured) and, as the
baseline in the same run, the bare python-telegram-bot echo bot (`bench.echo_bot`), one after
the other against the same fake Telegram. Measured from just before the process is forked to
its first getUpdates long poll parked at the fake (read every 2 ms), with the CPU seconds it
spent getting there; then, after a few idle seconds, its RSS. Each keeps its directory across
rounds, so the first round of the bot creates its database and the later ones open it, as a
restart does; the table shows medians.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path

from bench import harness as h
from tests.fakes.telegram import FakeTelegram


@dataclass
class Start:
    seconds: float  # fork -> first getUpdates parked
    cpu: float  # CPU seconds spent by then
    idle_kb: int  # VmRSS after the idle wait
    idle_cpu: float  # CPU seconds spent while idle


async def start_once(
    module: str, env: dict[str, str], workdir: Path, telegram: FakeTelegram, idle: float
) -> Start:
    process = h.Process(module, env, workdir).start()
    try:
        polling = await h.wait_polling(telegram, process)
        cpu = process.cpu()
        await asyncio.sleep(idle)
        process.check()
        return Start(polling - process.started_at, cpu, process.rss_kb(), process.cpu() - cpu)
    finally:
        await process.stop()


async def main(args: argparse.Namespace) -> None:
    rounds = 1 if args.smoke else 5
    idle = 0.5 if args.smoke else 5.0
    bots: list[Start] = []
    echoes: list[Start] = []
    async with h.fakes() as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        with h.workdir() as bot_dir, h.workdir() as echo_dir:
            bot_env = h.bot_env(bot_dir, telegram, apiframe)
            echo_env = h.echo_env(echo_dir, telegram)
            for _ in range(rounds):
                echoes.append(
                    await start_once("bench.echo_bot", echo_env, echo_dir, telegram, idle)
                )
                bots.append(await start_once("bot", bot_env, bot_dir, telegram, idle))

    def med(values: list[float]) -> float:
        return h.median(values)

    bot_start, echo_start = med([s.seconds for s in bots]), med([s.seconds for s in echoes])
    bot_rss, echo_rss = med([s.idle_kb for s in bots]), med([s.idle_kb for s in echoes])
    h.print_table(
        f"6. Start-up and idle: median of {rounds} starts each, RSS after {idle:g} s idle",
        ["", "kling bot (python -m bot)", "PTB echo bot"],
        [
            ["start -> first getUpdates", h.fmt_s(bot_start), h.fmt_s(echo_start)],
            [
                "CPU spent starting",
                h.fmt_s(med([s.cpu for s in bots])),
                h.fmt_s(med([s.cpu for s in echoes])),
            ],
            ["first start (new database)", h.fmt_s(bots[0].seconds), h.fmt_s(echoes[0].seconds)],
            ["idle RSS", h.fmt_mb(bot_rss), h.fmt_mb(echo_rss)],
            [
                f"CPU while idle ({idle:g} s)",
                h.fmt_cpu(med([s.idle_cpu for s in bots])),
                h.fmt_cpu(med([s.idle_cpu for s in echoes])),
            ],
        ],
    )
    h.print_ratios(
        [
            f"start-up bot/echo {bot_start / echo_start:.2f}",
            f"idle RSS bot/echo {bot_rss / echo_rss:.2f} (+{(bot_rss - echo_rss) / 1024:.1f} MB)",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

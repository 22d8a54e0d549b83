"""Bench 2, burst delivery under Telegram's limits: 300 jobs in 300 chats finish at once.

The fake Telegram enforces its limits (per chat 1 a second, 2 back to back after a quiet
second; per group 20 a minute; overall 30 a second) and answers 429 beyond them. Set-up: 300
people each ask for a video and the bot answers with a status message; the APIFRAME tasks stay
pending. Then every task finishes in the same instant and the bot has 300 videos to send and
300 status messages to settle (before issue 16: per job the "finished" edit, the video and the
"done" edit, 900 messages; now the video, and the status message edited to "done", or deleted
while the budget is busy, which is not a message). Measured: the rate of every message the
bot sends in the burst (edits and refused attempts included) against the 30 a second allowed,
and the 429 answers over the whole run. The bot runs as shipped
(`python -m bot`, `bot.pacing`); the baseline, in the same run, is the same bot with the
limiter it had before, `AIORateLimiter(max_retries=3)`, and every status edit sent as before
issue 16 (`--status always`), given a bounded time to finish.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from bench import harness as h
from tests.fakes.telegram import Call

ALLOWED_RATE = 30.0  # messages a second, Telegram's overall limit


@dataclass
class Burst:
    setup: float
    sent: int  # every message call in the burst, 429s included
    accepted: int
    videos: int
    first_delay: float  # all tasks finished -> first message
    span: float  # first -> last message
    rate: float  # messages answered 200 per second over the span
    limited: int  # 429 answers, whole run
    finished: bool  # every job delivered (and its last edit sent) within the bound


def _settled(call: Call) -> bool:
    """A status message's last change: edited to "done", or deleted."""
    if not call.ok:
        return False
    done = call.method == "editMessageText" and "Done" in str(call.params.get("text"))
    return done or call.method == "deleteMessage"


async def burst(chats: int, command: tuple[str, ...], poll_interval: float, bound: float) -> Burst:
    async with h.fakes(enforce_rate_limits=True) as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        with h.workdir() as workdir:
            env = h.bot_env(workdir, telegram, apiframe, poll_interval=poll_interval)
            bot = h.Process(command[0], env, workdir, *command[1:]).start()
            try:
                await h.wait_polling(telegram, bot)
                setup_started = time.monotonic()
                for n, person in enumerate(h.users(telegram, chats)):
                    telegram.send_text(person, f"/video fireworks over the harbour, take {n}")
                # Every task polled twice: the first poll's status edits have all gone out.
                await h.wait_until(
                    lambda: (
                        len(apiframe.tasks) == chats
                        and all(task.fetch_count >= 2 for task in apiframe.tasks.values())
                    ),
                    bound,
                    "every job submitted and polled twice",
                    bot,
                    0.05,
                )
                setup = time.monotonic() - setup_started
                messages = h.Counter(telegram, lambda call: call.method in h.MESSAGE_METHODS)
                messages.skip()
                accepted = h.Counter(telegram, lambda c: c.method in h.MESSAGE_METHODS and c.ok)
                accepted.skip()
                settled = h.Counter(telegram, _settled)
                settled.skip()
                started = time.monotonic()
                for task in list(apiframe.tasks.values()):
                    await apiframe.finish(task.task_id)
                finished = True
                try:
                    await h.wait_until(
                        lambda: h.count_jobs(workdir, "delivered") == chats and settled() >= chats,
                        bound,
                        "every video delivered and its status edited",
                        bot,
                        0.1,
                    )
                except TimeoutError:
                    finished = False
                messages()
                accepted()
            finally:
                await bot.stop()
        sent = messages.matched
        span = sent[-1].at - sent[0].at if len(sent) > 1 else 0.0
        return Burst(
            setup=setup,
            sent=len(sent),
            accepted=len(accepted.matched),
            videos=sum(1 for c in accepted.matched if c.method == "sendVideo"),
            first_delay=sent[0].at - started if sent else 0.0,
            span=span,
            rate=(len(accepted.matched) - 1) / span if span else 0.0,
            limited=telegram.rate_limited_responses,
            finished=finished,
        )


async def main(args: argparse.Namespace) -> None:
    chats = 5 if args.smoke else 300
    poll_interval = 0.2 if args.smoke else 0.5
    bound = 30.0 if args.smoke else 120.0
    paced = await burst(chats, ("bot",), poll_interval, bound)
    aio = ("bench.bot_variant", "--limiter", "aio", "--status", "always")
    before = await burst(chats, aio, poll_interval, bound)

    def column(b: Burst) -> list[object]:
        videos = f"{b.videos}/{chats}" + ("" if b.finished else f" (bound {bound:.0f} s hit)")
        return [
            h.fmt_s(b.setup),
            b.sent,
            b.accepted,
            videos,
            h.fmt_s(b.first_delay),
            h.fmt_s(b.span),
            f"{b.rate:.1f}/s",
            b.limited,
        ]

    labels = [
        "set-up: status messages and first poll",
        "message calls in the burst (429s included)",
        "messages accepted",
        "videos delivered",
        "all finished -> first message",
        "first -> last message",
        f"accepted rate ({ALLOWED_RATE:.0f}/s allowed)",
        "429 answers, whole run",
    ]
    paced_column, before_column = column(paced), column(before)
    h.print_table(
        f"2. Burst delivery: {chats} jobs in {chats} private chats finish at once, "
        "the fake enforcing Telegram's limits",
        ["", "bot.pacing (shipped)", "AIORateLimiter (before)"],
        [[label, paced_column[i], before_column[i]] for i, label in enumerate(labels)],
    )
    share = paced.rate / ALLOWED_RATE
    h.print_ratios(
        [
            f"rate/allowed {share:.2f} (target >= 0.90: {h.verdict(share >= 0.9)})",
            f"429 answers {paced.limited} (target 0: {h.verdict(paced.limited == 0)})",
            f"rate pacing/AIORateLimiter {paced.rate / max(before.rate, 1e-9):.2f}",
            f"429s with AIORateLimiter {before.limited}",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

"""Bench 2b, jobs under Telegram's enforced limits: 1,000 jobs across 300 chats and 20 groups.

The fake Telegram enforces its limits (per chat 1 a second, per group 20 a minute, overall 30
a second, 429 beyond them) and APIFRAME's tasks report progress on each of their first
`PROGRESS_POLLS` polls, then finish. Every request is sent at once: 900 from 300 people in
their private chats (3 each) and 100 in 20 groups (5 each, from 5 members). A job is done
when its video is delivered and its status message is settled: edited to "Done", or deleted
(what the shipped bot does in a busy chat). Measured: Bot API calls and
message calls per job, and jobs finished per second (jobs / time from the first request to the
last job done), for the bot as shipped and, in the same run, for the same bot sending every
status edit as before issue 16 (`bench.bot_variant --status always`). The same two bots are
also run idle, 20 jobs in 20 quiet chats, to show that a quiet chat still sees its progress.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from bench import harness as h
from tests.fakes.telegram import Call, FakeTelegram

PROGRESS_POLLS = 5  # each task reports progress on 5 polls (16 % ... 83 %), finishes on the 6th
POLL_INTERVAL = 1.0
SMOKE_PROGRESS_POLLS, SMOKE_POLL_INTERVAL = 2, 0.2
SHIPPED = ("bot",)
BEFORE = ("bench.bot_variant", "--status", "always")


@dataclass(frozen=True)
class Size:
    private_chats: int
    jobs_per_chat: int
    groups: int
    jobs_per_group: int

    @property
    def jobs(self) -> int:
        return self.private_chats * self.jobs_per_chat + self.groups * self.jobs_per_group


@dataclass
class Run:
    jobs: int
    span: float  # first request -> last job done
    calls: int  # every Bot API call for the jobs in that span (`h.for_jobs`)
    messages: int  # the calls Telegram's limits count (sends and edits), accepted or not
    deletions: int
    actions: int  # sendChatAction
    progress_edits: int  # edits showing a percentage
    limited: int  # 429 answers
    delivered: int
    finished: bool  # every job done within the bound

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.span if self.span else 0.0


def _settled(call: Call) -> bool:
    """A status message's last change: edited to "done", or deleted (a busy chat)."""
    if not call.ok:
        return False
    done = call.method == "editMessageText" and "Done" in str(call.params.get("text"))
    return done or call.method == "deleteMessage"


def _progress_edit(call: Call) -> bool:
    return call.method == "editMessageText" and "%" in str(call.params.get("text"))


def _requests(telegram: FakeTelegram, size: Size) -> list[tuple[dict[str, object], object]]:
    """(sender, group chat or None) per job: private chats' jobs and groups' jobs interleaved."""
    people = h.users(telegram, size.private_chats)
    private = [(p, None) for _ in range(size.jobs_per_chat) for p in people]
    members = h.users(telegram, size.groups * size.jobs_per_group, first_id=500_000)
    grouped = []
    for g in range(size.groups):
        group = telegram.group(-1_000_000 - g, f"Group {g}")
        for m in range(size.jobs_per_group):
            grouped.append((members[g * size.jobs_per_group + m], group))
    every = max(1, len(private) // max(1, len(grouped)))
    mixed: list[tuple[dict[str, object], object]] = []
    for n, request in enumerate(private):
        mixed.append(request)
        if grouped and (n + 1) % every == 0:
            mixed.append(grouped.pop())
    return mixed + grouped


@dataclass(frozen=True)
class Provider:
    progress_polls: int
    poll_interval: float


async def run(command: tuple[str, ...], size: Size, provider: Provider, bound: float) -> Run:
    async with h.fakes(enforce_rate_limits=True) as fakes:
        telegram, apiframe = fakes.telegram, fakes.apiframe
        assert apiframe is not None
        apiframe.auto_finish_after_fetches = provider.progress_polls
        with h.workdir() as workdir:
            env = h.bot_env(
                workdir,
                telegram,
                apiframe,
                poll_interval=provider.poll_interval,
                request_cooldown=0,
                max_active_jobs_per_user=size.jobs,
                daily_jobs_per_user=size.jobs,
            )
            bot = h.Process(command[0], env, workdir, *command[1:]).start()
            try:
                await h.wait_polling(telegram, bot)
                requests = _requests(telegram, size)
                calls = h.Counter(telegram, h.for_jobs)
                calls.skip()
                done = h.Counter(telegram, _settled)
                started = time.monotonic()
                for n, (sender, group) in enumerate(requests):
                    command_text = "/video@kling_test_bot" if group is not None else "/video"
                    chat = group if isinstance(group, dict) else None
                    telegram.send_text(sender, f"{command_text} a lighthouse, take {n}", chat=chat)
                finished = True
                try:
                    ended = await h.wait_until(
                        lambda: done() >= size.jobs, bound, "every job done", bot, 0.1
                    )
                except TimeoutError:
                    finished, ended = False, time.monotonic()
                calls()
                delivered = h.count_jobs(workdir, "delivered")
            finally:
                await bot.stop()
        made = calls.matched
        return Run(
            jobs=size.jobs,
            span=ended - started,
            calls=len(made),
            messages=sum(1 for c in made if c.method in h.MESSAGE_METHODS),
            deletions=sum(1 for c in made if c.method == "deleteMessage"),
            actions=sum(1 for c in made if c.method == "sendChatAction"),
            progress_edits=sum(1 for c in made if _progress_edit(c)),
            limited=telegram.rate_limited_responses,
            delivered=delivered,
            finished=finished,
        )


def _column(r: Run, bound: float) -> list[object]:
    delivered = f"{r.delivered}/{r.jobs}" + ("" if r.finished else f" (bound {bound:.0f} s hit)")
    return [
        h.fmt_s(r.span),
        f"{r.jobs_per_s:.2f}",
        f"{r.calls / r.jobs:.2f}",
        f"{r.messages / r.jobs:.2f}",
        f"{r.deletions / r.jobs:.2f}",
        f"{r.actions / r.jobs:.2f}",
        f"{r.progress_edits / r.jobs:.2f}",
        r.limited,
        delivered,
    ]


LABELS = [
    "first request -> last job done",
    "jobs per second",
    "Bot API calls per job",
    "of which messages (sends and edits)",
    "of which status messages deleted",
    "of which 'sending video' actions",
    "progress edits per job",
    "429 answers",
    "jobs delivered",
]


async def main(args: argparse.Namespace) -> None:
    if args.smoke:
        busy, idle, bound = Size(6, 2, 2, 3), Size(4, 1, 0, 0), 120.0
        provider = Provider(SMOKE_PROGRESS_POLLS, SMOKE_POLL_INTERVAL)
    else:
        busy, idle, bound = Size(300, 3, 20, 5), Size(20, 1, 0, 0), 900.0
        provider = Provider(PROGRESS_POLLS, POLL_INTERVAL)
    idle_now = await run(SHIPPED, idle, provider, bound)
    idle_before = await run(BEFORE, idle, provider, bound)
    busy_now = await run(SHIPPED, busy, provider, bound)
    busy_before = await run(BEFORE, busy, provider, bound)
    for title, now, before in (
        (f"{idle.jobs} jobs in {idle.private_chats} quiet private chats", idle_now, idle_before),
        (
            f"{busy.jobs} jobs at once: {busy.private_chats} private chats "
            f"({busy.jobs_per_chat} each) and {busy.groups} groups ({busy.jobs_per_group} each)",
            busy_now,
            busy_before,
        ),
    ):
        now_column, before_column = _column(now, bound), _column(before, bound)
        h.print_table(
            f"2b. Jobs under Telegram's enforced limits, {title}; APIFRAME reports progress "
            f"{provider.progress_polls} times (POLL_INTERVAL={provider.poll_interval})",
            ["", "status gives way (shipped)", "every status edit (before)"],
            [[label, now_column[i], before_column[i]] for i, label in enumerate(LABELS)],
        )
    ratio = busy_now.jobs_per_s / max(busy_before.jobs_per_s, 1e-9)
    per_job = busy_now.calls / busy_now.jobs
    h.print_ratios(
        [
            f"saturated calls per job {per_job:.3f} (target <= 3: {h.verdict(per_job <= 3)})",
            f"jobs/s shipped/before {ratio:.2f} (target >= 1.8: {h.verdict(ratio >= 1.8)})",
            f"429 answers {busy_now.limited} (target 0: {h.verdict(busy_now.limited == 0)})",
            f"idle calls per job {idle_now.calls / idle_now.jobs:.2f}"
            f" (before {idle_before.calls / idle_before.jobs:.2f})",
        ]
    )


if __name__ == "__main__":
    h.run(main, __doc__ or "")

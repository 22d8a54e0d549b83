"""Three replicas behind one load balancer on one PostgreSQL schema, one of them SIGKILLed.

What leases promise (issue 8): whichever replica an update or a provider callback reaches,
every job is submitted once, polled by one replica at a time and delivered exactly once, and
the jobs of a replica that dies pass to the others when its leases lapse.

Set-up: three `python -m bot` processes in webhook mode sharing one schema; a round-robin
proxy in front of them is `PUBLIC_URL` (it routes around a dead replica); the fake Telegram
pushes updates to it and the fake APIFRAME calls back through it. Each replica reaches the
fake APIFRAME through its own tap, so the test knows which replica polled which task and when.

300 jobs, one per user, in three phases:
1. 120 jobs finished with callbacks: a job is delivered by whichever replica the callback or
   a poll reaches first.
2. 120 jobs submitted and polled; then one replica is killed while it holds a third of them.
   It is only polling then: a kill in the middle of an upload may send that video twice, the
   at-least-once case the README names. The tasks then finish with callbacks switched off,
   so the killed replica's jobs are delivered only if the others take its lapsed leases over.
3. 60 jobs sent after the kill, which the proxy must route around the dead replica.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import pytest

from bot.jobs import JobState
from bot.store import PostgresStore
from tests.e2e.conftest import APIFRAME_KEY, WEBHOOK_SECRET, free_port, wait_settled
from tests.fakes.apiframe import FakeTask
from tests.fakes.proxy import Exchange, ReverseProxy
from tests.faults.processes import BotProcess
from tests.stores import postgres_schema

PHASES = (120, 120, 60)
JOBS = sum(PHASES)
LEASE_SECONDS = 3.0
WAIT = 60.0  # seconds any one phase may take before the test fails


@dataclass(frozen=True)
class Poll:
    """One status request a replica sent for some tasks, as its tap saw it."""

    replica: str
    task_ids: tuple[str, ...]
    started: float
    finished: float


@pytest.fixture
async def database() -> AsyncIterator[tuple[str, str]]:
    async with postgres_schema() as (url, schema):
        yield url, schema


def overlapping_polls(polls: Iterable[Poll]) -> list[tuple[str, Poll, Poll]]:
    """(task, earlier, later) for every poll of a task that began before another replica's
    poll of the same task had been answered."""
    by_task: dict[str, list[Poll]] = defaultdict(list)
    for poll in polls:
        for task_id in poll.task_ids:
            by_task[task_id].append(poll)
    clashes = []
    for task_id, task_polls in by_task.items():
        last_answer: dict[str, Poll] = {}  # per replica, its poll answered last so far
        for poll in sorted(task_polls, key=lambda p: p.started):
            for replica, other in last_answer.items():
                if replica != poll.replica and other.finished > poll.started:
                    clashes.append((task_id, other, poll))
            latest = last_answer.get(poll.replica)
            if latest is None or poll.finished > latest.finished:
                last_answer[poll.replica] = poll
    return clashes


def test_overlap_check_tells_concurrent_polls_from_successive_ones():
    first = Poll("a", ("t",), started=0.0, finished=1.0)
    later = Poll("b", ("t", "u"), started=1.5, finished=2.0)
    during = Poll("b", ("u", "t"), started=0.5, finished=0.7)
    assert overlapping_polls([later, first]) == []
    assert overlapping_polls([during, first, later]) == [("t", first, during)]


async def test_three_replicas_share_the_work_and_survive_a_kill(
    telegram, apiframe, database, tmp_path
):
    began = time.monotonic()
    url, schema = database
    polls: list[Poll] = []

    def tap(replica: str) -> ReverseProxy:
        def note(exchange: Exchange) -> None:
            if exchange.path in ("/fetch", "/fetch-many"):
                body = json.loads(exchange.body)
                ids = tuple(body.get("task_ids") or [body.get("task_id")])
                polls.append(Poll(replica, ids, exchange.started, exchange.finished))

        return ReverseProxy([apiframe.url], on_exchange=note)

    names = [f"replica-{n}" for n in range(3)]
    ports = [free_port() for _ in names]
    taps = {name: tap(name) for name in names}
    balancer = ReverseProxy([f"http://127.0.0.1:{port}" for port in ports])
    for proxy in (balancer, *taps.values()):
        await proxy.start()
    separator = "&" if "?" in url else "?"
    replicas = [
        BotProcess(
            {
                "PATH": os.environ["PATH"],
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_URL": telegram.url,
                "VIDEO_PROVIDERS": "apiframe",
                "APIFRAME_API_KEY": APIFRAME_KEY,
                "APIFRAME_BASE_URL": taps[name].url,
                "VIDEO_TRUSTED_ORIGINS": apiframe.url,  # its videos: plain http on 127.0.0.1
                "DATABASE_URL": f"{url}{separator}search_path={schema}",
                "PUBLIC_URL": balancer.url,
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LISTEN_HOST": "127.0.0.1",
                "PORT": str(port),
                "METRICS_LISTEN": "off",  # three replicas on one host: no shared port
                "REPLICA_ID": name,
                "LEASE_SECONDS": str(LEASE_SECONDS),
                "POLL_INTERVAL": "0.1",
                "CALLBACK_POLL_INTERVAL": "0.25",
                "STATUS_EDIT_INTERVAL": "0",
                "SHUTDOWN_GRACE": "10",
                "LOG_LEVEL": "WARNING",
            },
            module="tests.faults.replica_bot",
            name=name,
            log=tmp_path / f"{name}.log",
        )
        for name, port in zip(names, ports, strict=True)
    ]
    victim, survivors = replicas[1], [replicas[0], replicas[2]]
    users = [telegram.user(10_000 + n, f"User {n}") for n in range(JOBS)]

    async def send_jobs(first: int, count: int) -> list[FakeTask]:
        """`count` users ask for a video each; their provider tasks, once all exist."""
        for n in range(first, first + count):
            telegram.send_text(users[n], f"/video job {n}")
        await apiframe.wait(
            lambda: len(apiframe.tasks) >= first + count or None, WAIT, f"{first + count} tasks"
        )
        return list(apiframe.tasks.values())[first : first + count]

    async def finish(tasks: list[FakeTask]) -> None:
        """The provider finishes them all at once (each calls back, if callbacks are on)."""
        await asyncio.gather(*(apiframe.finish(task.task_id) for task in tasks))

    async def delivered(count: int) -> None:
        await telegram.wait_for_count("sendVideo", count, timeout=WAIT)
        await wait_settled(telegram, count, timeout=WAIT)

    try:
        for replica in replicas:
            await replica.start()
        await telegram.wait_for_count("setWebhook", len(replicas), timeout=30)

        # 1. Callbacks reach any replica; every video is delivered once.
        await finish(await send_jobs(0, PHASES[0]))
        await delivered(PHASES[0])

        # 2. Every new job submitted and polled, then one replica dies holding some of them.
        generating = await send_jobs(PHASES[0], PHASES[1])
        await apiframe.wait(
            lambda: all(task.fetch_count for task in generating) or None, WAIT, "a poll of each"
        )
        await victim.kill()
        killed_at = time.monotonic()
        held = {t for poll in polls if poll.replica == victim.name for t in poll.task_ids}
        orphaned = held & {task.task_id for task in generating}
        apiframe.deliver_webhooks = False  # only polls can finish these: leases must pass on
        await finish(generating)
        await delivered(sum(PHASES[:2]))

        # 3. New requests after the kill: the balancer routes around the dead replica.
        apiframe.deliver_webhooks = True
        await finish(await send_jobs(sum(PHASES[:2]), PHASES[2]))
        await delivered(JOBS)
        for replica in survivors:
            await replica.stop()  # whatever is still in flight lands before the count below
    except BaseException:
        for replica in replicas:
            if replica.log is not None and replica.log.exists():
                print(f"--- {replica.name} log ---\n{replica.log.read_text()[-4000:]}")
        raise
    finally:
        for replica in replicas:
            if replica.process is not None and replica.process.returncode is None:
                await replica.kill()
            await replica.stop()
        for proxy in (balancer, *taps.values()):
            await proxy.stop()
    elapsed = time.monotonic() - began

    videos = telegram.calls_to("sendVideo")
    per_chat = Counter(call.params["chat_id"] for call in videos if call.http_status == 200)
    duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
    creates = [r for r in apiframe.requests if r.path == "/kling-imagine"]
    clashes = overlapping_polls(polls)
    taken_over = [
        poll for poll in polls if poll.replica != victim.name and orphaned & set(poll.task_ids)
    ]
    takeover_delay = min(poll.started for poll in taken_over) - killed_at if taken_over else None
    polls_by_replica = Counter(poll.replica for poll in polls)
    store = await PostgresStore.open(url, schema=schema)
    try:
        states = await store.count_jobs()
    finally:
        await store.close()
    figures = {
        "replicas": len(replicas),
        "jobs": JOBS,
        "videos sent": len(videos),
        "chats with a video": len(per_chat),
        "duplicate videos": duplicates,
        "provider submits": len(creates),
        "polls": dict(polls_by_replica),
        "polls of one task by two replicas at once": len(clashes),
        "jobs the killed replica held": len(orphaned),
        "first takeover after the kill (s)": round(takeover_delay or -1, 2),
        "lease (s)": LEASE_SECONDS,
        "requests routed around the dead replica": balancer.skipped,
        "wall time (s)": round(elapsed, 1),
    }
    print(f"\nreplica test figures: {json.dumps(figures)}")

    assert len(videos) == JOBS and duplicates == 0
    assert set(per_chat) == {user["id"] for user in users}
    assert len(creates) == JOBS  # no job was submitted twice
    assert states == {(JobState.DELIVERED.value, "apiframe"): JOBS}
    assert clashes == [], f"polled by two replicas at once: {clashes[:3]}"
    assert all(polls_by_replica[name] for name in names), "every replica did its share"
    assert orphaned, "the killed replica held no jobs: the takeover went untested"
    assert orphaned <= {t for poll in taken_over for t in poll.task_ids}
    assert takeover_delay is not None and takeover_delay >= 0
    assert balancer.skipped > 0

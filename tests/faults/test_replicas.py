"""Replicas behind one load balancer on one PostgreSQL schema behave like one bot.

The first test, three replicas with one of them SIGKILLed: what leases promise (issue 8):
whichever replica an update or a provider callback reaches,
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

The others (issue 14) check what replicas used to keep each in memory: albums split over
replicas, an update Telegram sends twice, the cooldown, a restart under the default
`REPLICA_ID`, Telegram's limits shared by three busy replicas, and a database restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import JobState
from bot.store import PostgresStore
from tests.e2e.conftest import APIFRAME_KEY, WEBHOOK_SECRET, free_port, jpeg, wait_settled
from tests.fakes.apiframe import FakeTask
from tests.fakes.proxy import Exchange, ReverseProxy
from tests.faults.processes import BotProcess
from tests.faults.test_database_outage import postgres_behind_a_relay
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


def replica_env(
    telegram: Any,
    database: tuple[str, str],
    *,
    provider_url: str,
    trusted: str,
    public_url: str,
    port: int,
    name: str | None,
    lease: float = LEASE_SECONDS,
) -> dict[str, str]:
    """One replica's environment; `name` None keeps the default `REPLICA_ID`."""
    url, schema = database
    separator = "&" if "?" in url else "?"
    env = {
        "PATH": os.environ["PATH"],
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "VIDEO_PROVIDERS": "apiframe",
        "APIFRAME_API_KEY": APIFRAME_KEY,
        "APIFRAME_BASE_URL": provider_url,
        "VIDEO_TRUSTED_ORIGINS": trusted,  # its videos: plain http on 127.0.0.1
        "DATABASE_URL": f"{url}{separator}search_path={schema}",
        "PUBLIC_URL": public_url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LISTEN_HOST": "127.0.0.1",
        "PORT": str(port),
        "METRICS_LISTEN": "off",  # several replicas on one host: no shared port
        "LEASE_SECONDS": str(lease),
        "POLL_INTERVAL": "0.1",
        "CALLBACK_POLL_INTERVAL": "0.25",
        "STATUS_EDIT_INTERVAL": "0",
        "SHUTDOWN_GRACE": "10",
        "LOG_LEVEL": "WARNING",
    }
    if name is not None:
        env["REPLICA_ID"] = name
    return env


def show_logs(replicas: Iterable[BotProcess]) -> None:
    for replica in replicas:
        if replica.log is not None and replica.log.exists():
            print(f"--- {replica.name} log ---\n{replica.log.read_text()[-4000:]}")


async def kill_or_stop(replicas: Iterable[BotProcess]) -> None:
    for replica in replicas:
        if replica.process is not None and replica.process.returncode is None:
            await replica.kill()
        await replica.stop()


def three_replicas(
    telegram: Any,
    apiframe: Any,
    database: tuple[str, str],
    ports: list[int],
    balancer: ReverseProxy,
    logs: Path,
    *,
    provider_url: Callable[[str], str] | None = None,
    **extra: str,
) -> list[BotProcess]:
    """`replica-0` to `replica-2` behind `balancer`, one per port, each reaching the fake
    APIFRAME directly or at `provider_url(name)`; `extra` variables override the
    environment."""
    replicas = []
    for n, port in enumerate(ports):
        name = f"replica-{n}"
        env = replica_env(
            telegram,
            database,
            provider_url=apiframe.url if provider_url is None else provider_url(name),
            trusted=apiframe.url,
            public_url=balancer.url,
            port=port,
            name=name,
        )
        replicas.append(
            BotProcess(
                env | extra, module="tests.faults.replica_bot", name=name, log=logs / f"{name}.log"
            )
        )
    return replicas


async def start_all(telegram: Any, replicas: list[BotProcess]) -> None:
    """Start each replica; return once every one has set its webhook (takes updates)."""
    for replica in replicas:
        await replica.start()
    await telegram.wait_for_count("setWebhook", len(replicas), timeout=30)


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
    replicas = three_replicas(
        telegram,
        apiframe,
        database,
        ports,
        balancer,
        tmp_path,
        provider_url=lambda name: taps[name].url,
    )
    victim, survivors = replicas[1], [replicas[0], replicas[2]]
    # Telegram's limits stay enforced: the replicas pace together (shared budget).
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
        await start_all(telegram, replicas)

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
        show_logs(replicas)
        raise
    finally:
        await kill_or_stop(replicas)
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
    # Taken over only after the kill: no other replica touched a task the victim held while
    # it lived (its lease kept them off), and each was taken over in the end.
    assert taken_over and all(poll.started > killed_at for poll in taken_over)
    assert balancer.skipped > 0


ALBUMS = 6


async def test_three_replicas_answer_like_one_bot(telegram, apiframe, database, tmp_path):
    """What each replica used to keep in memory, now shared: an album whose two photos reach
    two replicas makes one job with a start and an end frame; an update Telegram sends again
    (its first answer lost) to another replica makes no second job; two requests of one user
    reaching two replicas within the cooldown make one job and one "please wait"."""
    exchanges: list[Exchange] = []
    ports = [free_port() for _ in range(3)]
    balancer = ReverseProxy(
        [f"http://127.0.0.1:{port}" for port in ports], on_exchange=exchanges.append
    )
    await balancer.start()
    replicas = three_replicas(telegram, apiframe, database, ports, balancer, tmp_path)
    album_users = [telegram.user(20_000 + n, f"Album {n}") for n in range(ALBUMS)]
    twice, hasty = telegram.user(30_000, "Twice"), telegram.user(30_001, "Hasty")
    frames = [(jpeg(640, 480, "teal"), jpeg(640, 480, "coral")) for _ in album_users]
    try:
        await start_all(telegram, replicas)

        albums = []
        for n, (user, (start, end)) in enumerate(zip(album_users, frames, strict=True)):
            first = telegram.send_photo(user, start, caption=f"album {n}", media_group_id=f"g{n}")
            second = telegram.send_photo(user, end, media_group_id=f"g{n}")
            albums.append((first["message_id"], second["message_id"]))
        # The albums pushed first, so the update whose answer is lost is the request below.
        last_part = telegram.pending_updates[-1]["update_id"]
        await telegram.wait_for_webhook_delivery(
            lambda d: d.update_id == last_part and d.status == 200, timeout=WAIT
        )
        balancer.lose_answers("/telegram")  # the next update is handled, its 200 lost
        telegram.send_text(twice, "/video sent once, delivered twice")
        telegram.send_text(hasty, "/video first")
        telegram.send_text(hasty, "/video second")
        await apiframe.wait(
            lambda: len(apiframe.tasks) >= ALBUMS + 2 or None, WAIT, f"{ALBUMS + 2} tasks"
        )
        await telegram.wait_for(
            "sendMessage",
            lambda c: c.params["chat_id"] == hasty["id"] and "wait" in c.params["text"],
            timeout=WAIT,
        )
        await asyncio.gather(*(apiframe.finish(task) for task in list(apiframe.tasks)))
        await telegram.wait_for_count("sendVideo", ALBUMS + 2, timeout=WAIT)
        for replica in replicas:
            await replica.stop()  # album watches and updates in flight end before the counts
    except BaseException:
        show_logs(replicas)
        raise
    finally:
        await kill_or_stop(replicas)
        await balancer.stop()

    tasks = list(apiframe.tasks.values())
    prompts = Counter(task.request["prompt"] for task in tasks)
    album_tasks = {
        task.request["prompt"]: task for task in tasks if "album" in task.request["prompt"]
    }
    updates = [json.loads(e.body) for e in exchanges if e.path == "/telegram" and e.status == 200]
    backend_of = {
        (update["message"]["chat"]["id"], update["message"]["message_id"]): e.backend
        for update, e in zip(
            updates,
            [e for e in exchanges if e.path == "/telegram" and e.status == 200],
            strict=True,
        )
        if "message" in update
    }
    split = sum(
        backend_of[(user["id"], first)] != backend_of[(user["id"], second)]
        for user, (first, second) in zip(album_users, albums, strict=True)
    )
    lost = json.loads(balancer.lost[0].body)
    assert lost["message"]["from"]["id"] == twice["id"], "the lost answer is the request's"
    lost_id = lost["update_id"]
    deliveries_of_twice = [d for d in telegram.webhook_deliveries if d.update_id == lost_id]
    backends_of_twice = {
        e.backend
        for e in exchanges
        if e.path == "/telegram" and json.loads(e.body).get("update_id") == lost_id
    }
    hasty_waits = [
        c
        for c in telegram.calls_to("sendMessage")
        if c.params["chat_id"] == hasty["id"] and "wait" in c.params["text"]
    ]
    twice_messages = [
        c for c in telegram.calls_to("sendMessage") if c.params["chat_id"] == twice["id"]
    ]
    figures = {
        "albums": ALBUMS,
        "albums split over two replicas": split,
        "jobs from albums": len(album_tasks),
        "albums with both frames": sum(
            task.fetched_image == start and task.fetched_end_image == end
            for (start, end), task in zip(
                frames, (album_tasks.get(f"album {n}") for n in range(ALBUMS)), strict=True
            )
            if task is not None
        ),
        "pushes of the update whose answer was lost": len(deliveries_of_twice),
        "jobs from it": prompts["sent once, delivered twice"],
        "jobs from two hasty requests": prompts["first"] + prompts["second"],
        "duplicate videos": len(telegram.calls_to("sendVideo")) - len(tasks),
    }
    print(f"\nreplicas as one bot: {json.dumps(figures)}")

    assert split == ALBUMS, "every album's parts reached two replicas"
    assert figures["jobs from albums"] == ALBUMS
    assert figures["albums with both frames"] == ALBUMS
    assert len(deliveries_of_twice) >= 2 and deliveries_of_twice[-1].status == 200
    assert len(backends_of_twice) >= 2, "the update sent again reached another replica"
    # Handled once: one job, and its status message the only message (no refusal either).
    assert prompts["sent once, delivered twice"] == 1 and len(twice_messages) == 1, [
        c.params["text"] for c in twice_messages
    ]
    assert prompts["first"] + prompts["second"] == 1 and len(hasty_waits) == 1
    assert len(tasks) == ALBUMS + 2 and figures["duplicate videos"] == 0


async def test_a_bot_restarted_with_the_default_replica_id_resumes_its_job_at_once(
    telegram, apiframe, database, tmp_path
):
    """One bot on PostgreSQL, `REPLICA_ID` left to its default, killed while it polls a job
    and started again: it comes back under the same id and polls the job at once, not when
    the (here ten-minute) lease lapses."""
    port = free_port()
    env = replica_env(
        telegram,
        database,
        provider_url=apiframe.url,
        trusted=apiframe.url,
        public_url=f"http://127.0.0.1:{port}",
        port=port,
        name=None,
        lease=600.0,
    )
    first = BotProcess(env, module="tests.faults.replica_bot", name="first", log=tmp_path / "1.log")
    second = BotProcess(
        env, module="tests.faults.replica_bot", name="again", log=tmp_path / "2.log"
    )
    user = telegram.user(40_000, "Restarted")
    try:
        await first.start()
        await telegram.wait_for_count("setWebhook", 1, timeout=30)
        telegram.send_text(user, "/video survive a kill")
        task = await apiframe.wait_for_task(timeout=WAIT)
        await apiframe.wait(lambda: task.fetch_count or None, WAIT, "a poll of the task")
        await first.kill()
        apiframe.deliver_webhooks = False  # only a poll can finish it: the lease must be held
        await apiframe.finish(task.task_id)
        restarted = time.monotonic()
        await second.start()
        await telegram.wait_for_count("sendVideo", 1, timeout=WAIT)  # WAIT is far below 600 s
        resumed_after = time.monotonic() - restarted
        await second.stop()
    except BaseException:
        show_logs([first, second])
        raise
    finally:
        await kill_or_stop([first, second])
    print(f"\nrestart with the default REPLICA_ID: video {resumed_after:.1f} s after the start")
    assert len(telegram.calls_to("sendVideo")) == 1


PACED_JOBS, PACED_CHATS = 200, 100
PACED = ("sendMessage", "sendVideo", "editMessageText", "editMessageReplyMarkup")


async def test_three_replicas_keep_together_to_telegrams_limits(
    telegram, apiframe, database, tmp_path
):
    """Telegram's real limits, enforced by the fake, for three replicas that share them:
    200 jobs in 100 chats finishing at once get no 429, and the replicas together still send
    at least 0.9 of 30 messages a second while they all have messages waiting."""
    telegram.enforce_rate_limits = True
    ports = [free_port() for _ in range(3)]
    balancer = ReverseProxy([f"http://127.0.0.1:{port}" for port in ports])
    await balancer.start()
    replicas = three_replicas(
        telegram,
        apiframe,
        database,
        ports,
        balancer,
        tmp_path,
        TEST_TELEGRAM_LIMITS="shipped",
        REQUEST_COOLDOWN="0",  # each user asks for two videos at once
    )
    users = [telegram.user(50_000 + n, f"Paced {n}") for n in range(PACED_CHATS)]
    try:
        await start_all(telegram, replicas)
        for n in range(PACED_JOBS):
            telegram.send_text(users[n % PACED_CHATS], f"/video paced {n}")
        await apiframe.wait(
            lambda: len(apiframe.tasks) >= PACED_JOBS or None, 2 * WAIT, f"{PACED_JOBS} tasks"
        )
        await telegram.wait_for_count("sendMessage", PACED_JOBS, timeout=2 * WAIT)
        finished_at = time.monotonic()
        await asyncio.gather(*(apiframe.finish(task) for task in list(apiframe.tasks)))
        await telegram.wait_for_count("sendVideo", PACED_JOBS, timeout=2 * WAIT)
        await wait_settled(telegram, PACED_JOBS, timeout=WAIT)  # "Done", or deleted when busy
        for replica in replicas:
            await replica.stop()
    except BaseException:
        show_logs(replicas)
        raise
    finally:
        await kill_or_stop(replicas)
        await balancer.stop()

    paced = [call for call in telegram.calls if call.method in PACED]
    burst = sorted(call.at for call in paced if call.at >= finished_at)
    rate = (len(burst) - 1) / (burst[-1] - burst[0])
    # While every replica has messages waiting (the last tenth trickles out of a few chats).
    busy = burst[: len(burst) * 9 // 10]
    busy_rate = (len(busy) - 1) / (busy[-1] - busy[0])
    videos = Counter(
        call.params["chat_id"] for call in telegram.calls_to("sendVideo") if call.http_status == 200
    )
    figures = {
        "jobs": PACED_JOBS,
        "chats": PACED_CHATS,
        "messages": len(paced),
        "429 answers": telegram.rate_limited_responses,
        "messages after the jobs finished": len(burst),
        "their rate (per s)": round(rate, 1),
        "rate while all replicas were busy (per s)": round(busy_rate, 1),
        "videos": sum(videos.values()),
    }
    print(f"\nthree replicas under Telegram's limits: {json.dumps(figures)}")
    assert telegram.rate_limited_responses == 0
    assert sum(videos.values()) == PACED_JOBS and set(videos.values()) == {2}
    # The figure: while every replica has messages waiting, together they use at least
    # 0.9 of Telegram's 30 a second (the shared budget spaces them at 30/1.05).
    assert busy_rate >= 0.9 * 30


BEFORE_OUTAGE, DURING_OUTAGE = 30, 10


async def identity_locks_held(url: str, names: list[str]) -> None:
    """Until every replica holds its identity lock again (its lock session died with the
    server's connections; its next heartbeat takes the lock again). Looked at in `pg_locks`,
    never by trying the lock, which would take it from a replica about to come back."""
    store = await PostgresStore.open(url)
    deadline = time.monotonic() + WAIT
    try:
        while True:
            gone = [
                name
                for name in names
                if await store._db.fetchval(f"SELECT {store._holder_gone(repr(name))}")
            ]
            if not gone:
                return
            assert time.monotonic() < deadline, f"identity locks not taken again: {gone}"
            await asyncio.sleep(0.1)  # another process's heartbeat: nothing here to await
    finally:
        await store.close()


async def test_replicas_ride_out_a_database_restart(telegram, apiframe, tmp_path):
    """PostgreSQL goes away under three busy replicas (a relay in front of it is cut, as a
    restart drops every connection) while their jobs finish and new requests come in: once
    it is back they reconnect by themselves and every job is delivered once."""
    async with postgres_behind_a_relay() as (relay_url, relay):
        ports = [free_port() for _ in range(3)]
        balancer = ReverseProxy([f"http://127.0.0.1:{port}" for port in ports])
        await balancer.start()
        replicas = three_replicas(
            telegram,
            apiframe,
            ("", ""),
            ports,
            balancer,
            tmp_path,
            DATABASE_URL=relay_url,
        )
        users = [
            telegram.user(60_000 + n, f"Outage {n}") for n in range(BEFORE_OUTAGE + DURING_OUTAGE)
        ]
        try:
            await start_all(telegram, replicas)
            for user in users[:BEFORE_OUTAGE]:
                telegram.send_text(user, "/video before the outage")
            await apiframe.wait(
                lambda: len(apiframe.tasks) >= BEFORE_OUTAGE or None, WAIT, "the first tasks"
            )
            tasks = list(apiframe.tasks.values())
            await apiframe.wait(
                lambda: all(task.fetch_count for task in tasks) or None, WAIT, "a poll of each"
            )

            await relay.cut()
            cut_at = time.monotonic()
            await asyncio.gather(*(apiframe.finish(task.task_id) for task in tasks))
            for user in users[BEFORE_OUTAGE:]:
                telegram.send_text(user, "/video during the outage")
            # Down until the update on top of Telegram's queue has been refused five times
            # (it backs off: 0.05 s doubling), by every replica in turn.
            await telegram.wait_for_webhook_delivery(
                lambda _: sum(d.status == 503 for d in telegram.webhook_deliveries) >= 5,
                timeout=WAIT,
            )
            refused = sum(d.status == 503 for d in telegram.webhook_deliveries)

            await relay.restore()
            restored_at = time.monotonic()
            await telegram.wait_for_count("sendVideo", BEFORE_OUTAGE, timeout=WAIT)
            recovered_after = time.monotonic() - restored_at
            await apiframe.wait(
                lambda: len(apiframe.tasks) >= len(users) or None, WAIT, "the later tasks"
            )
            await asyncio.gather(
                *(
                    apiframe.finish(task.task_id)
                    for task in list(apiframe.tasks.values())[BEFORE_OUTAGE:]
                )
            )
            await telegram.wait_for_count("sendVideo", len(users), timeout=WAIT)
            await identity_locks_held(relay_url, [f"replica-{n}" for n in range(len(replicas))])
            for replica in replicas:
                await replica.stop()
        except BaseException:
            show_logs(replicas)
            raise
        finally:
            await kill_or_stop(replicas)
            await balancer.stop()

    videos = Counter(call.params["chat_id"] for call in telegram.calls_to("sendVideo"))
    creates = [r for r in apiframe.requests if r.path == "/kling-imagine"]
    figures = {
        "replicas": len(replicas),
        "jobs": len(users),
        "outage (s)": round(restored_at - cut_at, 1),
        "updates refused meanwhile (503)": refused,
        "first videos all sent after the restore (s)": round(recovered_after, 1),
        "videos": sum(videos.values()),
        "duplicate videos": sum(count - 1 for count in videos.values()),
        "provider submits": len(creates),
    }
    print(f"\nreplicas through a database restart: {json.dumps(figures)}")
    for replica in replicas:  # an outage is two lines per replica, not a traceback per beat
        assert replica.log is not None
        said = replica.log.read_text()
        assert "Traceback" not in said and " ERROR " not in said, said[-3000:]
    assert set(videos) == {user["id"] for user in users} and set(videos.values()) == {1}
    assert len(creates) == len(users)

"""What replicas share through the store (both backends): updates claimed once, heartbeats
and the release of a gone replica's jobs, identity locks."""

from __future__ import annotations

import asyncio

import pytest

from bot.access import AccessPolicy, Gatekeeper
from bot.admin import Admin
from bot.jobs import JobKind, NewJob, Requester
from bot.metrics import Metrics
from bot.replicas import Replicas, stable_replica_id
from bot.store import PostgresStore
from tests.stores import postgres_schema


async def test_an_update_is_claimed_by_one_replica(store):
    claims = await asyncio.gather(
        *(store.claim_update(42, f"replica-{n}", 1000.0) for n in range(4))
    )
    assert sum(claims) == 1
    winner = f"replica-{claims.index(True)}"
    # The winner asking again (its first answer lost) is told yes; the others still no.
    assert await store.claim_update(42, winner, 1001.0)
    assert not await store.claim_update(42, "replica-x", 1001.0)
    assert await store.claim_update(43, "replica-x", 1001.0)


async def test_update_ids_are_forgotten_after_a_day(store):
    assert await store.claim_update(7, "a", 1000.0)
    await store.purge_expired(1000.0 + 86_399, questions_before=0)
    assert not await store.claim_update(7, "b", 1000.0 + 86_399)
    await store.purge_expired(1000.0 + 86_401, questions_before=0)
    assert await store.claim_update(7, "b", 1000.0 + 86_401)


async def test_heartbeats_list_live_replicas_and_a_stale_ones_jobs_are_released(store):
    job = await store.create_job(NewJob(Requester(1, 1, 1), JobKind.TEXT, "fox", "sandbox"))
    assert await store.claim_job(job.id, "old", 600) is not None
    await store.heartbeat("old", 1.0)
    await asyncio.sleep(0.2)  # on the database's clock, "old" was heard from earlier
    await store.heartbeat("new", 2.0)
    assert [r[0] for r in await store.live_replicas(60)] == ["new", "old"]
    assert await store.claim_job(job.id, "new", 600) is None  # "old" holds it
    assert await store.forget_replicas(600) == []  # both heard from within the lease
    assert await store.forget_replicas(0.1) == ["old"]
    assert [r[0] for r in await store.live_replicas(60)] == ["new"]
    # Silent for longer than `stale`, "old" is gone: its lease is free at once.
    assert await store.claim_job(job.id, "new", 600) is not None


async def test_a_replica_leaving_is_no_longer_listed(store):
    await store.heartbeat("a", 1.0)
    await store.heartbeat("b", 1.0)
    assert await store.forget_replicas(600, replica_id="a") == ["a"]
    assert [r[0] for r in await store.live_replicas(60)] == ["b"]


async def test_a_killed_replicas_jobs_are_released_once_its_lock_session_ends():
    """PostgreSQL: a replica whose identity lock is free (its process died, closing its
    connection) and that has been silent for `silent` seconds is gone, long before a lease
    lapses; one whose lock is held is never taken for gone before its heartbeat is stale."""
    async with postgres_schema() as (url, schema):
        survivor = await PostgresStore.open(url, schema=schema)
        victim = await PostgresStore.open(url, schema=schema)
        try:
            assert await victim.lock_identity("victim")
            assert not await survivor.lock_identity("victim")  # held by a live session
            assert await survivor.lock_identity("survivor")
            job = await victim.create_job(
                NewJob(Requester(1, 1, 1), JobKind.TEXT, "fox", "sandbox")
            )
            assert await victim.claim_job(job.id, "victim", 600) is not None
            await victim.heartbeat("victim", 1.0)
            await survivor.heartbeat("survivor", 1.0)
            assert await survivor.forget_replicas(600, silent=0) == []  # its lock is held
            await victim.close()  # the process dies: its connections close
            assert await survivor.forget_replicas(600, silent=0) == ["victim"]
            assert await survivor.claim_job(job.id, "survivor", 600) is not None
        finally:
            await survivor.close()
            await victim.close()


async def test_a_default_replica_id_comes_back_after_a_kill():
    """The first free `<host>-<n>`: a second process gets the next one; once the first is
    gone its successor gets the first one again (and with it the old leases)."""
    async with postgres_schema() as (url, schema):
        first = await PostgresStore.open(url, schema=schema)
        second = await PostgresStore.open(url, schema=schema)
        try:
            assert await stable_replica_id(first, "host") == "host-0"
            assert await stable_replica_id(second, "host") == "host-1"
            await first.close()
            again = await PostgresStore.open(url, schema=schema)
            try:
                assert await stable_replica_id(again, "host") == "host-0"
            finally:
                await again.close()
        finally:
            await first.close()
            await second.close()


async def test_a_heartbeat_lists_this_replica(store):
    replicas = Replicas(store, replica_id="me", lease_seconds=3.0)
    await replicas.beat()
    assert [r[0] for r in await replicas.live()] == ["me"]
    await replicas.leave()
    assert await replicas.live() == []


@pytest.mark.parametrize("lease", [3.0, 60.0, 600.0])
def test_heartbeats_come_often_enough_to_notice_a_death_within_a_lease(lease):
    replicas = Replicas(None, replica_id="me", lease_seconds=lease)  # type: ignore[arg-type]
    assert replicas.interval <= lease / 3 and replicas.silent < lease


async def test_stats_and_metrics_show_the_live_replicas(store):
    for replica_id in ("bot1", "bot2"):
        await Replicas(store, replica_id=replica_id, lease_seconds=60).beat()
    gate = Gatekeeper(store, AccessPolicy(admin_user_ids=frozenset({9})))
    stats = (await Admin(store, gate, replicas_within=60).stats()).splitlines()
    assert stats[0] == "No jobs in the last 7 days."
    assert stats[1] == "Replicas alive: 2"
    assert [line.split(":")[0] for line in stats[2:]] == ["bot1", "bot2"]
    assert all("up " in line and "last heartbeat" in line for line in stats[2:])
    exposition = (await Metrics().render(store, live_within=60)).decode()
    assert "kling_bot_replicas 2.0" in exposition

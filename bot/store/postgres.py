"""Jobs in PostgreSQL (asyncpg), for several bot replicas sharing one source of truth.

The schema version lives in `schema_version`, and migrations run under an advisory lock so
replicas starting together apply each one once. What needs more than one statement to be safe
across replicas takes a lock: a user's create-within-limits (an advisory lock per user), and a
batch claim (`FOR UPDATE SKIP LOCKED`, so replicas claiming at once split the jobs instead of
waiting on each other; a row another replica claimed meanwhile is re-checked and left out).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.jobs import Job, NewJob, Quota
from bot.store import migrations
from bot.store.base import SqlStore
from bot.store.driver import Driver, Row, numbered


class PostgresDriver:
    """asyncpg: on the pool, or (inside `transaction`) on the one connection it holds."""

    def __init__(self, target: asyncpg.Pool | PoolConnectionProxy) -> None:
        self._target = target

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self._target.execute(numbered(sql), *args)  # e.g. "UPDATE 3"
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._target.fetch(numbered(sql), *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._target.fetchrow(numbered(sql), *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._target.fetchval(numbered(sql), *args)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresDriver]:
        """A driver on one pooled connection, in a transaction committed on a clean exit."""
        assert isinstance(self._target, asyncpg.Pool), "transactions do not nest"
        async with self._target.acquire() as connection, connection.transaction():
            yield PostgresDriver(connection)

    async def close(self) -> None:
        assert isinstance(self._target, asyncpg.Pool)
        await self._target.close()


_MIGRATION_LOCK = 7_263_114  # pg_advisory_xact_lock key: "one replica migrates at a time"
_QUOTA_LOCK = 7_263_115  # with a user id hash: "one request of this user counts at a time"


class PostgresStore(SqlStore):
    """Open with `await PostgresStore.open(url)`; close with `close()`."""

    NOW = "EXTRACT(EPOCH FROM now())::double precision"
    DAY = "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    STOPPING = "stopping"

    _db: PostgresDriver

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(PostgresDriver(pool))

    @classmethod
    async def open(
        cls, url: str, *, schema: str | None = None, password: str | None = None
    ) -> PostgresStore:
        """Connect (a pool) and migrate; `schema` confines every table to one schema;
        `password`, when given, is used instead of one in the URL (it needs no escaping)."""
        settings = {"search_path": schema} if schema else None
        # No connection floor: asyncpg would keep reconnecting it through a database outage, with
        # a traceback each time; connections are made as needed, and `StoreWatch` notices.
        pool = await asyncpg.create_pool(
            url, password=password, min_size=0, max_size=10, server_settings=settings
        )
        return await cls(pool)._migrated()

    def _claimable(self, candidates: str) -> str:
        # ARRAY(...) runs the locking SELECT once, before the UPDATE, whatever the plan.
        return f"id = ANY(ARRAY({candidates} FOR UPDATE SKIP LOCKED))"

    async def create_job_within(self, new: NewJob, quota: Quota) -> Job | None:
        """A per-user advisory lock serialises the count-and-insert of one user's requests
        across every replica; other users' requests do not wait."""
        async with self._db.transaction() as db:
            await db.execute(
                "SELECT pg_advisory_xact_lock(?, hashtext(?))",
                _QUOTA_LOCK,
                str(new.requester.user_id),
            )
            return await self._insert_job(db, new, quota)

    async def schema_version(self) -> int:
        return await _version(self._db)

    async def migrate(self) -> None:
        async with self._db.transaction() as db:
            await db.execute("SELECT pg_advisory_xact_lock(?)", _MIGRATION_LOCK)
            await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            for number, script in migrations.pending(await _version(db), migrations.POSTGRES):
                await db.execute(script)
                await db.execute("DELETE FROM schema_version")
                await db.execute("INSERT INTO schema_version (version) VALUES (?)", number)


async def _version(db: Driver) -> int:
    if not await db.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
        return 0
    return int(await db.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

"""Jobs in PostgreSQL (asyncpg), for several bot replicas sharing one source of truth.

The schema version lives in `schema_version`, and migrations run under an advisory lock so
replicas starting together apply each one once. What needs more than one statement to be safe
across replicas takes a lock: a user's create-within-limits (an advisory lock per user), and a
batch claim (`FOR UPDATE SKIP LOCKED`, so replicas claiming at once split the jobs instead of
waiting on each other; a row another replica claimed meanwhile is re-checked and left out).
"""

from __future__ import annotations

import asyncpg

from bot.store import migrations
from bot.store.base import SqlStore
from bot.store.driver import Driver, PostgresDriver

_MIGRATION_LOCK = 7_263_114  # pg_advisory_xact_lock key: "one replica migrates at a time"
_QUOTA_LOCK = 7_263_115  # with a user id hash: "one request of this user counts at a time"


class PostgresStore(SqlStore):
    """Open with `await PostgresStore.open(url)`; close with `close()`."""

    NOW = "EXTRACT(EPOCH FROM now())::double precision"
    DAY = "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    STOPPING = "stopping"
    QUOTA_NEEDS_LOCK = True

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

    async def _lock_user(self, db: Driver, user_id: int) -> None:
        """A per-user advisory lock serialises the count-and-insert of one user's requests
        across every replica; other users' requests do not wait."""
        await db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", _QUOTA_LOCK, str(user_id))

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

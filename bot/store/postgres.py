"""Jobs in PostgreSQL (asyncpg), for several bot replicas sharing one source of truth.

The schema version lives in `schema_version`, and migrations run under an advisory lock so
replicas starting together apply each one once. What needs more than one statement to be safe
across replicas takes a lock: a user's create-within-limits (an advisory lock per user), and a
batch claim (`FOR UPDATE SKIP LOCKED`, so replicas claiming at once split the jobs instead of
waiting on each other; a row another replica claimed meanwhile is re-checked and left out).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

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


log = logging.getLogger(__name__)

_MIGRATION_LOCK = 7_263_114  # pg_advisory_xact_lock key: "one replica migrates at a time"
_QUOTA_LOCK = 7_263_115  # with a user id hash: "one request of this user counts at a time"
_IDENTITY_LOCK = 7_263_116  # with a replica id hash: "this replica is alive", held per session
#: The identity lock's second key: the replica id within this schema (tests share a database).
_IDENTITY = "hashtext(current_schema() || '/' || ?)"


class PostgresStore(SqlStore):
    """Open with `await PostgresStore.open(url)`; close with `close()`."""

    NOW = "EXTRACT(EPOCH FROM now())::double precision"
    CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"  # not the transaction's
    DAY = "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    STOPPING = "stopping"
    QUOTA_NEEDS_LOCK = True
    SHARED = True

    _db: PostgresDriver

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(PostgresDriver(pool))
        self._pool = pool
        # The connection holding this replica's identity lock, for as long as the process
        # lives: when it dies, PostgreSQL drops the lock and the others know at once.
        self._identity: PoolConnectionProxy | None = None
        self._identity_name: str | None = None

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

    async def lock_identity(self, replica_id: str) -> bool:
        """Hold a session lock named after the replica while the process lives; False if
        another live session holds it (a replica running under that id)."""
        await self._drop_identity()
        connection = await self._pool.acquire()
        try:
            got = await connection.fetchval(
                "SELECT pg_try_advisory_lock($1, " + _IDENTITY.replace("?", "$2") + ")",
                _IDENTITY_LOCK,
                replica_id,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await self._pool.release(connection, timeout=5)
            raise
        self._identity = connection
        if got:
            self._identity_name = replica_id
        return bool(got)

    async def keep_identity(self) -> bool:
        """After a database outage the lock's session is gone: take the lock again. False if
        another session took it meanwhile."""
        if self._identity_name is None:
            return True
        if self._identity is not None:
            try:  # a server restart shows only when the connection is used
                if not self._identity.is_closed():
                    await self._identity.fetchval("SELECT 1")
                    return True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass
        return await self.lock_identity(self._identity_name)

    async def _drop_identity(self) -> None:
        connection, self._identity = self._identity, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a broken connection is dropped by the pool
                await self._pool.release(connection, timeout=5)

    def _holder_gone(self, replica_id: str) -> str:
        return (
            "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'"  # noqa: S608 - fixed SQL fragments only
            f" AND l.classid = {_IDENTITY_LOCK} AND l.objsubid = 2 AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            f" AND l.objid = ({_IDENTITY.replace('?', replica_id)})::oid)"
        )

    async def reserve_send(
        self,
        spacings: Sequence[tuple[str, float]],
        *,
        windows: Sequence[tuple[str, int, float]] = (),
        overall: tuple[str, float] | None = None,
        within: float = math.inf,
    ) -> tuple[float, dict[str, float]]:
        """Reserve the next moment every key allows: a (key, spacing) from the key's `tat`
        (the earliest moment it allows its next message) on, a (key, limit, period) window
        once it holds fewer than `limit` moments in the `period` before. The answer: the
        seconds to wait for the moment, and the `tat` it left each key at (for `hold` and
        `sent`; a window key's is the moment itself).

        A moment more than `within` seconds away is not reserved (the answer has no keys): the
        caller asks again then, so a message waiting for its chat holds no place in the overall
        budget nor in a group's window. One within it also takes the `overall` key's next
        moment, if that is later.

        The rows are locked in one order (the keys sorted, then the overall key), so replicas
        reserving together never deadlock; the time is read once they are held.
        """
        spacing = dict(spacings)
        window = {key: (limit, period) for key, limit, period in windows}
        async with self._db.transaction() as db:
            rows = await self._lock_pace(db, sorted([*spacing, *window]))
            now = float(await db.fetchval(f"SELECT {self.CLOCK}"))
            allowed = [rows[key][0] for key in spacing]
            for key, (limit, period) in window.items():
                if len(rows[key][1]) >= limit:
                    allowed.append(rows[key][1][-limit] + period)
            at = max([now, *allowed])
            if at - now > within:
                return at - now, {}
            if overall is not None:
                key, overall_spacing = overall
                at = max(at, (await self._lock_pace(db, [key]))[key][0])
                spacing[key] = overall_spacing
            await db.execute(
                "UPDATE pace SET tat = ? + s.spacing FROM"
                " (SELECT unnest(CAST(? AS TEXT[])) AS key,"
                " unnest(CAST(? AS DOUBLE PRECISION[])) AS spacing) s WHERE pace.key = s.key",
                at,
                list(spacing),
                list(spacing.values()),
            )
            for key, (limit, _) in window.items():
                moments = sorted([*rows[key][1], at])[-limit:]
                await db.execute("UPDATE pace SET recent = ? WHERE key = ?", moments, key)
        answer = {key: at + key_spacing for key, key_spacing in spacing.items()}
        return at - now, answer | dict.fromkeys(window, at)

    async def hold(self, key: str, spacing: float, reserved: float) -> float | None:
        """The message that set the key's `tat` to `reserved` is still in flight: the key is
        held `spacing` from now, and the new `tat` returned (None if the key moved on
        meanwhile, its hold having lapsed)."""
        value = await self._db.fetchval(
            f"UPDATE pace SET tat = {self.CLOCK} + ? WHERE key = ? AND tat = ? RETURNING tat",  # noqa: S608 - fixed SQL fragments only
            spacing,
            key,
            reserved,
        )
        return None if value is None else float(value)

    @staticmethod
    async def _lock_pace(db: Driver, keys: list[str]) -> dict[str, tuple[float, list[float]]]:
        """The keys' `tat` and recent moments, their rows locked (created empty where new),
        in the given order."""
        await db.execute(
            "INSERT INTO pace (key, tat) SELECT unnest(CAST(? AS TEXT[])), 0"
            " ON CONFLICT (key) DO NOTHING",
            keys,
        )
        rows = await db.fetch(
            "SELECT key, tat, recent FROM pace WHERE key = ANY(CAST(? AS TEXT[]))"
            " ORDER BY key FOR UPDATE",
            keys,
        )
        return {str(row[0]): (float(row[1]), [float(m) for m in row[2]]) for row in rows}

    async def sent(self, key: str, spacing: float, reserved: float) -> None:
        """The message that set the key's `tat` to `reserved` was answered just now: unless
        another message has reserved a moment since, the next one waits `spacing` from now."""
        await self._db.execute(
            f"UPDATE pace SET tat = {self.NOW} + ? WHERE key = ? AND tat = ?",  # noqa: S608 - fixed SQL fragments only
            spacing,
            key,
            reserved,
        )

    async def close(self) -> None:
        self._identity_name = None
        await self._drop_identity()
        await super().close()

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

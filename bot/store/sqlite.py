"""Jobs in SQLite (aiosqlite, WAL), the store of a bot that runs as one process.

The schema version lives in `PRAGMA user_version`. One connection in autocommit mode runs each
statement alone, so every query of `SqlStore` is atomic here without locks: a batch claim is a
plain `UPDATE ... WHERE id IN (...)`, and leases only matter across a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import migrations
from bot.store.base import SqlStore
from bot.store.driver import Driver, Row


class SqliteDriver:
    """One aiosqlite connection in autocommit mode: each statement runs alone, atomically.

    A transaction holds the connection for its whole length (`_turn`): other coroutines'
    statements wait for it instead of slipping into it (and being rolled back with it).
    """

    def __init__(
        self, db: aiosqlite.Connection, turn: asyncio.Lock | None = None, *, inside: bool = False
    ) -> None:
        self._db = db
        self._turn = turn if turn is not None else asyncio.Lock()
        self._inside = inside

    @contextlib.asynccontextmanager
    async def _alone(self) -> AsyncIterator[None]:
        if self._inside:  # the transaction already holds the connection
            yield
            return
        async with self._turn:
            yield

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._alone(), self._db.execute(sql, args) as cursor:
            return cursor.rowcount

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._alone(), self._db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._alone(), self._db.execute(sql, args) as cursor:
            return await cursor.fetchone()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Driver]:
        """BEGIN IMMEDIATE ... COMMIT on the one connection, which no other statement uses
        meanwhile."""
        assert not self._inside, "transactions do not nest"
        async with self._turn:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteDriver(self._db, self._turn, inside=True)
            except BaseException:
                await asyncio.shield(self._db.execute("ROLLBACK"))
                raise
            await self._db.execute("COMMIT")

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return row[0] if row is not None else None

    async def close(self) -> None:
        await self._db.close()


class SqliteStore(SqlStore):
    """Open with `await SqliteStore.open(path)`; close with `close()`."""

    NOW = "((julianday('now') - 2440587.5) * 86400.0)"  # the epoch is Julian day 2440587.5
    DAY = "date(created_at, 'unixepoch')"
    STOPPING = "stopping = 1"

    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__(SqliteDriver(db))
        self._connection = db

    @classmethod
    async def open(cls, path: Path | str) -> SqliteStore:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # autocommit; explicit BEGINs
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA busy_timeout = 5000")
        return await cls(db)._migrated()

    async def release_orphaned_leases(self) -> None:
        """One process per SQLite file: a lease found at start is an earlier run's, killed
        before it could release it; waiting for it to lapse would only delay that work."""
        await self.release_leases()

    def _claimable(self, candidates: str) -> str:
        return f"id IN ({candidates})"

    async def schema_version(self) -> int:
        return int(await self._db.fetchval("PRAGMA user_version") or 0)

    async def migrate(self) -> None:
        for number, script in migrations.pending(await self.schema_version(), migrations.SQLITE):
            await self._connection.executescript(
                f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;"
            )

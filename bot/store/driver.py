"""One way to run a query on either database, so each query is written once.

Queries use `?` placeholders (SQLite's); the PostgreSQL driver numbers them (`$1`, `$2`, ...)
before asyncpg sees them. Each `?` is its own argument: a value used twice is passed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator
from typing import Any, Protocol, overload

import aiosqlite
import asyncpg
from asyncpg.pool import PoolConnectionProxy


class Row(Protocol):
    """An aiosqlite `Row` or an asyncpg `Record`: columns by name or by position."""

    @overload
    def __getitem__(self, key: str) -> Any: ...

    @overload
    def __getitem__(self, key: int) -> Any: ...


class Driver(Protocol):
    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; how many rows it changed."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None without rows."""
        ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Driver]:
        """A driver whose statements form one transaction, committed on a clean exit and
        rolled back on an exception. Transactions do not nest."""
        ...

    async def close(self) -> None: ...


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
    async def transaction(self) -> AsyncIterator[Driver]:
        """A driver on one pooled connection, in a transaction committed on a clean exit."""
        assert isinstance(self._target, asyncpg.Pool), "transactions do not nest"
        async with self._target.acquire() as connection, connection.transaction():
            yield PostgresDriver(connection)

    async def close(self) -> None:
        assert isinstance(self._target, asyncpg.Pool)
        await self._target.close()


_PLACEHOLDER = re.compile(r"'[^']*'|\?")  # a quoted literal is skipped whole


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`sql` with each `?` outside quotes turned into PostgreSQL's `$1`, `$2`, ..."""
    counter = iter(range(1, 10_000))

    def number(match: re.Match[str]) -> str:
        text = match.group()
        return f"${next(counter)}" if text == "?" else text

    return _PLACEHOLDER.sub(number, sql)

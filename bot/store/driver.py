"""One way to run a query on either database, so each query is written once.

Queries use `?` placeholders (SQLite's); the PostgreSQL driver numbers them (`$1`, `$2`, ...)
before asyncpg sees them. Each `?` is its own argument: a value used twice is passed twice.
Each driver lives with its store (`sqlite.SqliteDriver`, `postgres.PostgresDriver`), so a bot
on SQLite never imports asyncpg, nor one on PostgreSQL aiosqlite.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any, Protocol, overload


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


_PLACEHOLDER = re.compile(r"'[^']*'|\?")  # a quoted literal is skipped whole


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`sql` with each `?` outside quotes turned into PostgreSQL's `$1`, `$2`, ..."""
    counter = iter(range(1, 10_000))

    def number(match: re.Match[str]) -> str:
        text = match.group()
        return f"${next(counter)}" if text == "?" else text

    return _PLACEHOLDER.sub(number, sql)

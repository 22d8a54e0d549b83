"""Choosing the job store from `DATABASE_URL`: SQLite by default, PostgreSQL for replicas."""

from __future__ import annotations

from typing import TypeAlias

from bot.store import SqliteStore
from bot.store_pg import PostgresStore

JobStore: TypeAlias = SqliteStore | PostgresStore
"""Either store: both implement the same methods with the same meaning (see tests/unit)."""


async def open_store(database_url: str) -> JobStore:
    """`sqlite:///path.db` or `postgresql://user:pass@host:port/db`."""
    if database_url.startswith(("postgresql://", "postgres://")):
        return await PostgresStore.open(database_url)
    return await SqliteStore.open(database_url.removeprefix("sqlite:///"))

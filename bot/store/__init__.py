"""The job store: one contract (`protocol`), its queries written once (`base`) over a small
driver (`driver`), and per database only what differs (`sqlite`, `postgres`, `migrations`);
`opening` picks the database from `DATABASE_URL`, `watch` looks after outages.

`PostgresStore` is imported only when asked for (`opening` does, for a PostgreSQL URL): a bot
on SQLite never loads asyncpg (3 MB, 20 ms at start; see bench/README.md).
"""

from typing import TYPE_CHECKING, Any

from bot.store.opening import DatabaseUnavailable, describe, open_store
from bot.store.protocol import JobStore, OutlookStore, Pings, PreferenceStore, SubmitStore
from bot.store.sqlite import SqliteStore
from bot.store.watch import StoreWatch

if TYPE_CHECKING:
    from bot.store.postgres import PostgresStore


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from bot.store.postgres import PostgresStore  # asyncpg on demand

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DatabaseUnavailable",
    "JobStore",
    "OutlookStore",
    "Pings",
    "PostgresStore",
    "PreferenceStore",
    "SqliteStore",
    "StoreWatch",
    "SubmitStore",
    "describe",
    "open_store",
]

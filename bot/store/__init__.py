"""The job store: one contract (`protocol`), its queries written once (`base`) over a small
driver (`driver`), and per database only what differs (`sqlite`, `postgres`, `migrations`);
`opening` picks the database from `DATABASE_URL`, `watch` looks after outages.
"""

from bot.store.opening import DatabaseUnavailable, describe, open_store
from bot.store.postgres import PostgresStore
from bot.store.protocol import JobStore, OutlookStore, Pings, PreferenceStore, SubmitStore
from bot.store.sqlite import SqliteStore
from bot.store.watch import StoreWatch

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

"""Choosing the job store from `DATABASE_URL`: SQLite by default, PostgreSQL for replicas.

Also what the bot does while PostgreSQL is away: at start it waits for it (containers start
in any order), and while running `StoreWatch` notices an outage once, says so once, and lets
the work that needs the database wait for its return instead of failing over and over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import asyncpg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from bot.store import SqliteStore
from bot.store_pg import PostgresStore

JobStore: TypeAlias = SqliteStore | PostgresStore
"""Either store: both implement the same methods with the same meaning (see tests/unit)."""

log = logging.getLogger(__name__)

#: Errors that mean "not there (yet)", worth waiting out: refused, unresolvable or timed-out
#: connections, a server still starting up or out of connection slots, a dropped connection.
_NOT_THERE = (
    OSError,  # ConnectionRefusedError, socket.gaierror, TimeoutError
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)


class DatabaseUnavailable(Exception):
    """The database could not be used at start; `str()` is the one line for the operator."""


async def open_store(database_url: str, *, wait: float = 0.0) -> JobStore:
    """`sqlite:///path.db` or `postgresql://user:pass@host:port/db`.

    PostgreSQL is waited for up to `wait` seconds, with backoff and one log line per failed
    attempt; then, or on an error waiting cannot cure (a wrong password), `DatabaseUnavailable`.
    """
    if not database_url.startswith(("postgresql://", "postgres://")):
        return await SqliteStore.open(database_url.removeprefix("sqlite:///"))
    where = describe(database_url)

    def log_attempt(state: RetryCallState) -> None:
        assert state.outcome is not None and state.next_action is not None
        log.warning(
            "database %s not reachable (attempt %d): %s; retrying in %.1f s",
            where,
            state.attempt_number,
            _reason(state.outcome.exception()),
            state.next_action.sleep,
        )

    started = time.monotonic()
    attempt = 0
    try:
        async for attempt_state in AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, _NOT_THERE)),
            stop=stop_before_delay(wait),
            wait=wait_exponential(multiplier=0.5, max=10) + wait_random(0, 0.5),
            before_sleep=log_attempt,
            reraise=True,
        ):
            with attempt_state:
                attempt = attempt_state.retry_state.attempt_number
                return await PostgresStore.open(database_url)
    except _NOT_THERE as exc:
        raise DatabaseUnavailable(
            f"database {where} not reachable after {attempt} attempts in"
            f" {time.monotonic() - started:.0f} s (DATABASE_WAIT={wait:g}): {_reason(exc)}"
        ) from None
    except asyncpg.PostgresError as exc:
        raise DatabaseUnavailable(f"database {where} refused the bot: {_reason(exc)}") from None
    raise AssertionError("unreachable: AsyncRetrying either returns or raises")


def describe(database_url: str) -> str:
    """`host:port/db` of a database URL: enough to find it, without user or password."""
    parts = urlsplit(database_url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def _reason(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error"


class StoreWatch:
    """Whether the database answers, as one view shared by the poll loop, the background
    work and the update handlers: an outage is logged once when it starts and once when it
    ends, and work that needs the database awaits `back()` instead of failing in a loop."""

    def __init__(self, store: JobStore, *, interval: float = 1.0) -> None:
        self._store = store
        self._interval = interval
        self._up = asyncio.Event()
        self._up.set()
        self._watcher: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Task[None]] = set()

    @property
    def down(self) -> bool:
        return not self._up.is_set()

    async def failed(self) -> bool:
        """Called after an error: whether the database is down (then watched until back)."""
        if self.down:
            return True
        if await self._store.ping():
            return False
        if not self.down:  # another caller may have noticed first while we pinged
            self._up.clear()
            log.warning("database unreachable: work that needs it waits until it answers")
            self._watcher = asyncio.create_task(self._watch(time.monotonic()))
        return True

    async def back(self) -> None:
        """Return once the database answers again (at once if it is up)."""
        await self._up.wait()

    def after_outage(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` once the database answers again (dropped if the bot stops first)."""

        async def later() -> None:
            await self.back()
            await work

        task = asyncio.create_task(later())
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)
        task.add_done_callback(lambda _: work.close())  # never run: no "never awaited"

    async def _watch(self, since: float) -> None:
        while not await self._store.ping():  # noqa: ASYNC110 - polling the database itself
            await asyncio.sleep(self._interval)
        self._up.set()
        log.warning("database answers again after %.0f s; resuming", time.monotonic() - since)

    async def aclose(self) -> None:
        tasks = [*self._waiting, *([self._watcher] if self._watcher is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

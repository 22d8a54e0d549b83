"""Choosing the job store from `DATABASE_URL`: SQLite by default, PostgreSQL for replicas.

At start PostgreSQL is waited for (containers start in any order); once running, `StoreWatch`
(`bot.store.watch`) looks after outages.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from bot.store.protocol import JobStore
from bot.store.sqlite import SqliteStore

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database could not be used at start; `str()` is the one line for the operator."""


async def open_store(
    database_url: str, *, wait: float = 0.0, password: str | None = None
) -> JobStore:
    """`sqlite:///path.db` or `postgresql://user:pass@host:port/db` (or the password apart).

    PostgreSQL is waited for up to `wait` seconds, with backoff and one log line per failed
    attempt; then, or on an error waiting cannot cure (a wrong password), `DatabaseUnavailable`.
    """
    if not database_url.startswith(("postgresql://", "postgres://")):
        return await SqliteStore.open(database_url.removeprefix("sqlite:///"))
    # Only here, for PostgreSQL: a bot on SQLite never loads asyncpg.
    import asyncpg

    from bot.store.postgres import PostgresStore

    # Errors that mean "not there (yet)", worth waiting out: refused, unresolvable or
    # timed-out connections, a server still starting up or out of connection slots, a
    # dropped connection.
    not_there = (
        OSError,  # ConnectionRefusedError, socket.gaierror, TimeoutError
        asyncpg.CannotConnectNowError,
        asyncpg.TooManyConnectionsError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
    )
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
            retry=retry_if_exception(lambda exc: isinstance(exc, not_there)),
            stop=stop_before_delay(wait),
            wait=wait_exponential(multiplier=0.5, max=10) + wait_random(0, 0.5),
            before_sleep=log_attempt,
            reraise=True,
        ):
            with attempt_state:
                attempt = attempt_state.retry_state.attempt_number
                return await PostgresStore.open(database_url, password=password)
    except not_there as exc:
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

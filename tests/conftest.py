"""Suite-wide promise: no secret is ever logged, by our code or by a library we use.

Logging is set up as in production (`bot.logs.setup_logging`, httpx held at WARNING). Every
record is checked twice: our own code must never put a secret in a record at all, and what
the production handler writes (after `SecretFilter`) must be clean whoever logged it; the
second catches libraries, e.g. python-telegram-bot logs its API URL, token included, at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.logs import SecretFilter, setup_logging
from tests.e2e.conftest import (
    AIMLAPI_KEY,
    APIFRAME_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
)
from tests.fakes.telegram import FakeTelegram
from tests.stores import BACKENDS, open_store

SECRETS = (
    FakeTelegram().token,
    FakeTelegram().token.split(":", 1)[1],
    APIFRAME_KEY,
    AIMLAPI_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
)


OUR_LOGGERS = ("bot", "handlers", "tests")


class SecretSpotter(logging.Handler):
    """Remembers every log line that carries a secret, raw from our code or masked output."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.mask = SecretFilter(SECRETS)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        raw = self.format(record)
        if record.name.startswith(OUR_LOGGERS) and self._has_secret(raw):
            self.leaks.append(f"raw: {raw}")
        masked = logging.makeLogRecord(record.__dict__)
        self.mask.filter(masked)
        if self._has_secret(self.format(masked)):
            self.leaks.append(f"masked: {raw}")

    @staticmethod
    def _has_secret(line: str) -> bool:
        return any(secret in line for secret in SECRETS)


_spotter = SecretSpotter()


@pytest.fixture(autouse=True, scope="session")
def production_logging() -> Iterator[None]:
    setup_logging("DEBUG", secrets=())
    logging.getLogger().addHandler(_spotter)
    yield
    logging.getLogger().removeHandler(_spotter)


@pytest.fixture(autouse=True)
def no_secret_logged() -> Iterator[None]:
    before = len(_spotter.leaks)
    yield
    leaked = _spotter.leaks[before:]
    assert not leaked, f"secrets reached the logs: {leaked[:3]}"


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path) -> AsyncIterator[Any]:
    """The same store contract, run against SQLite and PostgreSQL."""
    async with open_store(request.param, tmp_path) as opened:
        yield opened

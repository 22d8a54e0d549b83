"""Suite-wide promise: no secret is ever logged, by our code or by a library we use.

Logging is set up by the bot's own `bot.cli.configure_logging`, from settings that hold every
secret the tests use (the token, every provider's keys, the webhook secret, a database
password), so a secret the production wiring forgets to mask shows here. Every record is
checked twice against the literal secrets (never against what the bot chose to mask): our
own code must never put a secret in a record at all, and what the production handler writes
must be clean whoever logged it; the second catches libraries, e.g. python-telegram-bot logs
its API URL, token included, at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, TextIO

import pytest

from bot.cli import configure_logging
from bot.config import Settings
from tests.e2e.conftest import (
    AIMLAPI_KEY,
    APIFRAME_KEY,
    DATABASE_PASSWORD,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
)
from tests.fakes.telegram import FakeTelegram
from tests.stores import BACKENDS, open_store

TOKEN = FakeTelegram().token
SECRETS = (
    TOKEN,
    TOKEN.split(":", 1)[1],
    APIFRAME_KEY,
    AIMLAPI_KEY,
    KLING_ACCESS,
    KLING_SECRET,
    WEBHOOK_SECRET,
    DATABASE_PASSWORD,
)

OUR_LOGGERS = ("bot", "handlers", "tests")


def suite_settings() -> Settings:
    """Settings as an operator with every provider would write them, with the tests' secrets."""
    return Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        video_providers="apiframe,aimlapi,apilaplas,kling,makevid",
        apiframe_api_key=APIFRAME_KEY,
        aimlapi_api_key=AIMLAPI_KEY,
        apilaplas_api_key=AIMLAPI_KEY,
        kling_access_key=KLING_ACCESS,
        kling_secret_key=KLING_SECRET,
        makevid_api_key=KLING_ACCESS,
        public_url="https://bot.example.org",
        webhook_secret=WEBHOOK_SECRET,
        database_password=DATABASE_PASSWORD,
        log_level="DEBUG",
    )


def _has_secret(line: str) -> bool:
    return any(secret in line for secret in SECRETS)


class Leaks:
    """What reached the logs: raw records of our code, and the production handler's output."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def raw_checking(self, production: Any) -> Any:
        """A record factory that looks at each record of our code as our code made it (before
        the production factory masks it), then hands over to the production factory."""

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            raw = logging.LogRecord(*args, **kwargs)
            if raw.name.startswith(OUR_LOGGERS):
                try:
                    line = raw.getMessage()
                except Exception:
                    line = str(raw.msg)
                if _has_secret(line):
                    self.found.append(f"raw: {raw.name}: {line}")
            record: logging.LogRecord = production(*args, **kwargs)
            return record

        return factory


class Scanning:
    """The production handler's stream: every line it writes is scanned, then passed on."""

    def __init__(self, stream: TextIO, leaks: Leaks) -> None:
        self.stream = stream
        self.leaks = leaks

    def write(self, text: str) -> int:
        if _has_secret(text):
            self.leaks.found.append(f"written: {text.strip()}")
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


_leaks = Leaks()


@pytest.fixture(autouse=True, scope="session")
def production_logging() -> Iterator[None]:
    configure_logging(suite_settings())
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(Scanning(handler.stream, _leaks))
    logging.setLogRecordFactory(_leaks.raw_checking(logging.getLogRecordFactory()))
    yield


@pytest.fixture(autouse=True)
def no_secret_logged() -> Iterator[None]:
    before = len(_leaks.found)
    yield
    leaked = _leaks.found[before:]
    assert not leaked, f"secrets reached the logs: {leaked[:3]}"


@pytest.fixture(params=BACKENDS)
async def store(request, tmp_path) -> AsyncIterator[Any]:
    """The same store contract, run against SQLite and PostgreSQL."""
    async with open_store(request.param, tmp_path) as opened:
        yield opened

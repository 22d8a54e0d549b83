"""Logging setup: one format, quiet HTTP and database libraries, and every secret masked.

httpx logs each request URL at INFO, and Telegram URLs contain the bot token; aiosqlite logs
each call with its arguments at DEBUG, callback tokens included. So httpx is held at WARNING,
the database drivers at INFO, and every record of every logger is masked where it is made (a
record factory), whatever handler a library attaches; the handler masks again as a backstop.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
#: `scheme://user:password@host`: a password in a URL, known to us or not (a DSN in an error).
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")
_BASE_FACTORY = logging.getLogRecordFactory()


class SecretFilter(logging.Filter):
    """Replaces each known secret, and any password in a URL, in a record with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at `level`, masking `secrets` in every record of every logger."""
    secret_filter = SecretFilter(secrets)

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _BASE_FACTORY(*args, **kwargs)
        with contextlib.suppress(Exception):  # a bad format string is the handler's to report
            secret_filter.filter(record)
        return record

    logging.setLogRecordFactory(masked_record)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(secret_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Their DEBUG lines carry query arguments (callback tokens, media tokens).
    for driver in ("aiosqlite", "asyncpg"):
        logging.getLogger(driver).setLevel(max(logging.INFO, logging.getLevelName(level)))

"""Logging setup: one format, quiet HTTP and database libraries, and every secret masked.

httpx logs each request URL at INFO, and Telegram URLs contain the bot token; aiosqlite logs
each call with its arguments at DEBUG, callback tokens included. So httpx is held at WARNING,
the database drivers at INFO, and every record of every logger is masked where it is made (a
record factory), whatever handler a library attaches; the handler masks again as a backstop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
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


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`LOG_FORMAT=json`), for log shippers: time (UTC, ISO 8601),
    level, logger, message and, with an error, its traceback; masked like every line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def setup_logging(level: str, secrets: Iterable[str], log_format: str = "text") -> None:
    """Log to stderr at `level`, as text or JSON lines, masking `secrets` in every record of
    every logger."""
    secret_filter = SecretFilter(secrets)

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _BASE_FACTORY(*args, **kwargs)
        with contextlib.suppress(Exception):  # a bad format string is the handler's to report
            secret_filter.filter(record)
        return record

    logging.setLogRecordFactory(masked_record)
    handler = logging.StreamHandler()
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if log_format == "json" else text)
    handler.addFilter(secret_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Their DEBUG lines carry query arguments (callback tokens, media tokens).
    for driver in ("aiosqlite", "asyncpg"):
        logging.getLogger(driver).setLevel(max(logging.INFO, logging.getLevelName(level)))

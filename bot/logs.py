"""Logging setup: one format, quiet HTTP libraries, and every secret masked.

httpx logs each request URL at INFO, and Telegram URLs contain the bot token, so the filter
below runs on every record of every logger, and httpx is held at WARNING as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"


class SecretFilter(logging.Filter):
    """Replaces each known secret in a record's final message with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            exc_text = record.exc_text
            for secret in self._secrets:
                exc_text = exc_text.replace(secret, MASK)
            record.exc_text = exc_text
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at `level`, masking `secrets` everywhere."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

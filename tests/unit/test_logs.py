"""The secret-masking log filter."""

import logging
import sys

from bot.logs import MASK, SecretFilter, setup_logging

TOKEN = "123456:SECRETtokenVALUE_abcdefgh"


def render(record: logging.LogRecord) -> str:
    formatter = logging.Formatter("%(message)s")
    text = formatter.format(record)
    return text


def record(msg, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, msg, args, exc_info)


def test_masks_secrets_in_message_and_arguments():
    r = record("GET https://api.telegram.org/bot%s/getMe with key %s", TOKEN, "api-key-123456")
    assert SecretFilter([TOKEN, "api-key-123456"]).filter(r)
    assert render(r) == f"GET https://api.telegram.org/bot{MASK}/getMe with key {MASK}"


def test_masks_secrets_in_tracebacks():
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/sendVideo")
    except RuntimeError:
        r = record("boom", exc_info=sys.exc_info())
    SecretFilter([TOKEN]).filter(r)
    assert TOKEN not in render(r)
    assert f"/bot{MASK}/sendVideo" in render(r)


def test_short_values_are_not_treated_as_secrets():
    r = record("value 12345 stays")
    SecretFilter(["12345"]).filter(r)
    assert render(r) == "value 12345 stays"


def test_masks_passwords_in_urls_known_or_not():
    r = record("cannot connect to %s", "postgresql://bot:hunter2@db:5432/bot")
    SecretFilter([]).filter(r)
    assert render(r) == f"cannot connect to postgresql://bot:{MASK}@db:5432/bot"


def test_every_logger_is_masked_even_with_its_own_handler():
    """A library logger that does not propagate (uvicorn's default config does that) still
    gets masked records: masking happens where records are made."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    own = logging.getLogger("some.library")
    own.propagate, own.handlers = False, [Keep()]
    root_handlers, factory = logging.getLogger().handlers[:], logging.getLogRecordFactory()
    try:
        setup_logging("DEBUG", [TOKEN])
        own.error("calling /bot%s/getMe", TOKEN)
    finally:
        logging.setLogRecordFactory(factory)
        logging.getLogger().handlers[:] = root_handlers
        own.handlers = []
    assert lines == [f"calling /bot{MASK}/getMe"]

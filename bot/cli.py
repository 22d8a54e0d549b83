"""`kling-bot` / `python -m bot`: run the bot, or `kling-bot check` the configuration."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from telegram.error import InvalidToken, NetworkError

from bot.app import run_bot
from bot.config import ConfigError, Settings, load_settings
from bot.error_reports import setup_error_reports
from bot.logs import SecretFilter, setup_logging
from bot.overrides import SHIPPED, Overrides
from bot.providers import build_providers
from bot.providers.base import AuthFailed, ProviderError
from bot.store import DatabaseUnavailable, describe, open_store

EXIT_CONFIG = 2
EXIT_CHECK_FAILED = 1
EXIT_UNREACHABLE = 1
EXIT_DATABASE = 3  # the database could not be reached within DATABASE_WAIT, or refused us

log = logging.getLogger("kling-bot")


def main(argv: list[str] | None = None, *, overrides: Overrides = SHIPPED) -> int:
    """The command line; `overrides` is for launchers (benchmarks, tests) that run the shipped
    entry point with another rate limiter and the like: see `bot.overrides`."""
    parser = argparse.ArgumentParser(prog="kling-bot", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=("run", "check"),
        help="run the bot (default), or check the configuration and each provider's credentials",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"kling-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_observability(settings)
    if args.command == "check":
        return asyncio.run(check(settings))
    try:
        asyncio.run(_run(settings, overrides))
    except InvalidToken:
        log.critical("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather")
        return EXIT_CONFIG
    except NetworkError as exc:  # at start only: once running, network errors are retried
        log.critical(
            "cannot reach the Telegram Bot API at %s: %s", settings.telegram_api_url, exc.message
        )
        return EXIT_UNREACHABLE
    except DatabaseUnavailable as exc:
        log.critical("%s", exc)
        return EXIT_DATABASE
    return 0


def configure_logging(settings: Settings) -> None:
    """The process's logging: its level and format, every configured secret masked. The test
    suite sets its logging up with this very function, so its leak check covers this wiring."""
    setup_logging(settings.log_level, settings.secrets(), settings.log_format)


def setup_observability(settings: Settings) -> None:
    """Logging to stderr and, with `SENTRY_DSN`, errors to Sentry: both masked alike."""
    configure_logging(settings)
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None
    setup_error_reports(dsn, SecretFilter(settings.secrets()).mask)


async def _run(settings: Settings, overrides: Overrides) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_bot(settings, stop, overrides=overrides)


async def check(settings: Settings) -> int:
    """One authenticated call per configured provider, printed as a table."""
    providers = build_providers(settings.providers, settings.provider_common)
    rows = [("provider", "reachable", "auth ok", "balance", "checked")]
    failed = False
    for name, provider in providers.items():
        try:
            status = await provider.account()
        except AuthFailed as exc:
            rows.append((name, "yes", "NO", "-", exc.message))
            failed = True
        except ProviderError as exc:
            rows.append((name, "NO", "?", "-", exc.message))
            failed = True
        else:
            rows.append((name, "yes", "yes", status.balance or "unknown", status.checked))
        finally:
            await provider.aclose()
    if settings.database_url.startswith(("postgresql://", "postgres://")):
        database = await _check_database(settings)
        failed = failed or database[1] != "yes"
        rows.append(database)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_CHECK_FAILED if failed else 0


async def _check_database(settings: Settings) -> tuple[str, str, str, str, str]:
    """One connection to PostgreSQL, not waited for: a host that does not resolve (a password
    pasted unescaped into the URL makes one), a refused connection or a refused login show."""
    where = describe(settings.database_url)
    password = settings.database_password
    try:
        store = await open_store(
            settings.database_url, password=password.get_secret_value() if password else None
        )
    except DatabaseUnavailable as exc:
        return ("database", "NO", "?", "-", str(exc))
    await store.close()
    return ("database", "yes", "yes", "-", f"PostgreSQL {where}")

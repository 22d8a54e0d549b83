"""`python -m bot` with Telegram's message limits scaled down, as the in-process tests have them.

The in-process end-to-end tests swap the bot's rate limiter through the `fast_pacing` fixture;
a bot in a subprocess cannot take a fixture, so this launcher makes the same swap and then runs
the bot's own entry point. Everything else is the shipped bot.
"""

from __future__ import annotations

import sys

import bot.app
from bot.cli import main
from bot.pacing import PacingRateLimiter
from tests.e2e.conftest import FAST_LIMITS


def fast_rate_limiter() -> PacingRateLimiter:
    return PacingRateLimiter(FAST_LIMITS)


if __name__ == "__main__":
    bot.app.PacingRateLimiter = fast_rate_limiter  # type: ignore[attr-defined,assignment]
    sys.exit(main([]))

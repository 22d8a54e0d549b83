"""`python -m bot` with Telegram's message limits scaled down, as the in-process tests have them.

The in-process end-to-end tests pass the bot a scaled-down rate limiter through the
`overrides` fixture; a bot in a subprocess cannot take a fixture, so this launcher passes the
same limiter to the bot's own entry point. Everything else is the shipped bot. With
`TEST_TELEGRAM_LIMITS=shipped` it keeps the shipped limits (a test of the real pacing).
"""

from __future__ import annotations

import os
import sys

from bot.cli import main
from bot.overrides import Overrides
from tests.e2e.conftest import fast_rate_limiter

if __name__ == "__main__":
    shipped = os.environ.get("TEST_TELEGRAM_LIMITS") == "shipped"
    sys.exit(
        main([], overrides=Overrides() if shipped else Overrides(rate_limiter=fast_rate_limiter))
    )

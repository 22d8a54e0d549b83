"""What tests and benchmarks swap in for a run of the bot, through `run_bot` and `cli.main`
rather than by patching module globals.

None of it is a setting: an operator has no reason to change these, and a `.env` should not
offer them. Each default is the shipped behaviour, kept where that behaviour lives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram.ext import BaseRateLimiter

from bot.alerts import BALANCE_INTERVAL, REPEAT, SUBMIT_OUTAGE
from bot.downloads import RATE_GRACE
from bot.sharing import INLINE_PAGE
from bot.tracker import PURGE_INTERVAL, QUESTION_LIFETIME


@dataclass(frozen=True)
class Overrides:
    """The seams of one bot run. `rate_limiter` makes the run's limiter (a fresh one per run,
    as it keeps the run's timings; None: `bot.pacing.PacingRateLimiter()`)."""

    rate_limiter: Callable[[], BaseRateLimiter] | None = None  # type: ignore[type-arg]
    album_wait: float | None = None  # seconds of quiet that end an album; None: handlers'
    download_rate_grace: float = RATE_GRACE  # seconds before a download's minimum rate counts
    purge_interval: float = PURGE_INTERVAL  # seconds between two purges of expired rows
    question_lifetime: float = QUESTION_LIFETIME  # seconds an unanswered question is kept
    alert_repeat: float = REPEAT  # seconds between two admin alerts about a lasting condition
    alert_submit_outage: float = SUBMIT_OUTAGE  # seconds of failed submits before an alert
    alert_balance_interval: float = BALANCE_INTERVAL  # seconds between two balance checks
    inline_page: int = INLINE_PAGE  # videos per inline answer
    lease_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # between lease renewals
    status_gives_way: bool = True  # False: every status edit sent, as before issue 16 (bench)

    def new_rate_limiter(self) -> BaseRateLimiter | None:  # type: ignore[type-arg]
        """This run's limiter, or None for the shipped one."""
        return self.rate_limiter() if self.rate_limiter is not None else None


SHIPPED = Overrides()
"""No overrides: the bot as it ships."""

"""`python -m bot` with another rate limiter: bench 1's unpaced bot and bench 2's baseline.

`--limiter unpaced` (bench 1): bench 1 measures what the bot itself costs per job, with
Telegram's limits off in the fake. The shipped bot paces its messages to Telegram's limits
(`bot.pacing`: 30 a second overall, 1 a second per chat), so with about six messages per job
it would spend some 400 s on 2,000 jobs however fast it is, and the benchmark would measure
Telegram's limit instead of the bot. This variant keeps the same limiter with limits nobody
reaches: the pacing code still runs for every message and a chat still has one message in
flight at a time, but nothing waits.

`--limiter aio` (bench 2's baseline): the limiter the bot had before `bot.pacing`,
`AIORateLimiter(max_retries=3)`, to show what the pacing changes under Telegram's limits.

`--status always` (bench 2's saturation baseline): every status edit is sent, as before
issue 16 (`Overrides.status_gives_way=False`): progress edits do not give way when the pacer
says a chat or Telegram's budget is busy, and "ready, sending the video" is an edit of its own.

There is no setting for the limiter (see bench/README.md): the launcher passes the variant to
the bot's own entry point (`bot.cli.main(overrides=...)`, down to `build_application`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from telegram.ext import AIORateLimiter

from bot.cli import main as run_bot
from bot.overrides import Overrides
from bot.pacing import Limits, PacingRateLimiter

UNREACHABLE = Limits(chat_interval=0.0, chat_burst=1, group_limit=10**9, overall_limit=10**9)


class UnpacedRateLimiter(PacingRateLimiter):
    def __init__(self) -> None:
        super().__init__(UNREACHABLE)


def previous_rate_limiter() -> Any:
    return AIORateLimiter(max_retries=3)


VARIANTS: dict[str, Any] = {"unpaced": UnpacedRateLimiter, "aio": previous_rate_limiter}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limiter", choices=sorted(VARIANTS), help="default: the shipped one")
    parser.add_argument("--status", choices=("gives-way", "always"), default="gives-way")
    args = parser.parse_args()
    limiter = VARIANTS[args.limiter] if args.limiter else None
    gives_way = args.status == "gives-way"
    return run_bot([], overrides=Overrides(rate_limiter=limiter, status_gives_way=gives_way))


if __name__ == "__main__":
    sys.exit(main())

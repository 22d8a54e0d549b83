"""Who may make videos, and how many: allowlists, bans, per-user limits, a flood cooldown.

Every count comes from the store (not from memory) except the few-seconds cooldown, so
limits hold across restarts. Admins are exempt from limits and cooldown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.stores import JobStore

DAY = 86400.0


@dataclass(frozen=True)
class AccessPolicy:
    allowed_user_ids: frozenset[int] = frozenset()  # empty: everyone
    allowed_chat_ids: frozenset[int] = frozenset()  # empty: every chat
    admin_user_ids: frozenset[int] = frozenset()
    max_active_jobs: int = 3
    daily_jobs: int = 20
    cooldown: float = 3.0


class Gatekeeper:
    def __init__(
        self, store: JobStore, policy: AccessPolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._last_request: dict[int, float] = {}

    def is_admin(self, user_id: int) -> bool:
        return user_id in self._policy.admin_user_ids

    async def may_use(self, user_id: int, chat_id: int) -> bool:
        """Allowlists and bans: False means the bot stays silent for this user or chat."""
        policy = self._policy
        if self.is_admin(user_id):
            return True
        if policy.allowed_user_ids and user_id not in policy.allowed_user_ids:
            return False
        if policy.allowed_chat_ids and chat_id not in policy.allowed_chat_ids:
            return False
        return not await self._store.is_banned(user_id)

    async def refuse_new_job(self, user_id: int) -> str | None:
        """Why the user cannot start another job right now (saying when they can), or None."""
        if self.is_admin(user_id):
            return None
        now = self._clock()
        policy = self._policy
        last = self._last_request.get(user_id)
        if last is not None and now - last < policy.cooldown:
            return f"Please wait {_duration(policy.cooldown - (now - last))} before the next video."
        active = await self._store.count_open_jobs(user_id)
        if active >= policy.max_active_jobs:
            return (
                f"You already have {active} videos in progress (the limit is "
                f"{policy.max_active_jobs}). Try again when one is done, or /cancel one."
            )
        recent = await self._store.job_times_since(user_id, now - DAY)
        if len(recent) >= policy.daily_jobs:
            free_at = recent[len(recent) - policy.daily_jobs] + DAY
            return (
                f"You have made {policy.daily_jobs} videos in the last 24 hours, the daily limit. "
                f"Try again in {_duration(free_at - now)}."
            )
        self._last_request[user_id] = now
        if len(self._last_request) > 10_000:  # keep memory bounded: forget cooled-down users
            cutoff = now - policy.cooldown
            self._last_request = {u: t for u, t in self._last_request.items() if t > cutoff}
        return None


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"

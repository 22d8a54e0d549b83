"""Operator commands: job statistics, and banning users, for `ADMIN_USER_IDS` only."""

from __future__ import annotations

import time
from collections import defaultdict

from bot.access import DAY, Gatekeeper
from bot.billing import Billing
from bot.store import JobStore

STATS_DAYS = 7


class Admin:
    def __init__(
        self,
        store: JobStore,
        gatekeeper: Gatekeeper,
        billing: Billing | None = None,
        replicas_within: float | None = None,
    ) -> None:
        """`replicas_within`: list the replicas heard from within that many seconds."""
        self._store = store
        self._gate = gatekeeper
        self._billing = billing
        self._replicas_within = replicas_within

    def allowed(self, user_id: int) -> bool:
        return self._gate.is_admin(user_id)

    async def stats(self) -> str:
        """Jobs of the last week by day, then by provider and state; with billing, Stars and
        credits by day; the live replicas."""
        since = time.time() - STATS_DAYS * DAY
        text = await self._job_stats(since)
        if self._billing is not None and self._billing.enabled:
            money = await self._billing.stats_lines(since)
            if money:
                text += "\n" + "\n".join(money)
        if self._replicas_within is not None:
            text += "\n" + await self._live_replicas(self._replicas_within)
        return text

    async def _live_replicas(self, within: float) -> str:
        now = time.time()
        replicas = await self._store.live_replicas(within)
        lines = [f"Replicas alive: {len(replicas)}"]
        for replica_id, started_at, silent in replicas:
            up = _duration(now - started_at)
            lines.append(f"{replica_id}: up {up}, last heartbeat {silent:.0f} s ago")
        return "\n".join(lines)

    async def _job_stats(self, since: float) -> str:
        rows = await self._store.job_stats(since=since)
        if not rows:
            return f"No jobs in the last {STATS_DAYS} days."
        by_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for day, provider, state, count in rows:
            by_day[day][state] += count
            totals[(provider, state)] += count
        lines = [f"Jobs, last {STATS_DAYS} days (UTC):"]
        for day, states in by_day.items():
            summary = ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
            lines.append(f"{day}: {sum(states.values())} ({summary})")
        lines.append("By provider:")
        providers = sorted({provider for provider, _ in totals})
        for provider in providers:
            states = {s: c for (p, s), c in totals.items() if p == provider}
            summary = ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
            lines.append(f"{provider}: {sum(states.values())} ({summary})")
        return "\n".join(lines)

    async def ban(self, admin_id: int, argument: str) -> str:
        user_id = _user_id(argument)
        if user_id is None:
            return "Use /ban <numeric user id>."
        if self._gate.is_admin(user_id):
            return "Admins cannot be banned."
        await self._store.ban(user_id, banned_by=admin_id)
        return f"User {user_id} is banned: the bot ignores them now."

    async def unban(self, argument: str) -> str:
        user_id = _user_id(argument)
        if user_id is None:
            return "Use /unban <numeric user id>."
        if await self._store.unban(user_id):
            return f"User {user_id} may use the bot again."
        return f"User {user_id} was not banned."


def _duration(seconds: float) -> str:
    """An uptime for operators: "42 s", "17 min", "5 h 3 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _user_id(argument: str) -> int | None:
    argument = argument.strip()
    return int(argument) if argument.lstrip("-").isdigit() else None

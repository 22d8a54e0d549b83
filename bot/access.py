"""Who may make videos, and how many: allowlists, bans, per-user limits, a flood cooldown.

Every count comes from the store (not from memory), the few-seconds cooldown and the quiet
times of repeated answers too, so limits hold across restarts and replicas. Admins are exempt
from limits and cooldown.

Refusals and hints are given to each user at most once a while (`REPEAT_QUIET`, or until the
cooldown ends): every answer is a paced message in the user's chat, so answering each message
of a flood would only queue a dozen copies of the same sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from bot.i18n import messages
from bot.jobs import Quota
from bot.store import JobStore

DAY = 86400.0
REPEAT_QUIET = 60.0  # seconds during which the same refusal or hint is not given again
COOLDOWN = "request"  # the quiet time between two requests of a user (`AccessPolicy.cooldown`)


class Refusal(NamedTuple):
    text: str
    answer: bool  # False: the user was told the same a moment ago; stay silent


class RepeatGuard:
    """Which answers to give: the first of a kind to a user, then silence for a while. The
    quiet times live in the store, so replicas answer a flood once between them."""

    def __init__(self, store: JobStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    async def first(self, user_id: int, kind: str, quiet: float = REPEAT_QUIET) -> bool:
        """True if this user was not given this kind of answer in the last `quiet` seconds
        (and, answering now, starts that quiet)."""
        now = self._clock()
        started, _ = await self._store.take_quiet(user_id, kind, now, now + quiet)
        return started


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
        self._repeats = RepeatGuard(store, clock)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self._policy.admin_user_ids

    @property
    def admin_ids(self) -> frozenset[int]:
        return self._policy.admin_user_ids

    def allowlisted(self, user_id: int, chat_id: int) -> bool:
        """Whether the allowlists (if the operator set any) let this user in this chat in."""
        policy = self._policy
        if self.is_admin(user_id):
            return True
        if policy.allowed_user_ids and user_id not in policy.allowed_user_ids:
            return False
        return not policy.allowed_chat_ids or chat_id in policy.allowed_chat_ids

    async def may_use(self, user_id: int, chat_id: int) -> bool:
        """Allowlists and bans together: False means the bot does nothing for this update."""
        if not self.allowlisted(user_id, chat_id):
            return False
        return self.is_admin(user_id) or not await self._store.is_banned(user_id)

    async def should_answer(self, user_id: int, kind: str, quiet: float = REPEAT_QUIET) -> bool:
        """Whether to give this user this kind of answer (a refusal, a hint) now; at most once
        per `quiet` seconds, the rest of a flood is ignored silently."""
        return await self._repeats.first(user_id, kind, quiet)

    def quota(self, user_id: int) -> Quota | None:
        """The limits the store enforces when it creates this user's job; None for admins."""
        if self.is_admin(user_id):
            return None
        policy = self._policy
        return Quota(policy.max_active_jobs, policy.daily_jobs, since=self._clock() - DAY)

    async def refuse_new_job(self, user_id: int, lang: str = "en") -> Refusal | None:
        """Why the user cannot start another job right now (saying when they can), or None.

        Passing starts the user's cooldown. The store checks the counts again, atomically,
        when it creates the job (`quota`): this answer is for the user, that one is the rule.
        A refusal repeated within its quiet time comes with `answer=False`.
        """
        if self.is_admin(user_id):
            return None
        now = self._clock()
        policy = self._policy
        m = messages(lang)
        until = now + policy.cooldown
        if policy.cooldown > 0:
            # One statement in the store starts the cooldown or finds it running, so requests
            # of the same user reaching other chats, or other replicas, pass it once.
            started, running_until = await self._store.take_quiet(user_id, COOLDOWN, now, until)
            if not started:
                left = running_until - now
                text = m.cooldown.format(wait=duration(left, lang))
                return Refusal(text, await self.should_answer(user_id, "cooldown", quiet=left))
        refusal = await self.over_limit(user_id, lang)
        if refusal is not None:
            if policy.cooldown > 0:  # not counted as a request after all
                await self._store.give_back_quiet(user_id, COOLDOWN, until)
            # Keyed by its words: the same refusal is not repeated to a flood, but a changed
            # one (a slot freed, then taken again) is said.
            return Refusal(refusal, await self.should_answer(user_id, f"limit:{refusal}"))
        return None

    async def over_limit(self, user_id: int, lang: str = "en") -> str | None:
        """The answer when the user is at their limit of open or daily jobs, else None."""
        now = self._clock()
        policy = self._policy
        m = messages(lang)
        active = await self._store.count_open_jobs(user_id)
        if active >= policy.max_active_jobs:
            # Cancelled jobs the provider is still making count too; say so, as /cancel
            # cannot free those.
            stopping = active - len(await self._store.open_jobs(user_id))
            template = m.too_many_active_stopping if stopping > 0 else m.too_many_active
            return template.format(active=active, limit=policy.max_active_jobs, stopping=stopping)
        recent = await self._store.job_times_since(user_id, now - DAY)
        if len(recent) >= policy.daily_jobs:
            free_at = recent[len(recent) - policy.daily_jobs] + DAY
            return m.daily_limit.format(limit=policy.daily_jobs, wait=duration(free_at - now, lang))
        return None


def duration(seconds: float, lang: str = "en") -> str:
    """A wait for people: "12 s", "5 min", "3 h 20 min"."""
    forms = messages(lang).durations
    seconds = max(1, round(seconds))
    if seconds < 60:
        return forms["seconds"].format(n=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return forms["minutes"].format(n=minutes)
    return forms["hours"].format(n=minutes // 60, m=minutes % 60)

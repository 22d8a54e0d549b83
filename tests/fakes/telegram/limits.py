"""Telegram's flood limits as the fake enforces them (when a test turns them on)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from tests.fakes.telegram.api import too_many_requests


class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.tokens -= 1


class _Window:
    """A sliding window: at most ``limit`` sends in any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.sent: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.period - now

    def take(self, now: float) -> None:
        self.sent.append(now)


class RateLimiter:
    """Telegram's broadcast limits: "about one message per second" per chat, taken strictly (no
    burst: a second message within the second is answered 429), 20/min per group, 30/s overall.

    ``chat_intervals`` makes chosen chats stricter still: "about" leaves Telegram room to count
    differently than a bot does, and a bot must cope with that after one 429.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.chat_intervals: dict[int, float] = {}  # seconds per message, where not 1
        self._chats: dict[int, _Bucket] = {}
        self._groups: dict[int, _Window] = {}
        self._overall = _Window(30, 1.0)

    def acquire(self, chat_id: int) -> None:
        now = self.clock()
        bucket = self._chats.setdefault(chat_id, _Bucket(1, 1.0, now))
        bucket.rate = 1.0 / self.chat_intervals.get(chat_id, 1.0)
        limits: list[_Bucket | _Window] = [bucket, self._overall]
        if chat_id < 0:
            limits.append(self._groups.setdefault(chat_id, _Window(20, 60.0)))
        wait = max(limit.wait_time(now) for limit in limits)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for limit in limits:
            limit.take(now)

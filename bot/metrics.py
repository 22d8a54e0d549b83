"""Prometheus metrics, on a registry of the bot's own (not the process-global one).

Labels are provider names, job states and error kinds only: never ids, chats or secrets.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.store import JobStore


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Gauge(
            "kling_bot_jobs",
            "Jobs by state and provider",
            ["state", "provider"],
            registry=self.registry,
        )
        self.submit_errors = Counter(
            "kling_bot_submit_errors",
            "Provider errors on submit, by kind",
            ["provider", "kind"],
            registry=self.registry,
        )
        self.poll_errors = Counter(
            "kling_bot_poll_errors",
            "Provider errors on polls, by kind",
            ["provider", "kind"],
            registry=self.registry,
        )
        self.telegram_errors = Counter(
            "kling_bot_telegram_errors",
            "Telegram Bot API errors, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "kling_bot_delivery_latency_seconds",
            "From the provider reporting a finished video to the video in the chat",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.shares = Counter(
            "kling_bot_shares",
            "Videos people posted into a chat through inline mode (needs inline feedback)",
            registry=self.registry,
        )
        self.credits = Gauge(
            "kling_bot_credits",
            "Credits moved since the start of the ledger, by kind (purchase, reserve, charge,"
            " release, grant, welcome, daily, refund, unrefund)",
            ["kind"],
            registry=self.registry,
        )
        self.stars = Gauge(
            "kling_bot_stars",
            "Telegram Stars received (purchase), refunded (refund) and refunds undone (unrefund)",
            ["kind"],
            registry=self.registry,
        )
        self.callbacks = Counter(
            "kling_bot_callbacks",
            "Provider callbacks received, by outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.replicas = Gauge(
            "kling_bot_replicas",
            "Replicas whose heartbeat is recent (this one included)",
            registry=self.registry,
        )

    async def render(self, store: JobStore, live_within: float | None = None) -> bytes:
        """The text exposition, with job counts and credit totals read fresh from the store
        (every replica reports the same totals: the ledger is shared) and, given
        `live_within`, the replicas heard from within that many seconds."""
        self.jobs.clear()
        for (state, provider), count in (await store.count_jobs()).items():
            self.jobs.labels(state=state, provider=provider).set(count)
        self.credits.clear()
        self.stars.clear()
        for kind, (amount, stars) in (await store.credit_totals()).items():
            self.credits.labels(kind=kind).set(amount)
            if kind in ("purchase", "refund", "unrefund"):
                self.stars.labels(kind=kind).set(stars)
        if live_within is not None:
            self.replicas.set(len(await store.live_replicas(live_within)))
        return generate_latest(self.registry)

"""Messages to `ADMIN_USER_IDS` when something needs an operator, and when it is over.

Conditions are keyed by name: ("balance", provider), ("submits", provider), ("deliveries",).
A condition that arises sends one message to each admin, repeated at most every `repeat`
seconds while it lasts; once it clears, one "recovered" message. Feeds: the submitter reports
each submit outcome per provider, the lifecycle each delivery attempt, and `watch_balances`
asks every provider for its balance every `balance_interval` seconds. `kling-bot check` stays
the manual version. The messages are in English, like the admin commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from telegram.error import TelegramError

from bot.providers.base import ProviderError, VideoProvider

log = logging.getLogger(__name__)

REPEAT = 3600.0  # seconds between two messages about a condition that lasts
SUBMIT_OUTAGE = 300.0  # seconds of failed submits, with no success, before admins are told
DELIVERY_FAILURES = 5  # failed delivery attempts in a row before admins are told
BALANCE_INTERVAL = 300.0  # seconds between two balance checks

Key = tuple[str, ...]


class Sender(Protocol):
    async def send_message(self, chat_id: int, text: str) -> object: ...


class Alerts:
    def __init__(
        self,
        bot: Sender | None,
        admin_ids: Iterable[int],
        *,
        low_balance: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        repeat: float = REPEAT,
        submit_outage: float = SUBMIT_OUTAGE,
        delivery_failures: int = DELIVERY_FAILURES,
        balance_interval: float = BALANCE_INTERVAL,
    ) -> None:
        """`bot` None: messages are only logged. `low_balance` None: no balance alerts."""
        self._bot = bot
        self._admins = sorted(admin_ids)
        self._low_balance = low_balance
        self._clock = clock
        self._repeat = repeat
        self._submit_outage = submit_outage
        self._delivery_failures = delivery_failures
        self._balance_interval = balance_interval
        self._raised: dict[Key, float] = {}  # condition -> when admins were last told
        self._failing_since: dict[str, float] = {}  # provider -> first failure since a success
        self._failed_deliveries = 0
        self._sending: set[asyncio.Task[None]] = set()

    # --- the state of each condition -----------------------------------------------------------

    def _raise(self, key: Key, text: str) -> str | None:
        """`key` holds now: tell the admins, unless they were told within `repeat` seconds.
        Returns the message sent, or None."""
        now = self._clock()
        last = self._raised.get(key)
        if last is not None and now - last < self._repeat:
            return None
        self._raised[key] = now
        self._notify(text)
        return text

    def _clear(self, key: Key, text: str) -> str | None:
        """`key` no longer holds: tell the admins once if they were told it did."""
        if self._raised.pop(key, None) is None:
            return None
        self._notify(text)
        return text

    def raised(self) -> list[Key]:
        """The conditions in force, for tests and logs."""
        return sorted(self._raised)

    # --- feeds ---------------------------------------------------------------------------------

    def submit_succeeded(self, provider: str) -> str | None:
        self._failing_since.pop(provider, None)
        return self._clear(("submits", provider), f"✅ {provider} accepts videos again.")

    def submit_failed(self, provider: str) -> str | None:
        """A provider failure (an outage, a bad key, no credits), not a refusal of the user's
        request (invalid, content policy): those say nothing about the provider."""
        now = self._clock()
        since = self._failing_since.setdefault(provider, now)
        if now - since < self._submit_outage:
            return None
        minutes = max(1, round((now - since) / 60))
        return self._raise(
            ("submits", provider),
            f"⚠️ {provider} has failed every submit for {minutes} min. Check its status, key "
            f"and credits (kling-bot check); the bot fails over to other providers if any.",
        )

    def delivery_succeeded(self) -> str | None:
        self._failed_deliveries = 0
        return self._clear(("deliveries",), "✅ Videos are delivered again.")

    def delivery_failed(self) -> str | None:
        self._failed_deliveries += 1
        if self._failed_deliveries < self._delivery_failures:
            return None
        return self._raise(
            ("deliveries",),
            f"⚠️ The last {self._failed_deliveries} attempts to send a video to Telegram "
            f"failed. Check the logs, the network and TELEGRAM_API_URL.",
        )

    def balance(self, provider: str, credits: float | None) -> str | None:
        """A provider's balance as its account call reported it (None: it does not say)."""
        if self._low_balance is None or credits is None:
            return None
        key = ("balance", provider)
        if credits >= self._low_balance:
            return self._clear(key, f"✅ {provider} balance is back to {credits:g}.")
        return self._raise(
            key,
            f"⚠️ {provider} balance is low: {credits:g} left (LOW_BALANCE_ALERT is "
            f"{self._low_balance:g}). Top it up before videos start failing.",
        )

    async def check_balances(self, providers: Mapping[str, VideoProvider]) -> None:
        for name, provider in providers.items():
            try:
                status = await provider.account()
            except ProviderError as exc:
                log.warning("balance check of %s failed: %s", name, exc.message)
                continue
            self.balance(name, status.credits)

    async def watch_balances(self, providers: Mapping[str, VideoProvider]) -> None:
        """Check balances every `balance_interval` seconds, forever (until cancelled)."""
        if self._low_balance is None:
            return
        while True:
            try:
                await self.check_balances(providers)
            except Exception:
                log.exception("balance check failed; trying again later")
            await asyncio.sleep(self._balance_interval)

    # --- sending -------------------------------------------------------------------------------

    def _notify(self, text: str) -> None:
        log.warning("admin alert: %s", text)
        if self._bot is None or not self._admins:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._send(text))
        except RuntimeError:  # no loop (a synchronous unit test): logged only
            return
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, text: str) -> None:
        assert self._bot is not None
        for admin in self._admins:
            try:
                await self._bot.send_message(chat_id=admin, text=text)
            except TelegramError as exc:
                log.warning("could not send an alert to admin %s: %s", admin, exc)

    async def drain(self) -> None:
        """Wait for the messages being sent."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._sending):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._sending, return_exceptions=True)

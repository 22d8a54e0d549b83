"""Credits and Telegram Stars: what a video costs, the packs for sale, and every money rule.

With `BILLING=off` nothing here charges anyone (`Billing.price_for` is 0). With
`BILLING=stars` each video has a price in credits, reserved from the requester's own balance
in the transaction that creates its job, charged in the one that records its delivery and
released in the one that fails or cancels it (see `bot.store.credits` for the ledger). People
buy credits in packs paid in Telegram Stars (`XTR`): a payment is credited once, by its
`telegram_payment_charge_id`.

Prices are one table, `PRICES` over `DEFAULT_PRICES`: rules `model:mode:duration=credits`,
each part a value or `*`; the most specific rule wins (see `price_in`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.i18n import messages

if TYPE_CHECKING:  # the settings validate prices and packs with this module: keep it light
    from bot.providers.base import Capabilities
    from bot.store import JobStore
    from bot.store.credits import Balance

log = logging.getLogger(__name__)

CURRENCY = "XTR"  # Telegram Stars; invoices in it take no provider token
#: 2 credits a second in std and 4 in pro, for every length a model makes (3 to 15 s: kling-v3
#: takes them all; 5 s std is 10 as ever), and 40 for anything else.
DEFAULT_PRICES = ",".join(
    [f"*:{mode}:{n}={rate * n}" for mode, rate in (("std", 2), ("pro", 4)) for n in range(3, 16)]
    + ["*:*:*=40"]
)
DEFAULT_PACKS = "100:50,500:200"
MAX_CREDITS = 1_000_000  # per pack, grant and price: keeps typos from minting fortunes
NOTE_LIMIT = 200  # characters of an admin's reason kept with a grant

_RULE = re.compile(r"^\s*([\w.*-]+):([\w*]+):(\*|\d{1,3})\s*=\s*(\d{1,7})\s*$")
_PACK = re.compile(r"^\s*(\d{1,7})\s*:\s*(\d{1,6})\s*$")
_PAYLOAD = re.compile(r"^pack:(\d{1,7}):(\d{1,6})$")

PriceKey = tuple[str, str, str]  # model, mode, duration ("*": any)


@dataclass(frozen=True)
class Pack:
    credits: int
    stars: int

    @property
    def payload(self) -> str:
        """The invoice payload: the pack as sold, so a payment credits what was paid for even
        if the operator changed the packs meanwhile."""
        return f"pack:{self.credits}:{self.stars}"

    @staticmethod
    def from_payload(payload: str) -> Pack | None:
        match = _PAYLOAD.match(payload or "")
        if not match:
            return None
        credits, stars = int(match.group(1)), int(match.group(2))
        return Pack(credits, stars) if 0 < credits <= MAX_CREDITS and stars > 0 else None


def parse_prices(text: str) -> dict[PriceKey, int]:
    """`DEFAULT_PRICES` with the operator's rules over it; ValueError names a bad rule."""
    table: dict[PriceKey, int] = {}
    for source in (DEFAULT_PRICES, text):
        for rule in filter(None, (part.strip() for part in source.split(","))):
            match = _RULE.match(rule)
            if not match:
                raise ValueError(f"{rule!r}: write model:mode:duration=credits (* for any)")
            model, mode, duration, credits = match.groups()
            if int(credits) > MAX_CREDITS:
                raise ValueError(f"{rule!r}: at most {MAX_CREDITS} credits")
            table[(model.lower(), mode.lower(), duration)] = int(credits)
    return table


def parse_packs(text: str) -> tuple[Pack, ...]:
    """`credits:stars,...`; ValueError names a bad pack."""
    packs: list[Pack] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _PACK.match(part)
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            raise ValueError(f"{part!r}: write credits:stars, both whole numbers above 0")
        pack = Pack(int(match.group(1)), int(match.group(2)))
        if pack.credits > MAX_CREDITS:
            raise ValueError(f"{part!r}: at most {MAX_CREDITS} credits")
        if pack not in packs:
            packs.append(pack)
    if not packs:
        raise ValueError("no pack: write e.g. 100:50,500:200")
    return tuple(packs)


def price_in(table: Mapping[PriceKey, int], model: str, mode: str, duration: int) -> int:
    """The most specific rule matching the video (0 if none does): one naming the model beats
    any that does not, then one naming the mode, then the duration; among equals, the
    operator's (later) rule."""
    best: tuple[int, int] | None = None
    for (m, o, d), credits in table.items():
        if m in ("*", model) and o in ("*", mode) and d in ("*", str(duration)):
            named = 4 * (m != "*") + 2 * (o != "*") + (d != "*")
            if best is None or named >= best[0]:
                best = (named, credits)
    return best[1] if best else 0


@dataclass(frozen=True)
class BillingPolicy:
    enabled: bool = False
    prices: Mapping[PriceKey, int] | None = None
    packs: tuple[Pack, ...] = ()
    welcome: int = 0
    daily: int = 0
    bill_admins: bool = False
    admin_ids: frozenset[int] = frozenset()


#: Refunds a Stars payment at Telegram: (user id, charge id). Raises on refusal.
RefundCall = Callable[[int, str], Awaitable[Any]]


class Billing:
    """The money rules over the store; handlers translate updates into these calls."""

    def __init__(self, store: JobStore, policy: BillingPolicy) -> None:
        self._store = store
        self._policy = policy
        self._prices = policy.prices if policy.prices is not None else parse_prices("")

    @property
    def enabled(self) -> bool:
        return self._policy.enabled

    @property
    def packs(self) -> tuple[Pack, ...]:
        return self._policy.packs if self.enabled else ()

    def price_for(self, user_id: int, params: Mapping[str, Any], caps: Capabilities) -> int:
        """The video's price for this user: 0 with billing off, and for admins unless
        `BILL_ADMINS`. Options left out cost what the provider makes of them."""
        if not self.enabled:
            return 0
        if user_id in self._policy.admin_ids and not self._policy.bill_admins:
            return 0
        model = str(params.get("model") or caps.default_model)
        mode = str(params.get("mode") or caps.default_mode)
        duration = int(params.get("duration") or caps.default_duration)
        return price_in(self._prices, model.lower(), mode.lower(), duration)

    async def prepare(self, user_id: int) -> Balance:
        """The user's balance, their account made (with the welcome credits) if new, and the
        day's free credits added."""
        await self._store.open_account(
            user_id, welcome=self._policy.welcome, daily=self._policy.daily
        )
        return await self._store.credit_balance(user_id)

    def pack(self, credits: int, stars: int) -> Pack | None:
        """The pack if it is on sale now."""
        wanted = Pack(credits, stars)
        return wanted if wanted in self.packs else None

    def checkout_refusal(self, payload: str, currency: str, total: int, lang: str) -> str | None:
        """Why a pre-checkout query must be refused (in the payer's language), or None."""
        m = messages(lang).credits
        pack = Pack.from_payload(payload)
        if not self.enabled:
            return m["checkout_off"]
        if pack is None or pack not in self.packs:
            return m["checkout_gone"]
        if currency != CURRENCY or total != pack.stars:
            return m["checkout_gone"]
        return None

    async def paid(
        self, user_id: int, payload: str, currency: str, total: int, charge_id: str
    ) -> tuple[bool, Pack | None]:
        """Credit a successful payment once: (credited now, the pack). A payment that does
        not match its payload is logged and left for /paysupport (never guessed at)."""
        pack = Pack.from_payload(payload)
        if pack is None or currency != CURRENCY or total != pack.stars or not charge_id:
            log.error("payment %s: does not match its invoice (%s %s)", charge_id, total, currency)
            return False, None
        credited = await self._store.credit_purchase(user_id, pack.credits, pack.stars, charge_id)
        if not credited:
            log.warning("payment %s: reported again; credited once", charge_id)
        return credited, pack

    async def grant(self, admin_id: int, argument: str, key: str) -> str:
        """`/grant <user id> <credits> [why]` (negative credits take them back); the words
        after the numbers are kept in the ledger as its reason."""
        parts = argument.split(maxsplit=2)
        note = parts.pop()[:NOTE_LIMIT] if len(parts) == 3 else None
        if (
            len(parts) != 2
            or not re.fullmatch(r"[1-9][0-9]{0,15}", parts[0])  # a user, never a group
            or not re.fullmatch(r"-?[0-9]{1,9}", parts[1])
        ):
            return "Use /grant <numeric user id> <credits> [why] (negative to take credits back)."
        user_id, amount = int(parts[0]), int(parts[1])
        if amount == 0 or abs(amount) > MAX_CREDITS:
            return f"Credits must be between 1 and {MAX_CREDITS} (or minus that)."
        done = await self._store.grant_credits(user_id, amount, key, admin_id, note)
        if done is None:
            have = (await self._store.credit_balance(user_id)).available
            return f"User {user_id} has only {have} credits available; nothing taken."
        have = (await self._store.credit_balance(user_id)).available
        if not done:
            return f"Already done. User {user_id} has {have} credits."
        return f"Done: {amount:+d} credits for user {user_id}, who now has {have}."

    async def refund(self, admin_id: int, charge_id: str, refund_stars: RefundCall) -> str:
        """`/refund <charge id>`: take the payment's credits back, then refund its Stars at
        Telegram; refused, with the reason, when the credits are spent (or it was refunded).
        If Telegram refuses, the credits are given back."""
        charge_id = charge_id.strip()
        if not charge_id or len(charge_id) > 200 or not charge_id.isprintable():
            return "Use /refund <telegram payment charge id> (the user's receipt shows it)."
        outcome, bought, number = await self._store.take_back_purchase(charge_id, admin_id)
        if outcome == "unknown" or bought is None:
            return f"No payment {charge_id} was credited by this bot."
        if outcome == "refunded":
            return f"Payment {charge_id} was refunded already."
        if outcome == "spent":
            return (
                f"Refused: payment {charge_id} bought {bought.credits} credits but user"
                f" {bought.user_id} has only {number} left unspent, so the Stars cannot be"
                " returned without giving away videos. Use /grant to settle it another way."
            )
        try:
            await refund_stars(bought.user_id, charge_id)
        except Exception as exc:
            await self._store.undo_take_back(bought, number, admin_id)
            log.warning("payment %s: Telegram refused the refund: %s", charge_id, exc)
            return f"Telegram refused the refund ({exc}); the {bought.credits} credits are back."
        log.info("payment %s: refunded %d Stars to %s", charge_id, bought.stars, bought.user_id)
        return (
            f"Refunded {bought.stars} Stars to user {bought.user_id};"
            f" {bought.credits} credits taken back."
        )

    async def stats_lines(self, since: float) -> list[str]:
        """`/stats`: Stars received, credits charged and refunded, by day."""
        rows = await self._store.credit_stats(since)
        if not rows:
            return []
        days: dict[str, dict[str, tuple[int, int]]] = {}
        for day, kind, amount, stars in rows:
            days.setdefault(day, {})[kind] = (amount, stars)
        lines = ["Credits (UTC):"]
        for day, kinds in days.items():
            received = kinds.get("purchase", (0, 0))[1]
            refunded = kinds.get("refund", (0, 0))[1] - kinds.get("unrefund", (0, 0))[1]
            charged = kinds.get("charge", (0, 0))[0]
            back = kinds.get("refund", (0, 0))[0] - kinds.get("unrefund", (0, 0))[0]
            lines.append(
                f"{day}: {received} Stars received, {refunded} refunded;"
                f" {charged} credits charged, {back} taken back by refunds"
            )
        return lines

"""Credits in the job store: accounts and their append-only ledger (see `bot.billing`).

Every change of an account is one ledger row written in the same transaction, with the two
deltas it made (`available`, `reserved`), so the ledger summed per user is the account. Each
row has a unique `key` naming the operation, and is written with ON CONFLICT DO NOTHING
before the account is touched: an operation repeated (a payment reported twice, a job
settled by two replicas) finds its key taken and changes nothing. The account's CHECK
constraints make a balance below zero an error, and every debit is a conditional UPDATE
(`available >= n`), which PostgreSQL runs under the row's lock, so concurrent requests on any
number of replicas can never overdraw it.

Job keys: `reserve:<job>` when the job is created, `settle:<job>` for its charge (delivered)
or its release (failed or cancelled), one or the other, once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.store.driver import Driver

#: Ledger kinds that add credits to an account.
INCOMING = ("purchase", "grant", "welcome", "daily")


class NotEnough(Exception):
    """A debit the account cannot cover: the transaction is rolled back."""


@dataclass(frozen=True)
class Balance:
    available: int
    reserved: int


@dataclass(frozen=True)
class Entry:
    """One ledger row, as `/balance` shows it."""

    kind: str
    available_delta: int
    reserved_delta: int
    job_id: int | None
    created_at: float


@dataclass(frozen=True)
class Purchase:
    """A credited Stars payment."""

    user_id: int
    credits: int
    stars: int
    charge_id: str


#: What `take_back_purchase` found: done (credits taken back, the refund may go ahead), no such
#: payment, already refunded, or spent (the user holds fewer credits than it bought).
RefundOutcome = tuple[str, Purchase | None, int]


async def open_account(db: Driver, user_id: int, welcome: int) -> bool:
    """Make the user's account if there is none, with `welcome` credits; True if made."""
    made = await db.execute(
        "INSERT INTO credit_accounts (user_id, available, reserved, created_at)"
        " VALUES (?, 0, 0, ?) ON CONFLICT (user_id) DO NOTHING",
        user_id,
        time.time(),
    )
    if made and welcome > 0:
        await credit(db, user_id, "welcome", welcome, f"welcome:{user_id}")
    return bool(made)


async def credit(
    db: Driver,
    user_id: int,
    kind: str,
    amount: int,
    key: str,
    *,
    job_id: int | None = None,
    payment_id: str | None = None,
    stars: int = 0,
    actor_id: int | None = None,
    reserved: int = 0,
    note: str | None = None,
) -> bool:
    """Append the ledger row `key` and apply its deltas (`amount` to available, `reserved`
    to reserved); `note`: an operator's words on why. False, changing nothing, if `key` was
    done before. A debit the account
    cannot cover raises `NotEnough` (the caller's transaction must then roll back)."""
    added = await db.execute(
        "INSERT INTO credit_ledger (user_id, kind, available_delta, reserved_delta, key,"
        " job_id, payment_id, stars, actor_id, note, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        user_id,
        kind,
        amount,
        reserved,
        key,
        job_id,
        payment_id,
        stars,
        actor_id,
        note,
        time.time(),
    )
    if not added:
        return False
    changed = await db.execute(
        "UPDATE credit_accounts SET available = available + ?, reserved = reserved + ?"
        " WHERE user_id = ? AND available + ? >= 0 AND reserved + ? >= 0",
        amount,
        reserved,
        user_id,
        amount,
        reserved,
    )
    if changed != 1:
        raise NotEnough(key)
    return True


async def reserve(db: Driver, user_id: int, job_id: int, price: int) -> None:
    """Move the job's price from available to reserved, or raise `NotEnough`."""
    await credit(db, user_id, "reserve", -price, f"reserve:{job_id}", job_id=job_id, reserved=price)


async def settle(db: Driver, job_id: int, *, charge: bool) -> None:
    """End the job's reservation, if it has one: spent (`charge`) or back to available."""
    row = await db.fetchrow(
        "SELECT user_id, reserved_delta FROM credit_ledger WHERE key = ?", f"reserve:{job_id}"
    )
    if row is None:
        return
    user_id, amount = int(row[0]), int(row[1])
    await credit(
        db,
        user_id,
        "charge" if charge else "release",
        0 if charge else amount,
        f"settle:{job_id}",
        job_id=job_id,
        reserved=-amount,
    )


async def balance(db: Driver, user_id: int) -> Balance:
    row = await db.fetchrow(
        "SELECT available, reserved FROM credit_accounts WHERE user_id = ?", user_id
    )
    return Balance(int(row[0]), int(row[1])) if row is not None else Balance(0, 0)


async def entries(db: Driver, user_id: int, limit: int) -> list[Entry]:
    rows = await db.fetch(
        "SELECT kind, available_delta, reserved_delta, job_id, created_at FROM credit_ledger"
        " WHERE user_id = ? ORDER BY id DESC LIMIT ?",
        user_id,
        limit,
    )
    return [Entry(str(r[0]), int(r[1]), int(r[2]), r[3], float(r[4])) for r in rows]


async def purchase(db: Driver, charge_id: str) -> Purchase | None:
    row = await db.fetchrow(
        "SELECT user_id, available_delta, stars FROM credit_ledger WHERE key = ?",
        f"purchase:{charge_id}",
    )
    if row is None:
        return None
    return Purchase(int(row[0]), int(row[1]), int(row[2]), charge_id)


async def take_back_purchase(db: Driver, charge_id: str, actor_id: int) -> RefundOutcome:
    """In the caller's transaction: take a purchase's credits back for its refund. Returns
    ("done", purchase, attempt), the attempt number being what `undo_take_back` needs if
    Telegram then refuses, or ("unknown" | "refunded", purchase or None, 0); raises
    `NotEnough` when the credits are spent (the transaction must roll back)."""
    bought = await purchase(db, charge_id)
    if bought is None:
        return "unknown", None, 0
    attempts = await db.fetch(
        "SELECT kind FROM credit_ledger WHERE payment_id = ? AND kind IN ('refund', 'unrefund')",
        charge_id,
    )
    taken = sum(1 for r in attempts if r[0] == "refund")
    if taken > sum(1 for r in attempts if r[0] == "unrefund"):
        return "refunded", bought, 0
    done = await credit(  # NotEnough: spent; the caller rolls back and says so
        db,
        bought.user_id,
        "refund",
        -bought.credits,
        f"refund:{charge_id}:{taken}",
        payment_id=charge_id,
        stars=bought.stars,
        actor_id=actor_id,
    )
    return ("done" if done else "refunded"), bought, taken


async def undo_take_back(db: Driver, bought: Purchase, attempt: int, actor_id: int) -> None:
    """Telegram refused the refund: the credits taken back for it are the user's again."""
    await credit(
        db,
        bought.user_id,
        "unrefund",
        bought.credits,
        f"unrefund:{bought.charge_id}:{attempt}",
        payment_id=bought.charge_id,
        stars=bought.stars,
        actor_id=actor_id,
    )


async def totals(db: Driver) -> dict[str, tuple[int, int]]:
    """(credits, stars) moved by each ledger kind, all time: `/metrics`."""
    rows = await db.fetch(
        "SELECT kind, SUM(available_delta + reserved_delta), SUM(reserved_delta), SUM(stars)"
        " FROM credit_ledger GROUP BY kind"
    )
    out: dict[str, tuple[int, int]] = {}
    for row in rows:
        kind, both, reserved, stars = row[0], row[1], row[2], row[3]
        # A charge moves credits out of `reserved` only; a release and a reservation move them
        # between the two, so their size is the reserved side.
        amount = abs(int(reserved)) if kind in ("charge", "release", "reserve") else abs(int(both))
        out[str(kind)] = (amount, int(stars or 0))
    return out


async def by_day(db: Driver, day: str, since: float) -> list[tuple[str, str, int, int]]:
    """(day, kind, credits, stars) since `since`, newest day first: `/stats`."""
    rows = await db.fetch(
        f"SELECT {day} AS day, kind, SUM(available_delta), SUM(reserved_delta), SUM(stars)"  # noqa: S608 - fixed SQL fragments only
        " FROM credit_ledger WHERE created_at >= ? AND kind IN ('purchase', 'charge', 'refund',"
        " 'unrefund', 'grant') GROUP BY day, kind ORDER BY day DESC, kind",
        since,
    )
    result = []
    for r in rows:
        amount = abs(int(r[3])) if r[1] == "charge" else abs(int(r[2]))
        result.append((str(r[0]), str(r[1]), amount, int(r[4] or 0)))
    return result


async def audit(db: Driver, finished: frozenset[str]) -> list[str]:
    """Every way the ledger and the accounts disagree (empty when they agree):

    - an account is not the sum of its ledger rows (or ledger rows have no account);
    - a job with a price has no reservation, or a reservation of another amount;
    - a finished job's reservation is not settled, or an unfinished one's is;
    - a delivered job was released, or a failed or cancelled one charged.
    """
    problems: list[str] = []
    sums = await db.fetch(
        "SELECT a.user_id, a.available, a.reserved, COALESCE(SUM(l.available_delta), 0),"
        " COALESCE(SUM(l.reserved_delta), 0) FROM credit_accounts a"
        " LEFT JOIN credit_ledger l ON l.user_id = a.user_id"
        " GROUP BY a.user_id, a.available, a.reserved"
    )
    for row in sums:
        user_id, available, reserved = row[0], int(row[1]), int(row[2])
        ledger_available, ledger_reserved = int(row[3]), int(row[4])
        if (available, reserved) != (ledger_available, ledger_reserved):
            problems.append(
                f"user {user_id}: account {available}/{reserved},"
                f" ledger {ledger_available}/{ledger_reserved}"
            )
    orphans = await db.fetch(
        "SELECT DISTINCT user_id FROM credit_ledger l WHERE NOT EXISTS"
        " (SELECT 1 FROM credit_accounts a WHERE a.user_id = l.user_id)"
    )
    problems += [f"user {r[0]}: ledger rows without an account" for r in orphans]
    jobs = await db.fetch(
        "SELECT j.id, j.state, j.price, r.reserved_delta, s.kind FROM jobs j"
        " LEFT JOIN credit_ledger r ON r.key = 'reserve:' || CAST(j.id AS TEXT)"
        " LEFT JOIN credit_ledger s ON s.key = 'settle:' || CAST(j.id AS TEXT)"
        " WHERE j.price > 0 OR r.id IS NOT NULL OR s.id IS NOT NULL"
    )
    for r in jobs:
        problems += _job_problems(int(r[0]), str(r[1]), int(r[2]), r[3], r[4], finished)
    return problems


def _job_problems(
    job_id: int, state: str, price: int, reserved: Any, settled: Any, finished: frozenset[str]
) -> list[str]:
    if reserved is None or int(reserved) != price:
        return [f"job {job_id}: price {price}, reservation {reserved}"]
    if state not in finished:
        return [f"job {job_id}: {state} but settled ({settled})"] if settled else []
    expected = "charge" if state == "delivered" else "release"
    if settled != expected:
        return [f"job {job_id}: {state} but its reservation is {settled or 'open'}"]
    return []

"""The credit ledger in the store (SQLite and PostgreSQL): reservations made with the job,
settled with its last transition, payments credited once, refunds only of unspent credits,
never a negative balance; after every test the ledger sums to the accounts (`audit_credits`).
"""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from bot.billing import Billing, BillingPolicy, Pack, parse_packs, parse_prices, price_in
from bot.jobs import JobKind, JobState, NewJob, Quota, Requester
from bot.providers.base import Capabilities
from bot.store import SqliteStore, credits
from tests.stores import open_store

NO_LIMIT = Quota(max_open=1000, max_recent=1000, since=0.0)


def priced(user_id=1, price=10, chat_id=None):
    return NewJob(
        requester=Requester(user_id=user_id, chat_id=chat_id or user_id, message_id=10),
        kind=JobKind.TEXT,
        prompt="a fox",
        provider="sandbox",
        price=price,
    )


@pytest.fixture(params=("sqlite", "postgres"))
async def ledger(request, tmp_path):
    """A store whose ledger must agree with its accounts and jobs when the test ends."""
    async with open_store(request.param, tmp_path) as store:
        yield store
        assert await store.audit_credits() == []


async def funded(store, user_id=1, amount=30):
    await store.open_account(user_id)
    assert await store.grant_credits(user_id, amount, f"grant:test:{user_id}:{amount}", 99)


async def test_a_job_reserves_its_price_in_the_transaction_that_creates_it(ledger):
    await funded(ledger, amount=25)
    job = await ledger.create_job_within(priced(price=10), NO_LIMIT)
    assert job is not None and job.price == 10
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (15, 10)
    assert (await ledger.get_job(job.id)).price == 10


async def test_not_enough_credits_makes_no_job(ledger):
    await funded(ledger, amount=5)
    assert await ledger.create_job_within(priced(price=10), NO_LIMIT) is None
    assert await ledger.recent_jobs(1) == []  # the insert was rolled back with the reservation
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (5, 0)


async def test_a_user_without_an_account_gets_no_priced_job(ledger):
    assert await ledger.create_job_within(priced(user_id=7), None) is None
    assert await ledger.recent_jobs(7) == []


async def test_delivery_charges_once(ledger):
    await funded(ledger)
    job = await ledger.create_job_within(priced(), NO_LIMIT)
    await ledger.transition(job.id, JobState.SUCCEEDED, result_url="https://x/v.mp4")
    assert await ledger.transition(job.id, JobState.DELIVERED) is not None
    assert await ledger.transition(job.id, JobState.DELIVERED) is None  # a repeat changes nothing
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (20, 0)
    kinds = [e.kind for e in await ledger.credit_entries(1, 10)]
    assert kinds.count("charge") == 1 and "release" not in kinds


@pytest.mark.parametrize("end", [JobState.FAILED, JobState.CANCELLED])
@pytest.mark.parametrize("after", [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED])
async def test_failed_or_cancelled_jobs_release_their_credits(ledger, end, after):
    await funded(ledger)
    job = await ledger.create_job_within(priced(), NO_LIMIT)
    if after is not JobState.QUEUED:
        await ledger.transition(job.id, JobState.RUNNING, progress=10)
    if after is JobState.SUCCEEDED:
        await ledger.transition(job.id, JobState.SUCCEEDED, result_url="https://x/v.mp4")
    assert await ledger.transition(job.id, end) is not None
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (30, 0)
    # Nothing can turn the released job into a charged one afterwards.
    assert await ledger.transition(job.id, JobState.DELIVERED) is None
    assert (await ledger.credit_balance(1)).available == 30


async def test_concurrent_finishes_settle_once(ledger):
    await funded(ledger)
    job = await ledger.create_job_within(priced(), NO_LIMIT)
    await ledger.transition(job.id, JobState.SUCCEEDED, result_url="https://x/v.mp4")
    await asyncio.gather(
        *(ledger.transition(job.id, JobState.DELIVERED) for _ in range(5)),
        *(ledger.transition(job.id, JobState.FAILED) for _ in range(5)),
    )
    kinds = [e.kind for e in await ledger.credit_entries(1, 20)]
    assert kinds.count("charge") + kinds.count("release") == 1


async def test_twenty_concurrent_requests_against_three_videos_make_three_jobs(ledger):
    await funded(ledger, amount=30)
    created = await asyncio.gather(
        *(ledger.create_job_within(priced(price=10), NO_LIMIT) for _ in range(20))
    )
    assert sum(job is not None for job in created) == 3
    assert len(await ledger.recent_jobs(1, 50)) == 3
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (0, 30)


async def test_concurrent_requests_across_two_connections_never_overdraw(ledger, tmp_path):
    """Two stores on one database: two replicas (PostgreSQL) or a second process's handle
    (SQLite); the balance still covers exactly three videos."""
    await funded(ledger, amount=30)
    if isinstance(ledger, SqliteStore):
        other = await SqliteStore.open(tmp_path / "bot.db")
    else:
        other = type(ledger)(ledger._db._target)  # a second store on the same pool
    try:
        created = await asyncio.gather(
            *(
                (ledger if i % 2 else other).create_job_within(priced(price=10), NO_LIMIT)
                for i in range(20)
            )
        )
    finally:
        if isinstance(other, SqliteStore):
            await other.close()
    assert sum(job is not None for job in created) == 3


async def test_a_payment_is_credited_once(ledger):
    assert await ledger.credit_purchase(1, 100, 50, "charge-1")
    assert not await ledger.credit_purchase(1, 100, 50, "charge-1")
    results = await asyncio.gather(
        *(ledger.credit_purchase(1, 100, 50, "charge-2") for _ in range(5))
    )
    assert sum(results) == 1
    assert (await ledger.credit_balance(1)).available == 200


async def test_welcome_credits_once_and_daily_top_up_once_a_day(ledger):
    await ledger.open_account(5, welcome=20)
    await ledger.open_account(5, welcome=20)
    assert (await ledger.credit_balance(5)).available == 20
    await ledger.open_account(6, daily=15)
    job = await ledger.create_job_within(priced(user_id=6, price=10), NO_LIMIT)
    assert job is not None
    await ledger.open_account(6, daily=15)  # the same day: no second top-up
    assert (await ledger.credit_balance(6)).available == 5


async def test_refund_takes_back_unspent_credits_once(ledger):
    await ledger.credit_purchase(1, 100, 50, "charge-1")
    outcome, bought, attempt = await ledger.take_back_purchase("charge-1", 99)
    assert outcome == "done" and bought.credits == 100 and attempt == 0
    assert (await ledger.take_back_purchase("charge-1", 99))[0] == "refunded"
    assert (await ledger.credit_balance(1)).available == 0
    assert (await ledger.take_back_purchase("nope", 99))[0] == "unknown"


async def test_refund_of_spent_credits_is_refused(ledger):
    await ledger.credit_purchase(1, 10, 5, "charge-1")
    job = await ledger.create_job_within(priced(price=10), NO_LIMIT)
    assert job is not None
    outcome, _, available = await ledger.take_back_purchase("charge-1", 99)
    assert (outcome, available) == ("spent", 0)
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (0, 10)  # untouched


async def test_a_refund_telegram_refused_gives_the_credits_back_and_may_be_tried_again(ledger):
    await ledger.credit_purchase(1, 100, 50, "charge-1")
    outcome, bought, attempt = await ledger.take_back_purchase("charge-1", 99)
    await ledger.undo_take_back(bought, attempt, 99)
    assert (await ledger.credit_balance(1)).available == 100
    outcome, _, attempt = await ledger.take_back_purchase("charge-1", 99)
    assert (outcome, attempt) == ("done", 1)


async def test_grants_are_once_per_key_and_never_overdraw(ledger):
    await ledger.open_account(1)
    assert await ledger.grant_credits(1, 10, "grant:a", 99) is True
    assert await ledger.grant_credits(1, 10, "grant:a", 99) is False
    assert await ledger.grant_credits(1, -20, "grant:b", 99) is None
    assert await ledger.grant_credits(1, -4, "grant:c", 99) is True
    assert (await ledger.credit_balance(1)).available == 6


async def test_grant_takes_real_user_ids_and_refuses_groups_and_garbage(ledger):
    billing = Billing(ledger, BillingPolicy(enabled=True))
    answer = await billing.grant(99, "7123456789 15", "grant:chat:1")
    assert "now has 15" in answer
    assert "now has 15" not in await billing.grant(99, "7123456789 15", "grant:chat:1")
    assert "now has 20" in await billing.grant(99, "7123456789 5 sorry for the outage", "g:3")
    note = await ledger._db.fetchval("SELECT note FROM credit_ledger WHERE key = 'g:3'")
    assert note == "sorry for the outage"
    for bad in ("-100123 5", "1 x 3", "abc 5", "5", "0 5", "5 0", "5 99999999"):
        answer = await billing.grant(99, bad, f"grant:x:{bad}")
        assert answer.startswith(("Use /grant", "Credits must be")), bad
    assert "only 20" in await billing.grant(99, "7123456789 -21", "grant:chat:2")


async def test_free_jobs_touch_no_ledger(ledger):
    job = await ledger.create_job(priced(price=0))
    await ledger.transition(job.id, JobState.FAILED)
    assert await ledger.credit_entries(1) == []


async def test_a_failure_inside_the_finishing_transaction_leaves_state_and_ledger_as_before(
    ledger, monkeypatch
):
    """The store-level equivalent of a crash between recording the delivery and charging:
    both are one transaction, so neither happens without the other."""
    await funded(ledger)
    job = await ledger.create_job_within(priced(), NO_LIMIT)
    await ledger.transition(job.id, JobState.SUCCEEDED, result_url="https://x/v.mp4")

    async def crash(*args, **kwargs):
        raise ConnectionError("killed mid-transaction")

    with monkeypatch.context() as patch:
        patch.setattr(credits, "settle", crash)
        with pytest.raises(ConnectionError):
            await ledger.transition(job.id, JobState.DELIVERED)
    assert (await ledger.get_job(job.id)).state is JobState.SUCCEEDED  # rolled back
    assert (await ledger.credit_balance(1)).reserved == 10
    assert await ledger.audit_credits() == []
    assert await ledger.transition(job.id, JobState.DELIVERED) is not None  # the retry
    balance = await ledger.credit_balance(1)
    assert (balance.available, balance.reserved) == (20, 10 - 10)


async def test_a_failure_inside_the_creating_transaction_leaves_no_job(ledger, monkeypatch):
    await funded(ledger)

    async def crash(*args, **kwargs):
        raise ConnectionError("killed mid-transaction")

    with monkeypatch.context() as patch:
        patch.setattr(credits, "reserve", crash)
        with pytest.raises(ConnectionError):
            await ledger.create_job_within(priced(), NO_LIMIT)
    assert await ledger.recent_jobs(1) == []
    assert (await ledger.credit_balance(1)).available == 30


async def test_the_audit_finds_a_ledger_that_disagrees(ledger):
    """The check every money test ends with can fail: an account changed behind the ledger's
    back, and a finished job whose reservation was never settled."""
    await funded(ledger)
    job = await ledger.create_job_within(priced(), NO_LIMIT)
    await ledger._db.execute("UPDATE credit_accounts SET available = available + 1")
    await ledger._db.execute("UPDATE jobs SET state = 'failed' WHERE id = ?", job.id)
    problems = await ledger.audit_credits()
    assert any("account" in p for p in problems) and any(f"job {job.id}" in p for p in problems)
    await ledger._db.execute("UPDATE credit_accounts SET available = available - 1")
    await ledger._db.execute("UPDATE jobs SET state = 'queued' WHERE id = ?", job.id)


async def test_the_ledger_is_append_only(ledger):
    await funded(ledger)
    for statement in (
        "UPDATE credit_ledger SET available_delta = 1000",
        "DELETE FROM credit_ledger",
    ):
        with pytest.raises(Exception, match="append-only"):
            await ledger._db.execute(statement)
    assert (await ledger.credit_balance(1)).available == 30


async def test_stats_and_totals(ledger):
    await ledger.credit_purchase(1, 100, 50, "charge-1")
    job = await ledger.create_job_within(priced(price=10), NO_LIMIT)
    await ledger.transition(job.id, JobState.SUCCEEDED, result_url="https://x/v.mp4")
    await ledger.transition(job.id, JobState.DELIVERED)
    totals = await ledger.credit_totals()
    assert totals["purchase"] == (100, 50) and totals["charge"] == (10, 0)
    kinds = {kind: (amount, stars) for _, kind, amount, stars in await ledger.credit_stats(0)}
    assert kinds["purchase"] == (100, 50) and kinds["charge"] == (10, 0)


# --- a real crash: SIGKILL with a reservation made and nothing submitted ----------------------


CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from bot.jobs import JobKind, NewJob, Quota, Requester
    from bot.store import SqliteStore

    async def main():
        store = await SqliteStore.open(sys.argv[1])
        await store.open_account(1)
        await store.grant_credits(1, 30, "grant:crash", 99)
        new = NewJob(Requester(1, 1, 10), JobKind.TEXT, "a fox", "sandbox", price=10)
        job = await store.create_job_within(new, Quota(10, 10, 0.0))
        print(job.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # reserved, never submitted

    asyncio.run(main())
    """
)


async def test_sigkill_after_the_reservation_leaves_a_consistent_ledger_and_a_job_to_submit(
    tmp_path,
):
    path = tmp_path / "bot.db"
    child = subprocess.run(  # noqa: ASYNC221 - a short child process, killed by itself
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    job_id = int(child.stdout.split()[0])
    store = await SqliteStore.open(path)
    try:
        assert await store.audit_credits() == []
        assert [job.id for job in await store.jobs_to_submit(created_before=1e12)] == [job_id]
        assert (await store.credit_balance(1)).reserved == 10
        await store.transition(job_id, JobState.FAILED)
        assert (await store.credit_balance(1)).available == 30
        assert await store.audit_credits() == []
    finally:
        await store.close()


# --- prices and packs ------------------------------------------------------------------------


def test_the_most_specific_price_rule_wins():
    table = parse_prices("kling-v2-master:pro:10=90, kling-v2-master:*:*=50")
    assert price_in(table, "kling-v2-master", "pro", 10) == 90
    assert price_in(table, "kling-v2-master", "std", 5) == 50
    assert price_in(table, "kling-v1", "pro", 10) == 40
    assert price_in(table, "kling-v1", "std", 5) == 10
    assert price_in(table, "kling-v1", "weird", 7) == 40  # the catch-all default


def test_default_prices_cover_every_length_a_model_makes_by_the_second():
    table = parse_prices("")
    assert [price_in(table, "kling-v1", mode, n) for mode in ("std", "pro") for n in (5, 10)] == [
        10,
        20,
        20,
        40,
    ]  # as before kling-v3
    assert price_in(table, "kling-v3", "std", 3) == 6
    assert price_in(table, "kling-v3", "std", 12) == 24
    assert price_in(table, "kling-v3", "pro", 15) == 60


@pytest.mark.parametrize("bad", ["x", "a:b:c=1", "*:std:5=-1", "*:std:5=99999999"])
def test_bad_price_rules_are_refused_with_the_rule(bad):
    with pytest.raises(ValueError, match="credits"):
        parse_prices(bad)


@pytest.mark.parametrize("bad", ["", "100", "0:5", "5:0", "a:b"])
def test_bad_packs_are_refused(bad):
    with pytest.raises(ValueError):
        parse_packs(bad)


def test_prices_follow_the_providers_defaults_and_admins_ride_free():
    policy = BillingPolicy(enabled=True, admin_ids=frozenset({42}))
    billing = Billing(None, policy)  # type: ignore[arg-type]
    caps = Capabilities(kinds=frozenset({JobKind.TEXT}), default_duration=10)
    assert billing.price_for(1, {}, caps) == 20  # std, 10 s by the provider's default
    assert billing.price_for(1, {"mode": "pro", "duration": 5}, caps) == 20
    assert billing.price_for(42, {}, caps) == 0
    assert Billing(None, BillingPolicy(enabled=False)).price_for(1, {}, caps) == 0  # type: ignore[arg-type]
    billed = Billing(None, BillingPolicy(enabled=True, bill_admins=True, admin_ids=frozenset({42})))  # type: ignore[arg-type]
    assert billed.price_for(42, {}, caps) == 20


def test_pre_checkout_checks_the_pack_its_price_and_the_currency():
    billing = Billing(None, BillingPolicy(enabled=True, packs=(Pack(100, 50),)))  # type: ignore[arg-type]
    assert billing.checkout_refusal("pack:100:50", "XTR", 50, "en") is None
    for payload, currency, total in [
        ("pack:100:50", "XTR", 49),  # not the pack's price
        ("pack:100:50", "USD", 50),
        ("pack:500:200", "XTR", 200),  # not on sale
        ("garbage", "XTR", 50),
    ]:
        assert "no longer offered" in str(billing.checkout_refusal(payload, currency, total, "en"))
    off = Billing(None, BillingPolicy(enabled=False, packs=(Pack(100, 50),)))  # type: ignore[arg-type]
    assert "not sold" in str(off.checkout_refusal("pack:100:50", "XTR", 50, "en"))


def test_the_price_reads_as_the_job_stands_in_the_readers_language():
    from dataclasses import replace

    from bot import texts
    from bot.jobs import Job

    job = Job(
        id=3,
        requester=Requester(1, 1, 10),
        kind=JobKind.TEXT,
        prompt="a fox",
        provider="sandbox",
        params={"lang": "ru"},
        input_file_ids=(),
        state=JobState.RUNNING,
        provider_task_id=None,
        status_message_id=None,
        progress=None,
        result_url=None,
        error=None,
        delivery_attempts=0,
        next_attempt_at=None,
        created_at=0.0,
        updated_at=0.0,
        price=10,
    )
    assert "спишется" in texts.status(job)
    assert (
        texts.price_line(replace(job, state=JobState.DELIVERED), "en") == "💳 Charged: 10 credits"
    )
    assert "back" in texts.price_line(replace(job, state=JobState.CANCELLED), "en")
    assert "Charged: 10" in texts.job_details(replace(job, state=JobState.DELIVERED), lang="en")
    assert "Списано кредитов: 10" in texts.caption(job)
    assert texts.price_line(replace(job, price=0)) == ""


def test_pack_payloads_round_trip_and_refuse_garbage():
    assert Pack.from_payload(Pack(100, 50).payload) == Pack(100, 50)
    for bad in ("", "pack:1", "pack:0:5", "pack:5:0", "pack:-1:5", "x:1:2", "pack:1:2:3"):
        assert Pack.from_payload(bad) is None

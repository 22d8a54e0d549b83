"""The fake's payments in Telegram Stars behave as the Bot API documents them, as seen by
python-telegram-bot: invoices in XTR, the pre-checkout query and its 10-second deadline, the
successful payment, refunds and the Stars transactions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot, LabeledPrice
from telegram.error import BadRequest

from tests.fakes.telegram import FakeTelegram

UID = 1001


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake
    assert fake.internal_errors == []


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=f"{tg.url}/bot") as client:
        yield client


@pytest.fixture
def alice(tg: FakeTelegram) -> dict[str, Any]:
    return tg.user(UID, "Alice")


async def invoice(bot: Bot, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "chat_id": UID,
        "title": "100 credits",
        "description": "Credits for videos",
        "payload": "pack:100:50",
        "currency": "XTR",
        "prices": [LabeledPrice("100 credits", 50)],
    }
    values.update(changes)
    return await bot.send_invoice(**values)


async def test_invoice_in_stars_is_a_message_with_its_invoice(tg, bot, alice):
    message = await invoice(bot)
    assert message.invoice is not None
    assert (message.invoice.currency, message.invoice.total_amount) == ("XTR", 50)
    assert tg.messages(UID)[-1]["invoice"]["title"] == "100 credits"


@pytest.mark.parametrize(
    "changes",
    [
        {"provider_token": "123:TEST"},  # Stars take no provider token
        {"prices": [LabeledPrice("a", 30), LabeledPrice("b", 20)]},  # exactly one price
        {"prices": [LabeledPrice("a", 0)]},
        {"title": ""},
        {"payload": "x" * 129},
        {"currency": "USD"},  # other currencies need a provider token
        {"max_tip_amount": 5},
    ],
)
async def test_bad_invoices_are_refused(tg, bot, alice, changes):
    with pytest.raises(BadRequest):
        await invoice(bot, **changes)


async def answer_next_checkout(bot: Bot, *, ok: bool, error: str | None = None) -> Any:
    updates = await bot.get_updates(timeout=5, allowed_updates=["message", "pre_checkout_query"])
    query = next(u.pre_checkout_query for u in updates if u.pre_checkout_query)
    await bot.answer_pre_checkout_query(query.id, ok=ok, error_message=error)
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return query


async def test_an_accepted_checkout_posts_the_successful_payment(tg, bot, alice):
    message = await invoice(bot)
    paying = asyncio.create_task(tg.pay(alice, message.to_dict()))
    query = await answer_next_checkout(bot, ok=True)
    assert (query.invoice_payload, query.currency, query.total_amount) == ("pack:100:50", "XTR", 50)
    paid = await paying
    assert paid is not None
    charge = paid["successful_payment"]["telegram_payment_charge_id"]
    updates = await bot.get_updates(timeout=5)
    payment = updates[0].message.successful_payment
    assert payment.telegram_payment_charge_id == charge and payment.total_amount == 50
    # Reported again: the same message, a new update.
    tg.resend_payment(charge)
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=5)
    assert again[0].message.successful_payment.telegram_payment_charge_id == charge
    transactions = await bot.get_star_transactions()
    assert [(t.id, t.amount) for t in transactions.transactions] == [(charge, 50)]


async def test_a_refused_checkout_takes_no_stars(tg, bot, alice):
    message = await invoice(bot)
    paying = asyncio.create_task(tg.pay(alice, message.to_dict()))
    await answer_next_checkout(bot, ok=False, error="Sold out")
    assert await paying is None
    assert tg.payments == {}
    with pytest.raises(BadRequest):  # ok=False needs its words
        await bot.answer_pre_checkout_query("1", ok=False)


async def test_an_answer_after_the_deadline_is_too_late(tg, bot, alice):
    message = await invoice(bot)
    assert await tg.pay(alice, message.to_dict(), deadline=0.05) is None
    updates = await bot.get_updates(timeout=0)
    query = updates[0].pre_checkout_query
    with pytest.raises(BadRequest, match="too old"):
        await bot.answer_pre_checkout_query(query.id, ok=True)
    assert tg.checkouts()[0].late and tg.payments == {}


async def test_a_payment_is_refunded_once(tg, bot, alice):
    message = await invoice(bot)
    paying = asyncio.create_task(tg.pay(alice, message.to_dict()))
    await answer_next_checkout(bot, ok=True)
    charge = (await paying)["successful_payment"]["telegram_payment_charge_id"]
    with pytest.raises(BadRequest, match=r"(?i)charge_not_found"):
        await bot.refund_star_payment(UID + 1, charge)  # not this user's payment
    assert await bot.refund_star_payment(UID, charge) is True
    with pytest.raises(BadRequest, match=r"(?i)charge_already_refunded"):
        await bot.refund_star_payment(UID, charge)
    transactions = (await bot.get_star_transactions()).transactions
    assert [(t.source is not None, t.receiver is not None) for t in transactions] == [
        (True, False),
        (False, True),
    ]

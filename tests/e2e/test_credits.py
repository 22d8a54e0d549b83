"""Credits and Telegram Stars end to end (`BILLING=stars`): buying a pack, a video charged
once on delivery, credits back for every video that does not arrive, no job without credits,
a payment reported twice credited once, a vanished pack refused at pre-checkout, refunds.

After every test the ledger must sum to the balances and agree with the jobs
(`audit_credits`, run by `ledger_agrees`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import JobState
from bot.store import PostgresStore, SqliteStore
from tests.e2e.conftest import ask_for_video
from tests.e2e.test_providers import kling_settings
from tests.fakes.telegram.calls import text_of
from tests.stores import postgres_schema

ADMIN = 4242
STARS = {"billing": "stars", "credit_packs": "100:50,500:200"}


@pytest.fixture(autouse=True)
async def ledger_agrees(tmp_path: Path) -> AsyncIterator[None]:
    """After the test (its bots stopped or not): the SQLite ledger sums to the balances."""
    yield
    path = tmp_path / "bot.db"
    if path.exists():
        store = await SqliteStore.open(path)
        try:
            assert await store.audit_credits() == []
        finally:
            await store.close()


async def balance_of(bot: Any, user_id: int) -> tuple[int, int]:
    have = await bot.parts.store.credit_balance(user_id)
    return have.available, have.reserved


def buttons(call: Any) -> list[dict[str, Any]]:
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


async def buy(telegram: Any, user: dict[str, Any], data: str = "buy:100:50") -> Any:
    """`/buy`, a pack's button, the invoice: the invoice's sendInvoice call."""
    telegram.send_text(user, "/buy")
    offer = await telegram.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == user["id"] and "pack" in text_of(c)
    )
    count = len(telegram.calls_to("sendInvoice"))
    telegram.press_button(user, offer.response["result"], data)
    return (await telegram.wait_for_count("sendInvoice", count + 1))[-1]


async def test_buying_a_pack_credits_it_once_and_balance_shows_it(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings(**STARS))
    menu = await telegram.wait_for("setMyCommands")
    names = {command["command"] for command in menu.params["commands"]}
    assert {"buy", "balance", "paysupport", "terms"} <= names  # Telegram asks sellers for these
    alice = telegram.user(1001)
    invoice = await buy(telegram, alice)
    assert invoice.params["currency"] == "XTR"
    assert not invoice.params.get("provider_token")
    assert [p["amount"] for p in invoice.params["prices"]] == [50]
    paid = await telegram.pay(alice, invoice.response["result"])
    assert paid is not None
    checkout = telegram.checkouts()[-1]
    assert checkout.answer["ok"] is True and not checkout.late
    thanks = await telegram.wait_for("sendMessage", lambda c: "added" in text_of(c))
    assert "100 credits added" in text_of(thanks) and "balance: 100" in text_of(thanks)
    assert await balance_of(bot, alice["id"]) == (100, 0)

    # Telegram reports the same payment again: credited once, no second "added".
    charge_id = paid["successful_payment"]["telegram_payment_charge_id"]
    telegram.resend_payment(charge_id)
    telegram.send_text(alice, "/balance")
    balance = await telegram.wait_for("sendMessage", lambda c: "Balance" in text_of(c))
    assert "Balance: 100 credits" in text_of(balance) and "+100 bought" in text_of(balance)
    assert await balance_of(bot, alice["id"]) == (100, 0)
    assert len([c for c in telegram.calls_to("sendMessage") if "added" in text_of(c)]) == 1
    # The Stars side agrees: one incoming transaction.
    transactions = await bot.parts.application.bot.get_star_transactions()
    assert [t.amount for t in transactions.transactions] == [50]


async def test_a_pre_checkout_is_answered_while_the_buyers_chat_is_busy(
    telegram, make_settings, start_bot
):
    """Telegram waits 10 s for the answer: the query does not queue behind the buyer's chat
    (here a video request whose status message hangs)."""
    bot = await start_bot(make_settings(**STARS, welcome_credits=10))
    alice = telegram.user(1001)
    invoice = await buy(telegram, alice)
    held = telegram.hold("sendMessage", chat_id=alice["id"])
    telegram.send_text(alice, "/video a fox")
    await asyncio.wait_for(held.arrived.wait(), 10)
    paid = await telegram.pay(alice, invoice.response["result"], deadline=5)
    assert paid is not None and not telegram.checkouts()[-1].late
    telegram.release("sendMessage")
    await telegram.wait_for("sendMessage", lambda c: "100 credits added" in text_of(c))
    await telegram.wait_for("editMessageText", lambda c: "Charged: 10" in text_of(c))
    assert await balance_of(bot, alice["id"]) == (100, 0)


async def test_a_pre_checkout_for_a_pack_no_longer_sold_is_refused(
    telegram, make_settings, start_bot
):
    first = await start_bot(make_settings(**STARS))
    alice = telegram.user(1001)
    invoice = await buy(telegram, alice)
    await first.stop()
    second = await start_bot(make_settings(billing="stars", credit_packs="500:200"))
    assert await telegram.pay(alice, invoice.response["result"]) is None
    checkout = telegram.checkouts()[-1]
    assert checkout.answer["ok"] is False and not checkout.late
    assert "no longer offered" in checkout.answer["error_message"]
    assert await balance_of(second, alice["id"]) == (0, 0)
    assert telegram.payments == {}


async def test_a_video_with_enough_credits_is_charged_once_on_delivery(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings(**STARS, welcome_credits=25))
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video a fox")
    status = await telegram.wait_for("sendMessage", lambda c: "Video #1" in text_of(c))
    assert "10 credits, charged when the video arrives" in text_of(status)
    video = await telegram.wait_for("sendVideo")
    assert "Charged: 10 credits" in text_of(video)
    await telegram.wait_for(
        "editMessageText", lambda c: "Done" in text_of(c) and "Charged: 10" in text_of(c)
    )
    assert await balance_of(bot, alice["id"]) == (15, 0)
    kinds = [e.kind for e in await bot.parts.store.credit_entries(alice["id"], 10)]
    assert kinds == ["charge", "reserve", "welcome"]
    telegram.send_text(alice, "/balance")
    balance = await telegram.wait_for("sendMessage", lambda c: "Balance" in text_of(c))
    assert text_of(balance).splitlines()[-3:] == [
        "10 charged for video #1",
        "−10 reserved for video #1",
        "+25 welcome gift",
    ]


async def test_not_enough_credits_makes_no_job_and_offers_to_buy(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=5))
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video a fox")
    refusal = await telegram.wait_for("sendMessage", lambda c: "costs" in text_of(c))
    assert "costs 10 credits and you have 5" in text_of(refusal)
    assert [b.get("callback_data") for b in buttons(refusal)] == ["buy"]
    assert await bot.parts.store.recent_jobs(alice["id"]) == []
    # The button opens the packs.
    telegram.press_button(alice, refusal.response["result"], "buy")
    offer = await telegram.wait_for("sendMessage", lambda c: "Choose a pack" in text_of(c))
    assert [b["callback_data"] for b in buttons(offer)] == ["buy:100:50", "buy:500:200"]
    # In a group the button is a link to the private chat, where invoices are sent.
    group = telegram.group(-100777)
    telegram.send_text(alice, "/video@kling_test_bot a fox", chat=group)
    refusal = await telegram.wait_for(
        "sendMessage", lambda c: c.params["chat_id"] == group["id"] and "costs" in text_of(c)
    )
    assert buttons(refusal)[0]["url"].endswith("?start=buy")
    # Prices and balances in the reader's language.
    boris = telegram.user(1003, "Boris", language_code="ru")
    telegram.send_text(boris, "/video лиса")
    refusal = await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == 1003)
    assert "Цена этого видео в кредитах: 10, а у вас: 5" in text_of(refusal)
    assert buttons(refusal)[0]["text"] == "Купить кредиты"
    assert apiframe.tasks == {}


async def test_a_failed_video_gives_the_credits_back(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30))
    task = await ask_for_video(telegram, apiframe, "/video a fox")
    alice = telegram.user(1001)
    assert await balance_of(bot, alice["id"]) == (20, 10)
    await apiframe.fail(task.task_id)
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in text_of(c))
    assert "Your 10 credits are back." in text_of(notice)
    assert await balance_of(bot, alice["id"]) == (30, 0)


async def test_a_submit_the_provider_refuses_gives_the_credits_back(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30))
    apiframe.fail_next("/kling-imagine", status=400)
    telegram.send_text(telegram.user(1001), "/video refused")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in text_of(c))
    assert "Your 10 credits are back." in text_of(notice)
    assert await balance_of(bot, 1001) == (30, 0)


async def test_a_submit_that_may_have_been_billed_but_never_shows_up_gives_the_credits_back(
    telegram, kling, make_settings, start_bot
):
    """The provider answered 500 and no task turns up within RECONCILE_TIMEOUT: the user is
    not charged for what the operator may have been."""
    settings = kling_settings(
        make_settings, kling, reconcile_timeout=0.5, welcome_credits=30, **STARS
    )
    bot = await start_bot(settings)
    kling.fail_next("/v1/videos/text2video", status=500)
    telegram.send_text(telegram.user(1001), "/video nothing came of it")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in text_of(c))
    assert "did not answer in time" in text_of(notice)
    assert "Your 10 credits are back." in text_of(notice)
    assert await balance_of(bot, 1001) == (30, 0)


async def test_a_cancelled_video_gives_the_credits_back(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30))
    task = await ask_for_video(telegram, apiframe, "/video a fox")
    alice = telegram.user(1001)
    telegram.send_text(alice, "/cancel")
    answer = await telegram.wait_for("sendMessage", lambda c: "cancelled" in text_of(c))
    assert "Your 10 credits are back." in text_of(answer)
    assert await balance_of(bot, alice["id"]) == (30, 0)
    await apiframe.finish(task.task_id)  # the provider made it anyway: never delivered, free
    telegram.send_text(alice, "/balance")
    await telegram.wait_for("sendMessage", lambda c: "Balance: 30" in text_of(c))
    assert telegram.calls_to("sendVideo") == []
    assert await balance_of(bot, alice["id"]) == (30, 0)


async def test_a_timed_out_video_gives_the_credits_back(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30, job_timeout=0.5))
    await ask_for_video(telegram, apiframe, "/video forever")
    notice = await telegram.wait_for("sendMessage", lambda c: "did not finish" in text_of(c))
    assert "Your 10 credits are back." in text_of(notice)
    assert await balance_of(bot, 1001) == (30, 0)


async def test_an_undeliverable_video_gives_the_credits_back(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30))
    task = await ask_for_video(telegram, apiframe, "/video a fox")
    await telegram.wait_for("sendMessage", lambda c: "Video #1" in text_of(c))
    telegram.blocked_users.add(1001)
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo", lambda c: c.http_status == 403)
    # The status edit after the failure says so (and is refused too: the chat is blocked).
    await telegram.wait_for("editMessageText", lambda c: "credits are back" in text_of(c))
    assert (await bot.job(1)).state is JobState.FAILED
    assert await balance_of(bot, 1001) == (30, 0)


async def test_a_chat_that_blocked_the_bot_is_not_charged(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30))
    alice = telegram.user(1001)
    telegram.blocked_users.add(alice["id"])
    telegram.send_text(alice, "/video nobody will see this")
    telegram.send_text(alice, "/jobs")  # answered only after the request above was handled
    await telegram.wait_for_count("sendMessage", 2, lambda c: c.http_status == 403)
    assert (await bot.job(1)).state is JobState.FAILED
    assert await balance_of(bot, alice["id"]) == (30, 0)
    assert apiframe.tasks == {}


async def test_a_refund_of_spent_credits_is_refused_with_words_and_unspent_ones_refunded(
    telegram, make_settings, start_bot
):
    bot = await start_bot(
        make_settings(billing="stars", credit_packs="10:5", admin_user_ids=str(ADMIN))
    )
    alice, admin = telegram.user(1001), telegram.user(ADMIN, "Op")
    invoice = await buy(telegram, alice, "buy:10:5")
    spent = await telegram.pay(alice, invoice.response["result"])
    await telegram.wait_for("sendMessage", lambda c: "added" in text_of(c))
    telegram.send_text(alice, "/video spend it")
    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Charged" in text_of(c))
    charge = spent["successful_payment"]["telegram_payment_charge_id"]
    telegram.send_text(admin, f"/refund {charge}")
    refused = await telegram.wait_for("sendMessage", lambda c: "Refused" in text_of(c))
    assert "has only 0 left unspent" in text_of(refused)
    assert telegram.calls_to("refundStarPayment") == []

    invoice = await buy(telegram, alice, "buy:10:5")
    unspent = await telegram.pay(alice, invoice.response["result"])
    await telegram.wait_for_count("sendMessage", 2, lambda c: "added" in text_of(c))
    charge = unspent["successful_payment"]["telegram_payment_charge_id"]
    telegram.send_text(admin, f"/refund {charge}")
    done = await telegram.wait_for("sendMessage", lambda c: "Refunded 5 Stars" in text_of(c))
    assert done.params["chat_id"] == ADMIN
    assert telegram.payments[charge].refunded
    assert await balance_of(bot, alice["id"]) == (0, 0)
    telegram.send_text(admin, f"/refund {charge}")
    await telegram.wait_for("sendMessage", lambda c: "refunded already" in text_of(c))
    assert len(telegram.calls_to("refundStarPayment")) == 1
    # Not for everyone, and said once a minute, not to every try.
    telegram.send_text(alice, f"/grant {alice['id']} 1000")
    await telegram.wait_for("sendMessage", lambda c: "admins" in text_of(c).lower())
    assert await balance_of(bot, alice["id"]) == (0, 0)
    telegram.send_text(alice, f"/refund {charge}")
    telegram.send_text(alice, "/balance")  # a later update of her chat: handled after it
    await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("💳 Balance:"))
    to_alice = [
        text_of(c) for c in telegram.calls_to("sendMessage") if c.params["chat_id"] == alice["id"]
    ]
    assert sum("admins" in text.lower() for text in to_alice) == 1


async def test_a_refund_telegram_refuses_gives_the_credits_back(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(**STARS, admin_user_ids=str(ADMIN)))
    alice, admin = telegram.user(1001), telegram.user(ADMIN, "Op")
    invoice = await buy(telegram, alice)
    paid = await telegram.pay(alice, invoice.response["result"])
    await telegram.wait_for("sendMessage", lambda c: "added" in text_of(c))
    telegram.fail_next(
        "refundStarPayment", error_code=400, description="Bad Request: BALANCE_TOO_LOW"
    )
    charge = paid["successful_payment"]["telegram_payment_charge_id"]
    telegram.send_text(admin, f"/refund {charge}")
    answer = await telegram.wait_for("sendMessage", lambda c: "Telegram refused" in text_of(c))
    assert "the 100 credits are back" in text_of(answer)
    assert await balance_of(bot, alice["id"]) == (100, 0)
    assert not telegram.payments[charge].refunded
    telegram.send_text(admin, f"/refund {charge}")  # tried again: goes through
    await telegram.wait_for("sendMessage", lambda c: "Refunded 50 Stars" in text_of(c))
    assert await balance_of(bot, alice["id"]) == (0, 0)


async def test_grant_stats_and_metrics(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(**STARS, admin_user_ids=str(ADMIN)))
    admin = telegram.user(ADMIN, "Op")
    telegram.send_text(admin, "/grant 1001 30")
    await telegram.wait_for("sendMessage", lambda c: "now has 30" in text_of(c))
    alice = telegram.user(1001)
    invoice = await buy(telegram, alice)
    await telegram.pay(alice, invoice.response["result"])
    telegram.send_text(alice, "/video a fox")
    await telegram.wait_for("editMessageText", lambda c: "Charged" in text_of(c))
    telegram.send_text(admin, "/stats")
    stats = await telegram.wait_for("sendMessage", lambda c: "Credits (UTC)" in text_of(c))
    assert "50 Stars received" in text_of(stats) and "10 credits charged" in text_of(stats)
    body = (await bot.parts.metrics.render(bot.parts.store)).decode()
    assert 'kling_bot_stars{kind="purchase"} 50.0' in body
    assert 'kling_bot_credits{kind="charge"} 10.0' in body
    # /paysupport with words reaches the admins; /terms answers.
    telegram.send_text(alice, "/paysupport the pack did not arrive")
    note = await telegram.wait_for("sendMessage", lambda c: "/paysupport from" in text_of(c))
    assert note.params["chat_id"] == ADMIN
    assert "the pack did not arrive" in text_of(note) and "1001" in text_of(note)
    telegram.send_text(alice, "/terms")
    await telegram.wait_for("sendMessage", lambda c: "Terms:" in text_of(c))
    # Admins ride free (BILL_ADMINS is off).
    telegram.send_text(admin, "/video on the house")
    await telegram.wait_for_count("sendVideo", 2)
    assert await balance_of(bot, ADMIN) == (0, 0)


async def test_a_banned_buyer_is_refused_at_pre_checkout(telegram, make_settings, start_bot):
    await start_bot(make_settings(**STARS, admin_user_ids=str(ADMIN)))
    alice, admin = telegram.user(1001), telegram.user(ADMIN, "Op")
    invoice = await buy(telegram, alice)
    telegram.send_text(admin, "/ban 1001")
    await telegram.wait_for("sendMessage", lambda c: "banned" in text_of(c))
    assert await telegram.pay(alice, invoice.response["result"]) is None
    checkout = telegram.checkouts()[-1]
    assert checkout.answer["ok"] is False and not checkout.late


async def test_in_a_group_the_requester_pays(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(**STARS, welcome_credits=10))
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    group = telegram.group(-100555)
    telegram.send_text(bob, "/video@kling_test_bot bob's fox", chat=group)
    await telegram.wait_for("editMessageText", lambda c: "Charged: 10" in text_of(c))
    assert await balance_of(bot, bob["id"]) == (0, 0)
    assert await balance_of(bot, alice["id"]) == (0, 0)  # no account made for her
    assert await balance_of(bot, group["id"]) == (0, 0)


async def test_billing_off_keeps_videos_free(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video a free fox")
    video = await telegram.wait_for("sendVideo")
    assert "credits" not in text_of(video)
    telegram.send_text(alice, "/buy")
    await telegram.wait_for("sendMessage", lambda c: "free here" in text_of(c))
    assert await bot.parts.store.credit_entries(alice["id"]) == []


# --- twenty requests at once against a balance for three videos ------------------------------


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/bot.db"
        return
    async with postgres_schema() as (url, schema):
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}search_path={schema}"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_twenty_requests_at_once_against_three_videos_make_three_jobs(
    telegram, apiframe, apiframe_settings, start_bot, tmp_path, backend
):
    """From twenty groups at once (updates of different chats run side by side)."""
    async with database(backend, tmp_path) as url:
        bot = await start_bot(apiframe_settings(**STARS, welcome_credits=30, database_url=url))
        assert isinstance(bot.parts.store, SqliteStore if backend == "sqlite" else PostgresStore)
        alice = telegram.user(1001)
        for n in range(20):
            group = telegram.group(-100900 - n)
            telegram.send_text(alice, f"/video@kling_test_bot fox {n}", chat=group)
        answers = await telegram.wait_for_count(
            "sendMessage", 20, lambda c: "Video #" in text_of(c) or "costs" in text_of(c)
        )
        assert sum("Video #" in text_of(a) for a in answers) == 3
        assert len(await bot.parts.store.recent_jobs(alice["id"], 50)) == 3
        assert await balance_of(bot, alice["id"]) == (0, 30)
        assert await bot.parts.store.audit_credits() == []
        await bot.stop()

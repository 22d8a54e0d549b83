"""Payments in Telegram Stars, as https://core.telegram.org/bots/api#payments and
https://core.telegram.org/bots/payments-stars describe them: sendInvoice (currency XTR, one
price, no provider token), the pre_checkout_query update and answerPreCheckoutQuery (which
Telegram must receive within 10 seconds, else the payment fails and no Stars move), the
successful_payment service message, refundStarPayment (CHARGE_ALREADY_REFUNDED the second
time) and getStarTransactions (the bot's incoming payments and outgoing refunds).

Tests play the buyer with `pay`, which goes through the pre-checkout query as a client does
and, if the bot said yes in time, posts the successful payment; `resend_payment` makes
Telegram report that same payment again (an update delivered twice)."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.api import (
    JSON,
    QUERY_TOO_OLD,
    ApiError,
    UploadedFile,
    bad_request,
    public,
)
from tests.fakes.telegram.http import to_bool, to_int
from tests.fakes.telegram.messages import MessagesMixin
from tests.fakes.telegram.users import UsersMixin

STARS = "XTR"
PRE_CHECKOUT_DEADLINE = 10.0  # seconds Telegram waits for answerPreCheckoutQuery


@dataclass
class Checkout:
    """One pre-checkout query and what became of it."""

    query: JSON
    deadline: float  # on the event loop's clock
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    answer: JSON | None = None
    late: bool = False  # answered after the deadline: Telegram had already failed the payment


@dataclass
class Payment:
    """A payment Telegram took: the successful_payment message and its refund, if any."""

    user: JSON
    message: JSON
    charge_id: str
    amount: int
    refunded: bool = False


class PaymentsMixin(UsersMixin, MessagesMixin):
    """sendInvoice, answerPreCheckoutQuery, refundStarPayment, getStarTransactions, and the
    buyer's side (`pay`, `resend_payment`)."""

    # --- the Bot API ---------------------------------------------------------------------------

    async def _send_invoice(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params)
        title = str(params.get("title") or "")
        description = str(params.get("description") or "")
        payload = str(params.get("payload") or "")
        currency = str(params.get("currency") or "")
        if not 1 <= len(title) <= 32:
            raise bad_request("invoice title must be 1-32 characters")
        if not 1 <= len(description) <= 255:
            raise bad_request("invoice description must be 1-255 characters")
        if not 1 <= len(payload.encode()) <= 128:
            raise bad_request("invoice payload must be 1-128 bytes")
        prices = _json_list(params.get("prices"))
        if not prices or not all(_is_price(p) for p in prices):
            raise bad_request("can't parse prices JSON object")
        if currency == STARS:
            if params.get("provider_token"):
                raise bad_request("provider_token must be empty for payments in Telegram Stars")
            if len(prices) != 1:
                raise bad_request("invoices in Telegram Stars must have exactly one price")
            if params.get("max_tip_amount") or params.get("suggested_tip_amounts"):
                raise bad_request("tips are not supported in Telegram Stars")
        elif not params.get("provider_token"):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        total = sum(int(p["amount"]) for p in prices)
        markup = self._reply_markup(params)
        invoice: JSON = {
            "title": title,
            "description": description,
            "start_parameter": str(params.get("start_parameter") or ""),
            "currency": currency,
            "total_amount": total,
        }
        content: JSON = {"invoice": invoice}
        if markup:
            content["reply_markup"] = markup
        message = self._post(chat, params, self._reply_to(chat, params), content)
        # What the fake keeps to play the payment: never part of the Message Telegram returns.
        self._invoices[(chat["id"], message["message_id"])] = {
            "payload": payload,
            "currency": currency,
            "total_amount": total,
        }
        return message

    async def _answer_pre_checkout_query(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> bool:
        query_id = str(params.get("pre_checkout_query_id") or "")
        checkout = self._checkouts.get(query_id)
        if checkout is None or checkout.answer is not None:
            raise ApiError(400, QUERY_TOO_OLD)
        if checkout.late or asyncio.get_running_loop().time() > checkout.deadline:
            checkout.late = True  # Telegram gave up on it: the payment failed
            raise ApiError(400, QUERY_TOO_OLD)
        if params.get("ok") is None:
            raise bad_request("ok must be a Boolean")
        ok = to_bool(params.get("ok"))
        if not ok and not str(params.get("error_message") or "").strip():
            raise bad_request("error_message is required when ok is False")
        checkout.answer = {**copy.deepcopy(params), "ok": ok}
        checkout.answered.set()
        return True

    async def _refund_star_payment(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        charge_id = str(params.get("telegram_payment_charge_id") or "")
        if not charge_id:
            raise bad_request("CHARGE_ID_EMPTY")
        payment = self.payments.get(charge_id)
        if payment is None or payment.user["id"] != to_int(params.get("user_id")):
            raise bad_request("CHARGE_NOT_FOUND")
        if payment.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        payment.refunded = True
        return True

    async def _get_star_transactions(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        """Newest last, as Telegram lists them: each payment in, and each refund out."""
        transactions: list[JSON] = []
        for payment in self.payments.values():
            partner = {
                "type": "user",
                "transaction_type": "invoice_payment",
                "user": copy.deepcopy(payment.user),
                "invoice_payload": payment.message["successful_payment"]["invoice_payload"],
            }
            date = payment.message["date"]
            transactions.append(
                {"id": payment.charge_id, "amount": payment.amount, "date": date, "source": partner}
            )
            if payment.refunded:
                transactions.append(
                    {
                        "id": payment.charge_id,
                        "amount": payment.amount,
                        "date": date,
                        "receiver": partner,
                    }
                )
        offset = max(to_int(params.get("offset") or 0), 0)
        limit = min(max(to_int(params.get("limit") or 100), 1), 100)
        return {"transactions": transactions[offset : offset + limit]}

    # --- the buyer's side ----------------------------------------------------------------------

    async def pay(
        self, user: JSON, invoice_message: JSON, *, deadline: float = PRE_CHECKOUT_DEADLINE
    ) -> JSON | None:
        """The user taps Pay under an invoice: Telegram asks the bot (pre_checkout_query) and
        waits `deadline` seconds for its answer. Returns the successful_payment message, or
        None if the bot refused or answered too late (no Stars moved)."""
        key = (invoice_message["chat"]["id"], invoice_message["message_id"])
        invoice = self._invoices[key]
        query_id = str(7_000_000_000_000 + next(self._payment_counter))
        query: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": invoice["payload"],
        }
        checkout = Checkout(query, asyncio.get_running_loop().time() + deadline)
        self._checkouts[query_id] = checkout
        self._register_user(user)
        self._enqueue("pre_checkout_query", query)
        try:
            await asyncio.wait_for(checkout.answered.wait(), deadline)
        except TimeoutError:
            checkout.late = True
            return None
        if checkout.late or not checkout.answer or not checkout.answer.get("ok"):
            return None
        charge_id = f"stxFake{query_id}"
        payment: JSON = {
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": invoice["payload"],
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",
        }
        message = self._incoming(user, None, {"successful_payment": payment}, None)
        self.payments[charge_id] = Payment(user, message, charge_id, invoice["total_amount"])
        return message

    def checkouts(self) -> list[Checkout]:
        """Every pre-checkout query so far, in order."""
        return list(self._checkouts.values())

    def resend_payment(self, charge_id: str) -> None:
        """Telegram delivers the same successful_payment message again."""
        self._enqueue("message", self.payments[charge_id].message)

    def invoice_payment(self, payload: str, currency: str, total: int, user: JSON) -> JSON:
        """A successful_payment message as Telegram would post it, for an invoice the test
        names (e.g. one from an older price list); posted like `pay` posts one."""
        charge_id = f"stxFakeOld{next(self._payment_counter)}"
        payment: JSON = {
            "currency": currency,
            "total_amount": total,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",
        }
        message = self._incoming(user, None, {"successful_payment": payment}, None)
        self.payments[charge_id] = Payment(user, message, charge_id, total)
        return public(message)


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _is_price(price: Any) -> bool:
    return (
        isinstance(price, dict)
        and isinstance(price.get("label"), str)
        and bool(price["label"])
        and isinstance(price.get("amount"), int)
        and price["amount"] > 0
    )

"""Credits and Telegram Stars, as Telegram updates: /buy and its buttons, invoices, the
pre-checkout query, the successful payment, /balance, /paysupport, /terms, and the admins'
/grant and /refund. The money rules are `bot.billing`'s; this module only translates."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Mapping
from typing import NamedTuple

from telegram import LabeledPrice, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.access import Gatekeeper
from bot.billing import CURRENCY, Billing, Pack
from bot.i18n import messages
from bot.keyboards import packs_keyboard, parse_buy
from bot.store import JobStore
from bot.store.credits import Entry
from handlers.common import command_argument, is_private, lang_of

log = logging.getLogger(__name__)

BALANCE_ENTRIES = 5
PAYSUPPORT_LIMIT = 1000  # characters of a /paysupport message forwarded to the admins


class _CreditCommand(NamedTuple):
    message: Message
    user_id: int
    lang: str
    texts: Mapping[str, str]


class BillingHandlers:
    def __init__(
        self,
        billing: Billing,
        store: JobStore,
        gatekeeper: Gatekeeper,
        admin_user_ids: Collection[int] = (),
    ) -> None:
        self._billing = billing
        self._store = store
        self._gate = gatekeeper
        self._admins = tuple(admin_user_ids)

    async def _credit_command(self, update: Update) -> _CreditCommand | None:
        """A user's credit command, or None when there is nothing to answer or billing is
        off (then said in the chat)."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return None
        lang = lang_of(message.from_user)
        m = messages(lang).credits
        if not self._billing.enabled:
            await message.reply_text(m["billing_off"])
            return None
        return _CreditCommand(message, message.from_user.id, lang, m)

    # --- buying ------------------------------------------------------------------------------

    async def buy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/buy` (and `/start buy`): the packs as buttons, in a private chat."""
        asked = await self._credit_command(update)
        if asked is None:
            return
        message, user_id, lang, m = asked
        if not is_private(message):
            link = f"https://t.me/{context.bot.username}?start=buy"
            await message.reply_text(m["buy_in_private"].format(link=link))
            return
        have = await self._billing.prepare(user_id)
        packs = [(pack.credits, pack.stars) for pack in self._billing.packs]
        await message.reply_text(
            m["buy_title"].format(available=have.available),
            reply_markup=packs_keyboard(packs, lang),
        )

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`buy`: the packs; `buy:<credits>:<stars>`: that pack's invoice, if still on sale."""
        query = update.callback_query
        if query is None or query.message is None or not isinstance(query.message, Message):
            return
        lang = lang_of(query.from_user)
        m = messages(lang).credits
        if not self._billing.enabled:
            await query.answer(m["billing_off"], show_alert=True)
            return
        if query.data == "buy":
            await query.answer()
            have = await self._billing.prepare(query.from_user.id)
            packs = [(pack.credits, pack.stars) for pack in self._billing.packs]
            await context.bot.send_message(
                query.from_user.id,
                m["buy_title"].format(available=have.available),
                reply_markup=packs_keyboard(packs, lang),
            )
            return
        wanted = parse_buy(query.data)
        pack = self._billing.pack(*wanted) if wanted else None
        if pack is None:
            await query.answer(m["pack_gone"], show_alert=True)
            return
        await query.answer()
        await self._send_invoice(context, query.from_user.id, pack, lang)

    async def _send_invoice(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, pack: Pack, lang: str
    ) -> None:
        """An invoice in Telegram Stars: currency XTR, one price, no provider token."""
        m = messages(lang).credits
        await context.bot.send_invoice(
            chat_id=chat_id,
            title=m["invoice_title"].format(credits=pack.credits),
            description=m["invoice_description"].format(credits=pack.credits),
            payload=pack.payload,
            currency=CURRENCY,
            prices=[LabeledPrice(m["invoice_label"].format(credits=pack.credits), pack.stars)],
        )

    async def pre_checkout(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answered at once (Telegram waits 10 s): the pack must be on sale at that price."""
        query = update.pre_checkout_query
        if query is None:
            return
        refusal = self._billing.checkout_refusal(
            query.invoice_payload, query.currency, query.total_amount, lang_of(query.from_user)
        )
        if refusal is None:
            await query.answer(ok=True)
        else:
            log.info("pre-checkout %s refused: %s", query.id, query.invoice_payload)
            await query.answer(ok=False, error_message=refusal)

    async def successful_payment(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Credit the pack once, by the payment's charge id, to whoever paid."""
        message = update.effective_message
        if message is None or message.successful_payment is None or message.from_user is None:
            return
        payment = message.successful_payment
        user = message.from_user
        credited, pack = await self._billing.paid(
            user.id,
            payment.invoice_payload,
            payment.currency,
            payment.total_amount,
            payment.telegram_payment_charge_id,
        )
        m = messages(lang_of(user)).credits
        if pack is None:
            await message.reply_text(m["paid_problem"])
        elif credited:
            have = await self._store.credit_balance(user.id)
            await message.reply_text(
                m["paid"].format(credits=pack.credits, available=have.available)
            )

    # --- what users see ----------------------------------------------------------------------

    async def balance(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/balance`: available, reserved, and the latest ledger entries."""
        asked = await self._credit_command(update)
        if asked is None:
            return
        message, user_id, _, m = asked
        have = await self._billing.prepare(user_id)
        lines = [m["balance"].format(available=have.available, reserved=have.reserved)]
        entries = await self._store.credit_entries(user_id, BALANCE_ENTRIES)
        if entries:
            lines += ["", m["balance_latest"]]
            for entry in entries:
                lines.append(_entry_line(entry, m))
        else:
            lines += ["", m["balance_none"]]
        await message.reply_text("\n".join(lines))

    async def paysupport(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/paysupport`: how to get help; with words after it, they go to the admins."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        m = messages(lang_of(user)).credits
        words = command_argument(message)[:PAYSUPPORT_LIMIT]
        if not words or not self._admins:
            await message.reply_text(m["paysupport"])
            return
        note = f"/paysupport from user {user.id} (chat {message.chat.id}):\n{words}"
        for admin_id in self._admins:
            with contextlib.suppress(TelegramError):  # an admin who never started the bot
                await context.bot.send_message(admin_id, note)
        await message.reply_text(m["paysupport_sent"])

    async def terms(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_text(messages(lang_of(update.effective_user)).credits["terms"])

    # --- operators ---------------------------------------------------------------------------

    async def grant(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/grant <user id> <credits>`, once per command message (a repeated update is not a
        second grant)."""
        message = await self._admin_message(update)
        if message is None or message.from_user is None:
            return
        key = f"grant:{message.chat.id}:{message.message_id}"
        answer = await self._billing.grant(message.from_user.id, command_argument(message), key)
        await message.reply_text(answer)

    async def refund(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/refund <telegram payment charge id>`."""
        message = await self._admin_message(update)
        if message is None or message.from_user is None:
            return

        async def refund_stars(user_id: int, charge_id: str) -> None:
            await context.bot.refund_star_payment(user_id, charge_id)

        answer = await self._billing.refund(
            message.from_user.id, command_argument(message), refund_stars
        )
        await message.reply_text(answer)

    async def _admin_message(self, update: Update) -> Message | None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return None
        if not self._gate.is_admin(user.id):
            if await self._gate.should_answer(user.id, "admins_only"):
                await message.reply_text(messages(lang_of(user)).admins_only)
            return None
        return message


def _entry_line(entry: Entry, m: Mapping[str, str]) -> str:
    """One ledger row for people: what it did to the available credits ("−10 reserved for
    video #3", "+10 back from video #3"); a charge only spends what was reserved, so it has
    no sign ("10 charged for video #3")."""
    what = m.get(entry.kind, entry.kind).format(job=entry.job_id)
    if entry.available_delta == 0:
        return m["entry"].format(sign="", amount=abs(entry.reserved_delta), what=what)
    sign = "+" if entry.available_delta > 0 else "−"
    return m["entry"].format(sign=sign, amount=abs(entry.available_delta), what=what)

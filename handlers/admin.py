"""Who may talk to the bot (allowlists, bans) and the operator's commands (/stats, /ban, /unban).

The gate runs before every other handler (group -1) and stops updates from banned users and,
when the operator set allowlists, from people and chats not on them: banned users get
silence, people outside the allowlist get one short answer in private chats (once a while,
however many messages they send).
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.access import Gatekeeper
from bot.admin import Admin
from bot.i18n import messages
from handlers.common import command_argument, lang_of


class AdminHandlers:
    def __init__(self, gatekeeper: Gatekeeper, admin: Admin) -> None:
        self._gate = gatekeeper
        self._admin = admin

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop the update here unless its sender may use the bot in this chat. A successful
        payment always passes: the Stars are paid, so the credits must be recorded (a banned
        user's pre-checkout query is stopped here, so no payment of theirs gets that far)."""
        user, chat = update.effective_user, update.effective_chat
        if user is None:
            return
        if update.message is not None and update.message.successful_payment is not None:
            return
        chat_id = chat.id if chat else user.id
        if await self._gate.may_use(user.id, chat_id):
            return
        if update.pre_checkout_query is not None:  # refused now, not left to time out
            await update.pre_checkout_query.answer(
                ok=False, error_message=messages(lang_of(user)).not_allowed
            )
            raise ApplicationHandlerStop
        if not self._gate.allowlisted(user.id, chat_id):
            answer = messages(lang_of(user)).not_allowed
            first = await self._gate.should_answer(user.id, "not_allowed")
            if update.callback_query:  # always answered: it stops the button's spinner
                await update.callback_query.answer(answer if first else None, show_alert=first)
            elif first and update.effective_message and chat and chat.type == ChatType.PRIVATE:
                await update.effective_message.reply_text(answer)
        raise ApplicationHandlerStop

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if (message := await self._admin_message(update)) is not None:
            await message.reply_text(await self._admin.stats())

    async def ban(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/ban <user id>`, or `/ban` in reply to the user's message."""
        message = await self._admin_message(update)
        if message is None or message.from_user is None:
            return
        answer = await self._admin.ban(message.from_user.id, _target(message))
        await message.reply_text(answer)

    async def unban(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/unban <user id>`, or `/unban` in reply to the user's message."""
        message = await self._admin_message(update)
        if message is not None:
            await message.reply_text(await self._admin.unban(_target(message)))

    async def _admin_message(self, update: Update) -> Message | None:
        """The command's message if an admin sent it; others are told it is not for them."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return None
        if not self._admin.allowed(user.id):
            if await self._gate.should_answer(user.id, "admins_only"):
                await message.reply_text(messages(lang_of(user)).admins_only)
            return None
        return message


def _target(message: Message) -> str:
    """The user id argument, or the id of the author of the message the command replies to."""
    argument = command_argument(message)
    replied = message.reply_to_message
    if not argument and replied is not None and replied.from_user is not None:
        return str(replied.from_user.id)
    return argument

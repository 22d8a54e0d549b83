"""`/settings` and its buttons: a private chat edits the user's settings, a group its own
(only its admins may change them, asked from Telegram on every press). Buttons edit the panel
in place; the negative prompt is asked with a question the user answers by replying.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import ForceReply, Message, Update, User
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import messages
from bot.keyboards import Screen
from bot.preferences import owner_id
from bot.settings_panel import SettingsPanel
from bot.store import PreferenceStore
from handlers.common import is_admin, is_private, lang_of, pressed_message

log = logging.getLogger(__name__)


class SettingsHandlers:
    def __init__(self, panel: SettingsPanel, store: PreferenceStore) -> None:
        self._panel = panel
        self._store = store

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/settings`: show the panel for this chat."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        await self._send_panel(message, message.from_user.id, lang_of(message.from_user))

    async def open(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The Settings button under a video: a new panel, below the video."""
        query = update.callback_query
        if query is None:
            return
        message = pressed_message(query)
        if message is None:
            await query.answer(messages(lang_of(query.from_user)).button_stale)
            return
        await query.answer()
        await self._send_panel(message, query.from_user.id, lang_of(query.from_user))

    async def press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A `set:...` button on the panel."""
        query = update.callback_query
        if query is None:
            return
        lang = lang_of(query.from_user)
        message = pressed_message(query)
        if message is None or query.data is None:  # not a button of this panel
            await query.answer(messages(lang).button_stale)
            return
        private = is_private(message)
        if not private and not await is_admin(context.bot, message.chat.id, query.from_user.id):
            await query.answer(messages(lang).settings_admins_only, show_alert=True)
            return
        owner = owner_id(message.chat.id, query.from_user.id, private=private)
        payload = query.data.partition(":")[2]
        result = await self._panel.press(owner, payload, lang, group=_group_title(message))
        if result.ask_negative:
            await query.answer()
            await self._ask_negative(message, query.from_user, owner, lang)
            return
        await query.answer(result.toast)
        if result.screen is not None:
            await _edit(message, result.screen)

    async def answer(
        self, message: Message, replied_id: int, context: ContextTypes.DEFAULT_TYPE
    ) -> bool:
        """A reply to the negative-prompt question: save it. False if it was no such reply."""
        user = message.from_user
        if user is None:
            return False
        asked = await self._store.take_settings_question(message.chat.id, replied_id, user.id)
        if asked is None:
            return False
        owner, panel_message_id = asked
        lang = lang_of(user)
        refusal = await self._panel.set_negative(owner, message.text or "", lang)
        if refusal is not None:
            await message.reply_text(refusal)
            return True
        negative = (message.text or "").strip() or messages(lang).settings_none
        await message.reply_text(messages(lang).negative_saved.format(negative=negative))
        if panel_message_id is not None:
            screen = await self._panel.show(owner, lang, group=_group_title(message))
            with contextlib.suppress(BadRequest):  # deleted, or nothing changed
                await context.bot.edit_message_text(
                    chat_id=message.chat.id,
                    message_id=panel_message_id,
                    text=screen.text,
                    reply_markup=screen.markup,
                )
        return True

    async def _send_panel(self, message: Message, user_id: int, lang: str) -> None:
        owner = owner_id(message.chat.id, user_id, private=is_private(message))
        screen = await self._panel.show(owner, lang, group=_group_title(message))
        await message.reply_text(screen.text, reply_markup=screen.markup)

    async def _ask_negative(self, panel: Message, user: User, owner: int, lang: str) -> None:
        """Ask for the negative prompt; only this user's reply to the question counts."""
        m = messages(lang)
        who = f"@{user.username} " if user.username and not is_private(panel) else ""
        question = await panel.reply_text(
            m.negative_question.format(who=who),
            reply_markup=ForceReply(selective=True, input_field_placeholder=m.negative_placeholder),
            do_quote=False,
        )
        await self._store.save_settings_question(
            panel.chat.id,
            question.message_id,
            user_id=user.id,
            owner_id=owner,
            panel_message_id=panel.message_id,
        )


async def _edit(message: Message, screen: Screen) -> None:
    try:
        await message.edit_text(screen.text, reply_markup=screen.markup)
    except BadRequest as exc:  # "not modified" after a double tap: nothing to do
        log.debug("settings panel not edited: %s", exc)


def _group_title(message: Message) -> str | None:
    return None if is_private(message) else (message.chat.title or str(message.chat.id))

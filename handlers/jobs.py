"""`/jobs`, `/cancel` and the buttons under the bot's messages: Cancel, Again, paging and
per-job details. Each button is answered once, with a short notice when it cannot act."""

from __future__ import annotations

import contextlib
import logging

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import messages
from bot.keyboards import Screen
from bot.service import VideoService
from handlers.common import command_argument, is_private, lang_of, pressed_message, requester_of

log = logging.getLogger(__name__)


class JobHandlers:
    def __init__(self, service: VideoService) -> None:
        self._service = service

    async def jobs(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/jobs`: the newest videos, with a button per video and paging."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        screen = await self._service.jobs_page(
            message.from_user.id, chat_id=_chat_filter(message), lang=lang_of(message.from_user)
        )
        await message.reply_text(screen.text, reply_markup=screen.markup)

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/cancel` stops the latest open job (or asks which, if several); `/cancel 12` job 12."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        lang = lang_of(message.from_user)
        argument = command_argument(message).lstrip("#")
        if argument and not argument.isdigit():
            await message.reply_text(messages(lang).cancel_usage)
            return
        if argument:
            answer = await self._service.cancel(message.from_user.id, int(argument), lang)
            await message.reply_text(answer)
            return
        screen = await self._service.cancel_or_choose(message.from_user.id, lang)
        await message.reply_text(screen.text, reply_markup=screen.markup)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`stop:`, `cancel:`, `again:`, `jobs:` and `job:` buttons."""
        query = update.callback_query
        message = pressed_message(query) if query else None
        if query is None or query.data is None:
            return
        if message is None:  # too old for Telegram to tell us where it was
            await query.answer()
            return
        verb, *args = query.data.split(":")
        numbers = [int(arg) for arg in args if arg.lstrip("-").isdigit()]
        if len(numbers) != len(args) or not numbers:
            await query.answer()
            return
        lang = lang_of(query.from_user)
        user_id = query.from_user.id
        if verb == "stop":  # the status message shows the outcome
            await query.answer(await self._service.cancel(user_id, numbers[0], lang))
        elif verb == "cancel":
            answer = await self._service.cancel(user_id, numbers[0], lang)
            await query.answer()
            await _edit(message, Screen(answer))
        elif verb == "again":
            requester = requester_of(message, query.from_user)
            refusal = await self._service.again(numbers[0], user_id, requester)
            await query.answer(refusal, show_alert=refusal is not None)
        elif verb in ("jobs", "job"):
            await self._browse(query, message, verb, numbers, lang)
        else:
            await query.answer()

    async def _browse(
        self, query: CallbackQuery, message: Message, verb: str, numbers: list[int], lang: str
    ) -> None:
        owner, *rest = numbers
        if owner != query.from_user.id:
            await query.answer(messages(lang).not_your_list)
            return
        if verb == "jobs" and len(rest) == 1:
            screen: Screen | None = await self._service.jobs_page(
                owner, rest[0], chat_id=_chat_filter(message), lang=lang
            )
        elif verb == "job" and len(rest) == 2:
            screen = await self._service.job_view(owner, rest[0], rest[1], lang)
        else:
            screen = None
        if screen is None:
            await query.answer(messages(lang).job_gone)
            return
        await query.answer()
        await _edit(message, screen)


def _chat_filter(message: Message) -> int | None:
    """In a group, list only the videos made there: others may be private."""
    return None if is_private(message) else message.chat.id


async def _edit(message: Message, screen: Screen) -> None:
    with contextlib.suppress(BadRequest):  # not modified, or deleted meanwhile
        await message.edit_text(screen.text, reply_markup=screen.markup)

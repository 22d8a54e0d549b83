"""`/jobs`, `/cancel` and the buttons under the bot's messages: Cancel, Again, paging and
per-job details. Each button is answered once, with a short notice when it cannot act."""

from __future__ import annotations

import contextlib
import logging

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import messages
from bot.keyboards import AGAIN, CANCEL, JOBS, STOP, Screen, number, parse
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
        job_id = number(argument)
        if argument and (job_id is None or job_id < 0):
            await message.reply_text(messages(lang).cancel_usage)
            return
        if job_id is not None:
            answer = await self._service.cancel(message.from_user.id, job_id, lang)
            await message.reply_text(answer)
            return
        screen = await self._service.cancel_or_choose(
            message.from_user.id, lang, chat_id=_chat_filter(message)
        )
        await message.reply_text(screen.text, reply_markup=screen.markup)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`stop:`, `cancel:`, `again:`, `jobs:` and `job:` buttons.

        Only a button the pressed message carries counts (see `pressed_message`), and each
        acts for the presser alone: their job, their list, shown in this chat only.
        """
        query = update.callback_query
        if query is None:
            return
        lang = lang_of(query.from_user)
        message = pressed_message(query)
        pressed = parse(query.data)
        if message is None or pressed is None:
            await query.answer(messages(lang).button_stale)
            return
        verb, numbers = pressed.verb, pressed.numbers
        user_id = query.from_user.id
        if verb == STOP:  # the status message shows the outcome
            await query.answer(await self._service.cancel(user_id, numbers[0], lang))
        elif verb == CANCEL:
            answer, cancelled = await self._service.try_cancel(user_id, numbers[0], lang)
            if not cancelled:  # not the presser's (or over): leave the message alone
                await query.answer(answer)
                return
            await query.answer()
            await _edit(message, Screen(answer))
        elif verb == AGAIN:
            requester = requester_of(message, query.from_user)
            refusal = await self._service.again(numbers[0], user_id, requester)
            await query.answer(refusal, show_alert=refusal is not None)
        else:
            await self._browse(query, message, verb, numbers, lang)

    async def _browse(
        self,
        query: CallbackQuery,
        message: Message,
        verb: str,
        numbers: tuple[int, ...],
        lang: str,
    ) -> None:
        owner, *rest = numbers
        if owner != query.from_user.id:
            await query.answer(messages(lang).not_your_list)
            return
        chat_id = _chat_filter(message)
        if verb == JOBS:
            screen: Screen | None = await self._service.jobs_page(
                owner, rest[0], chat_id=chat_id, lang=lang
            )
        else:
            screen = await self._service.job_view(owner, rest[0], rest[1], lang, chat_id=chat_id)
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

"""`/jobs`, `/cancel` and the buttons under the bot's messages: Cancel, Again, paging and
per-job details. Each button is answered once, with a short notice when it cannot act."""

from __future__ import annotations

import contextlib
import logging

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import messages
from bot.intake import Intake
from bot.keyboards import AGAIN, CANCEL, EXTEND, JOBS, STOP, Screen, number, parse
from bot.lifecycle import JobLifecycle
from handlers.common import command_argument, is_private, lang_of, pressed_message, requester_of
from handlers.job_views import JobViews, cancel_answer, cancel_choice_screen

log = logging.getLogger(__name__)


class JobHandlers:
    def __init__(self, views: JobViews, lifecycle: JobLifecycle, intake: Intake) -> None:
        self._views = views
        self._lifecycle = lifecycle
        self._intake = intake

    async def jobs(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/jobs`: the newest videos, with a button per video and paging."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        screen = await self._views.jobs_page(
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
            answer, _ = await self._cancel(message.from_user.id, job_id, lang)
            await message.reply_text(answer)
            return
        open_jobs = await self._views.open_jobs(message.from_user.id, chat_id=_chat_filter(message))
        if len(open_jobs) == 1:  # the one job in progress: no need to ask
            answer, _ = await self._cancel(message.from_user.id, open_jobs[0].id, lang)
            screen = Screen(answer)
        else:
            screen = cancel_choice_screen(open_jobs, lang)
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
            await query.answer((await self._cancel(user_id, numbers[0], lang))[0])
        elif verb == CANCEL:
            answer, cancelled = await self._cancel(user_id, numbers[0], lang)
            if not cancelled:  # not the presser's (or over): leave the message alone
                await query.answer(answer)
                return
            await query.answer()
            await _edit(message, Screen(answer))
        elif verb == AGAIN:
            requester = requester_of(message, query.from_user)
            repeated = await self._intake.repeatable(numbers[0], user_id, requester)
            if isinstance(repeated, str):
                await query.answer(repeated, show_alert=True)
                return
            await query.answer()  # now: making the job (a photo to fetch) may take a while
            await self._intake.again(repeated, requester)
        elif verb == EXTEND:
            requester = requester_of(message, query.from_user)
            refusal = await self._intake.extend(numbers[0], user_id, requester)
            await query.answer(refusal, show_alert=refusal is not None)
        else:
            await self._browse(query, message, verb, numbers, lang)

    async def _cancel(self, user_id: int, job_id: int, lang: str) -> tuple[str, bool]:
        """Stop one of the user's open jobs: (the answer to show, whether it was stopped)."""
        outcome = await self._lifecycle.cancel(user_id, job_id)
        return cancel_answer(job_id, outcome, lang), outcome is not None

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
            screen: Screen | None = await self._views.jobs_page(
                owner, rest[0], chat_id=chat_id, lang=lang
            )
        else:
            screen = await self._views.job_view(
                owner,
                rest[0],
                rest[1],
                lang,
                chat_id=chat_id,
                bot_username=query.get_bot().username,
            )
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

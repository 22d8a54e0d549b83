"""Sharing finished videos, as Telegram delivers it: inline queries and the results people
choose, the Send again button of `/jobs`, and `/start v<number>` deep links. The rules (whose
videos, which file, what caption) are `bot.sharing`'s."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import messages
from bot.jobs import Requester
from bot.keyboards import RESEND, parse
from bot.sharing import Sharing, inline_mode, job_of_payload
from handlers.common import is_private, lang_of, pressed_message, requester_of

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


class SharingHandlers:
    def __init__(self, sharing: Sharing, *, start: Handler) -> None:
        """`start`: what `/start` does with any other payload (help, settings)."""
        self._sharing = sharing
        self._start = start

    async def inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`@bot words` in any chat: the asker's own videos whose prompt has those words."""
        query = update.inline_query
        if query is None:
            return
        page = await self._sharing.page(query.from_user.id, query.query, query.offset)
        answer = self._sharing.inline_answer(
            page,
            lang=lang_of(query.from_user),
            bot_username=context.bot.username,
            first_page=query.offset == "",
        )
        try:
            await query.answer(
                answer.results,
                cache_time=answer.cache_time,
                is_personal=answer.is_personal,
                next_offset=answer.next_offset,
                button=answer.button,
            )
        except BadRequest as exc:
            # Mostly "query is too old": the person typed on, Telegram dropped this query.
            level = logging.INFO if "too old" in exc.message.lower() else logging.WARNING
            log.log(level, "inline query not answered: %s", exc.message)

    async def chosen(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A video posted through inline mode: counted, nothing to answer."""
        result = update.chosen_inline_result
        if result is not None:
            self._sharing.chosen(result.result_id)

    async def resend(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send again, under a finished video's details in `/jobs`: the kept file, into the
        chat of the pressed message, for the video's owner only."""
        query = update.callback_query
        if query is None:
            return
        lang = lang_of(query.from_user)
        message = pressed_message(query)
        pressed = parse(query.data)
        if message is None or pressed is None or pressed.verb != RESEND:
            await query.answer(messages(lang).button_stale)
            return
        job = await self._sharing.own_video(query.from_user.id, pressed.numbers[0], lang)
        if isinstance(job, str):
            await query.answer(job, show_alert=True)
            return
        if not is_private(message) and job.requester.chat_id != message.chat.id:
            await query.answer(messages(lang).button_stale)  # a group sees its own videos only
            return
        refusal = await self._sharing.send_again(
            context.bot,
            job,
            requester_of(message, query.from_user),
            share=inline_mode(context.bot),
            lang=lang,
        )
        await query.answer(refusal, show_alert=refusal is not None)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start v12` (`t.me/<bot>?start=v12`) sends video 12 to its owner; anyone else is
        told it is not theirs. Any other payload goes to the usual `/start`."""
        message = update.effective_message
        job_id = job_of_payload(context.args[0]) if context.args else None
        if message is None or message.from_user is None or job_id is None:
            await self._start(update, context)
            return
        lang = lang_of(message.from_user)
        job = await self._sharing.own_video(message.from_user.id, job_id, lang)
        if isinstance(job, str):
            await message.reply_text(job)
            return
        to: Requester = requester_of(message)
        refusal = await self._sharing.send_again(
            context.bot, job, to, share=inline_mode(context.bot), lang=lang
        )
        if refusal is not None:
            await message.reply_text(refusal)

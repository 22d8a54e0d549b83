"""Register the bot's Telegram handlers on an Application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.i18n import CATALOGUES, DEFAULT, messages
from bot.service import VideoService
from bot.settings_panel import SettingsPanel
from bot.stores import JobStore
from handlers import albums
from handlers.common import lang_of
from handlers.jobs import JobHandlers
from handlers.settings import SettingsHandlers
from handlers.video import VideoHandlers

log = logging.getLogger(__name__)

#: The update types the handlers use; passed to getUpdates/setWebhook as allowed_updates.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]

#: Photos and image files (a GIF is an animation, not a frame).
IMAGES = (filters.PHOTO | filters.Document.IMAGE) & ~filters.ANIMATION
#: Everything else people send that the bot cannot animate.
OTHER_MEDIA = (
    filters.Sticker.ALL
    | filters.VIDEO
    | filters.VOICE
    | filters.VIDEO_NOTE
    | filters.AUDIO
    | filters.ANIMATION
    | (filters.Document.ALL & ~filters.Document.IMAGE)
)


def register(
    application: Application,  # type: ignore[type-arg]
    service: VideoService,
    store: JobStore,
    *,
    album_wait: float | None = None,
) -> None:
    """Add every handler. `album_wait`: seconds of quiet that end an album (see `albums`)."""

    def spawn(work: Coroutine[Any, Any, None]) -> object:
        return application.create_task(work)  # awaited by Application.stop()

    settings = SettingsHandlers(
        SettingsPanel(service.settings_store, service.capabilities()), service.settings_store
    )
    video = VideoHandlers(
        service,
        store,
        settings,
        bot=application.bot,
        album_wait=albums.ALBUM_WAIT if album_wait is None else album_wait,
        spawn=spawn,
    )
    jobs = JobHandlers(service)
    application.bot_data["albums"] = video.albums
    application.add_handlers(
        [
            CommandHandler(["start", "help"], video.help),
            CommandHandler("video", video.video),
            CommandHandler("settings", settings.command),
            CommandHandler("jobs", jobs.jobs),
            CommandHandler("cancel", jobs.cancel),
            CallbackQueryHandler(settings.press, pattern=r"^set:"),
            CallbackQueryHandler(settings.open, pattern=r"^settings$"),
            CallbackQueryHandler(jobs.button, pattern=r"^(stop|cancel|again|jobs|job):"),
            CallbackQueryHandler(_unknown_button),
            MessageHandler(IMAGES, video.image),
            MessageHandler(OTHER_MEDIA, video.other_media),
            MessageHandler(filters.TEXT & ~filters.COMMAND & filters.REPLY, video.text_reply),
            MessageHandler(
                filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, video.chat_text
            ),
        ]
    )
    application.add_error_handler(on_error)


async def set_commands(bot: Bot) -> None:
    """The command menu: English by default, and one list per other language we speak."""
    for lang, catalogue in CATALOGUES.items():
        commands = [BotCommand(name, text) for name, text in catalogue.commands.items()]
        await bot.set_my_commands(commands, language_code=None if lang == DEFAULT else lang)


async def _unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from an older version of the bot: stop the spinner, do nothing."""
    if update.callback_query:
        await update.callback_query.answer()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler failure and give the user a short answer instead of silence."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s: handler failed", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    sorry = messages(lang_of(update.effective_user)).sorry
    with contextlib.suppress(TelegramError):
        if update.callback_query:
            await update.callback_query.answer(sorry, show_alert=True)
        elif update.effective_message:
            await update.effective_message.reply_text(sorry)

"""Register the bot's Telegram handlers on an Application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Coroutine, Mapping
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.access import Gatekeeper
from bot.admin import Admin
from bot.i18n import CATALOGUES, DEFAULT, EN, messages
from bot.intake import Intake
from bot.lifecycle import JobLifecycle
from bot.providers.base import Capabilities
from bot.settings_panel import SettingsPanel
from bot.store import JobStore, PreferenceStore
from handlers import albums
from handlers.admin import AdminHandlers
from handlers.common import lang_of
from handlers.job_views import JobViews
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
    *,
    intake: Intake,
    lifecycle: JobLifecycle,
    store: JobStore,
    preferences: PreferenceStore,
    capabilities: Mapping[str, Capabilities],
    gatekeeper: Gatekeeper,
    album_wait: float | None = None,
    replicas_within: float | None = None,
) -> None:
    """Add every handler. `capabilities`: what each provider offers (the settings panel's
    choices); `album_wait`: seconds of quiet that end an album (see `albums`);
    `replicas_within`: `/stats` lists the replicas heard from within that many seconds."""
    admin = AdminHandlers(gatekeeper, Admin(store, gatekeeper, replicas_within))
    application.add_handler(TypeHandler(Update, admin.gate), group=-1)

    def spawn(work: Coroutine[Any, Any, None]) -> object:
        return application.create_task(work)  # awaited by Application.stop()

    settings = SettingsHandlers(SettingsPanel(preferences, capabilities), preferences)
    video = VideoHandlers(
        intake,
        store,
        settings,
        bot=application.bot,
        album_wait=albums.ALBUM_WAIT if album_wait is None else album_wait,
        spawn=spawn,
        gatekeeper=gatekeeper,
    )
    jobs = JobHandlers(JobViews(store), lifecycle, intake)
    application.bot_data["albums"] = video.albums
    application.add_handlers(
        [
            CommandHandler("start", video.start),
            CommandHandler("help", video.help),
            CommandHandler("video", video.video),
            CommandHandler("settings", settings.command),
            CommandHandler("jobs", jobs.jobs),
            CommandHandler("cancel", jobs.cancel),
            CommandHandler("stats", admin.stats),
            CommandHandler("ban", admin.ban),
            CommandHandler("unban", admin.unban),
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


ADMIN_COMMANDS = {
    "stats": "Jobs by day, provider and state",
    "ban": "Ban a user: /ban <user id>",
    "unban": "Lift a ban: /unban <user id>",
}


async def set_commands(bot: Bot, admin_user_ids: Collection[int] = ()) -> None:
    """The command menu: English by default, one list per other language we speak, and in
    each admin's private chat the admin commands too (operators read English)."""
    for lang, catalogue in CATALOGUES.items():
        commands = [BotCommand(name, text) for name, text in catalogue.commands.items()]
        await bot.set_my_commands(commands, language_code=None if lang == DEFAULT else lang)
    admin_commands = [BotCommand(name, text) for name, text in EN.commands.items()]
    admin_commands += [BotCommand(name, text) for name, text in ADMIN_COMMANDS.items()]
    for user_id in admin_user_ids:
        try:
            await bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(user_id))
        except BadRequest as exc:  # the admin never started the bot: no private chat yet
            log.warning("admin %s: cannot set their command menu: %s", user_id, exc.message)


async def set_descriptions(bot: Bot) -> None:
    """What Telegram shows before the first message (the description) and on the bot's profile
    and shared links (the short description), one per language we speak. Each is set only when
    Telegram holds another text, so a restart, or a second replica, costs two reads."""
    for lang, catalogue in CATALOGUES.items():
        code = None if lang == DEFAULT else lang
        try:
            current = await bot.get_my_description(language_code=code)
            if current.description != catalogue.description:
                await bot.set_my_description(catalogue.description, language_code=code)
            short = await bot.get_my_short_description(language_code=code)
            if short.short_description != catalogue.short_description:
                await bot.set_my_short_description(catalogue.short_description, language_code=code)
        except BadRequest as exc:  # not worth stopping the bot for
            log.warning("could not set the %s description: %s", lang, exc.message)


async def _unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from an older version of the bot, or forged data: say so, do nothing."""
    query = update.callback_query
    if query:
        await query.answer(messages(lang_of(query.from_user)).button_stale)


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

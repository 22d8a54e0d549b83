"""Register the bot's Telegram handlers on an Application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Coroutine, Mapping
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)

from bot.access import Gatekeeper
from bot.admin import Admin
from bot.billing import Billing, BillingPolicy
from bot.i18n import CATALOGUES, DEFAULT, EN, Messages, messages
from bot.intake import Intake
from bot.lifecycle import JobLifecycle
from bot.providers.base import Capabilities
from bot.settings_panel import SettingsPanel
from bot.sharing import Sharing
from bot.store import JobStore, PreferenceStore
from handlers import albums
from handlers.admin import AdminHandlers
from handlers.billing import BillingHandlers
from handlers.common import lang_of
from handlers.job_views import JobViews
from handlers.jobs import JobHandlers
from handlers.settings import SettingsHandlers
from handlers.sharing import SharingHandlers
from handlers.video import VideoHandlers

log = logging.getLogger(__name__)

#: The update types the handlers use; passed to getUpdates/setWebhook as allowed_updates.
#: Inline queries and chosen results come only once the operator turns on inline mode (and
#: inline feedback) in BotFather; asking for them costs nothing while it is off.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.CHOSEN_INLINE_RESULT,
    Update.PRE_CHECKOUT_QUERY,
]

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


class _ViaThisBot(filters.MessageFilter):
    """A message someone posted through our own inline mode (a shared video): the bot made
    it, and must not take it for a request, nor answer it with "I cannot use videos"."""

    def filter(self, message: Message) -> bool:
        return message.via_bot is not None and message.via_bot.id == message.get_bot().id


async def _ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Matched, so no later handler sees the update; nothing to do."""


def register(
    application: Application,  # type: ignore[type-arg]
    *,
    intake: Intake,
    lifecycle: JobLifecycle,
    store: JobStore,
    preferences: PreferenceStore,
    capabilities: Mapping[str, Capabilities],
    gatekeeper: Gatekeeper,
    sharing: Sharing,
    album_wait: float | None = None,
    billing: Billing | None = None,
    replicas_within: float | None = None,
) -> None:
    """Add every handler. `capabilities`: what each provider offers (the settings panel's
    choices); `sharing`: inline mode, Send again and video links; `album_wait`: seconds of
    quiet that end an album (see `albums`); `billing`: credits and Stars (None: off);
    `replicas_within`: `/stats` lists the replicas heard from within that many seconds."""
    billing = billing if billing is not None else Billing(store, BillingPolicy())
    admin = AdminHandlers(gatekeeper, Admin(store, gatekeeper, billing, replicas_within))
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
    money = BillingHandlers(billing, store, gatekeeper, gatekeeper.admin_ids)
    shares = SharingHandlers(sharing, start=video.start)
    application.bot_data["albums"] = video.albums
    application.add_handlers(
        [
            # Payments first: a successful payment is a message, and must be credited.
            PreCheckoutQueryHandler(money.pre_checkout),
            MessageHandler(filters.SUCCESSFUL_PAYMENT, money.successful_payment),
            MessageHandler(_ViaThisBot(), _ignore),
            CommandHandler("start", money.buy, filters=filters.Regex(r"^/start buy$")),
            CommandHandler("buy", money.buy),
            CommandHandler("balance", money.balance),
            CommandHandler("paysupport", money.paysupport),
            CommandHandler("terms", money.terms),
            CommandHandler("grant", money.grant),
            CommandHandler("refund", money.refund),
            CallbackQueryHandler(money.button, pattern=r"^buy(:|$)"),
            CommandHandler("start", shares.start),
            CommandHandler("help", video.help),
            CommandHandler("video", video.video),
            CommandHandler("effect", video.effect),
            CommandHandler("settings", settings.command),
            CommandHandler("jobs", jobs.jobs),
            CommandHandler("cancel", jobs.cancel),
            CommandHandler("stats", admin.stats),
            CommandHandler("ban", admin.ban),
            CommandHandler("unban", admin.unban),
            CallbackQueryHandler(settings.press, pattern=r"^set:"),
            CallbackQueryHandler(settings.open, pattern=r"^settings$"),
            CallbackQueryHandler(video.effect_button, pattern=r"^fx:[a-z_]{1,40}$"),
            CallbackQueryHandler(jobs.button, pattern=r"^(stop|cancel|again|extend|jobs|job):"),
            CallbackQueryHandler(shares.resend, pattern=r"^resend:"),
            CallbackQueryHandler(_unknown_button),
            InlineQueryHandler(shares.inline_query),
            ChosenInlineResultHandler(shares.chosen),
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
BILLING_ADMIN_COMMANDS = {
    "grant": "Give credits: /grant <user id> <credits> [why]",
    "refund": "Refund a Stars payment: /refund <charge id>",
}
#: Shown in the menu only with BILLING=stars; (command, key of its description in `credits`).
BILLING_COMMANDS = ("buy", "balance", "paysupport", "terms")


async def set_commands(
    bot: Bot, admin_user_ids: Collection[int] = (), *, billing: bool = False
) -> None:
    """The command menu: English by default, one list per other language we speak, and in
    each admin's private chat the admin commands too (operators read English). With
    `billing`, the credit commands are in it (Telegram asks sellers for /paysupport)."""
    for lang, catalogue in CATALOGUES.items():
        commands = [BotCommand(name, text) for name, text in _menu(catalogue, billing).items()]
        await bot.set_my_commands(commands, language_code=None if lang == DEFAULT else lang)
    admin_commands = [BotCommand(name, text) for name, text in _menu(EN, billing).items()]
    admin_commands += [BotCommand(name, text) for name, text in ADMIN_COMMANDS.items()]
    if billing:
        admin_commands += [BotCommand(n, text) for n, text in BILLING_ADMIN_COMMANDS.items()]
    for user_id in admin_user_ids:
        try:
            await bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(user_id))
        except BadRequest as exc:  # the admin never started the bot: no private chat yet
            log.warning("admin %s: cannot set their command menu: %s", user_id, exc.message)


def _menu(catalogue: Messages, billing: bool) -> dict[str, str]:
    menu = dict(catalogue.commands)
    if billing:
        menu.update({name: catalogue.credits[f"command_{name}"] for name in BILLING_COMMANDS})
    return menu


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

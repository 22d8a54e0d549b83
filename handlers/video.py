"""Requests for videos: `/video`, photos and image files (alone or as an album), replies to
the bot's "what should happen?" question, and a short answer for media the bot cannot use.

No provider or database knowledge lives here; only Telegram's shapes and intake calls. In
groups the bot answers only what is meant for it: commands, captions naming it, and replies
to its own messages.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from telegram import Bot, ForceReply, Message, ReplyParameters, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import texts
from bot.access import Gatekeeper
from bot.i18n import messages
from bot.intake import Intake
from bot.store import JobStore
from handlers.albums import ALBUM_WAIT, AlbumCollector, Spawn
from handlers.common import (
    caption_command,
    command_argument,
    declared_size,
    image_of,
    is_private,
    lang_of,
    mentions_bot,
    pressed_message,
    replies_to_bot,
    requester_of,
)
from handlers.settings import SettingsHandlers

log = logging.getLogger(__name__)

MAX_PHOTOS = 4  # a start and an end frame, or up to four references (`Intake`)
_FILE_IDS_SEPARATOR = " "  # Telegram file ids never contain spaces


class VideoHandlers:
    def __init__(
        self,
        intake: Intake,
        store: JobStore,
        settings: SettingsHandlers,
        *,
        bot: Bot,
        album_wait: float = ALBUM_WAIT,
        spawn: Spawn | None = None,
        gatekeeper: Gatekeeper | None = None,
    ) -> None:
        """`gatekeeper`: to give hints once a while rather than to every message of a flood."""
        self._gate = gatekeeper
        self._intake = intake
        self._store = store
        self._settings = settings
        self._bot = bot  # its username is known once the application has started
        self.albums = AlbumCollector(self._album, store, bot, wait=album_wait, spawn=spawn)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start`, with a deep link's payload (`t.me/<bot>?start=settings`) opening that screen;
        `/start help`, no payload and a payload we do not know all get the help."""
        if context.args and context.args[0] == "settings":
            await self._settings.command(update, context)
        else:
            await self.help(update, context)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message:
            await message.reply_text(messages(lang_of(message.from_user)).help)

    async def video(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/video <prompt>`, or a reply to a photo with `/video <prompt>` to animate it."""
        message = update.effective_message
        if message is None:
            return
        image = image_of(message.reply_to_message)
        lang = lang_of(message.from_user)
        if image and await self._oversized([message.reply_to_message], message, lang):
            return
        await self._intake.request_from_text(
            requester_of(message), command_argument(message), [image] if image else [], lang=lang
        )

    async def effect(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/effect` alone lists the effects with buttons; `/effect <name>` as a reply to a
        photo makes that effect (a two-person effect needs an album: the answer says so)."""
        message = update.effective_message
        if message is None:
            return
        lang = lang_of(message.from_user)
        image = image_of(message.reply_to_message)
        if image and await self._oversized([message.reply_to_message], message, lang):
            return
        await self._intake.request_effect(
            requester_of(message), command_argument(message), [image] if image else [], lang=lang
        )

    async def effect_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button of /effect's list: show what to send for that effect, keeping the list."""
        query = update.callback_query
        if query is None:
            return
        lang = lang_of(query.from_user)
        message = pressed_message(query)  # only a list the bot made may be edited
        if message is None:
            await query.answer(messages(lang).button_stale)
            return
        _, _, name = (query.data or "").partition(":")
        await query.answer()
        with contextlib.suppress(BadRequest):  # the same effect pressed twice: not modified
            await message.edit_text(
                self._intake.effect_how(name, lang), reply_markup=message.reply_markup
            )

    async def image(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo or an image file; album parts are collected and handled together."""
        message = update.effective_message
        if message is None or image_of(message) is None:
            return
        if message.media_group_id:
            await self.albums.add(message)
        else:
            await self._images([message])

    async def _album(self, parts: list[Message]) -> None:
        """A complete album, handled outside any update: failures are answered here."""
        try:
            await self._images([part for part in parts if image_of(part)])
        except Exception:
            log.exception("album %s: handling failed", parts[0].media_group_id)
            with contextlib.suppress(TelegramError):
                await parts[0].reply_text(messages(lang_of(parts[0].from_user)).sorry)

    async def _images(self, parts: list[Message]) -> None:
        """One request from one photo or an album: the caption (on any part) is the prompt."""
        if not parts:
            return
        captioned = next((part for part in parts if part.caption), parts[0])
        caption = (captioned.caption or "").strip()
        effect, scene = caption_command(caption, self._bot.username, "effect")
        if effect:  # `/effect hug` on one photo or an album of two people
            file_ids = [file_id for part in parts if (file_id := image_of(part))]
            lang = lang_of(captioned.from_user)
            if len(parts) > MAX_PHOTOS:
                await captioned.reply_text(messages(lang).album_too_many)
            elif not await self._oversized(parts, captioned, lang):
                requester = requester_of(captioned)
                await self._intake.request_effect(requester, scene, file_ids, lang=lang)
            return
        addressed, caption = caption_command(caption, self._bot.username)
        if not addressed and not is_private(captioned):
            return  # a photo in a group not meant for the bot
        lang = lang_of(captioned.from_user)
        if len(parts) > MAX_PHOTOS:
            await captioned.reply_text(messages(lang).album_too_many)
            return
        if await self._oversized(parts, captioned, lang):
            return
        file_ids = [file_id for part in parts if (file_id := image_of(part))]
        if caption:
            requester = requester_of(captioned)
            await self._intake.request_from_text(requester, caption, file_ids, lang=lang)
            return
        m = messages(lang)
        question = await captioned.reply_text(
            m.photo_question,
            reply_markup=ForceReply(selective=True, input_field_placeholder=m.photo_placeholder),
            reply_parameters=ReplyParameters(
                captioned.message_id, allow_sending_without_reply=True
            ),
        )
        await self._store.save_photo_prompt(
            captioned.chat.id,
            question.message_id,
            _FILE_IDS_SEPARATOR.join(file_ids),
            user_id=requester_of(captioned).user_id,
        )

    async def _oversized(
        self, images: Sequence[Message | None], answer_to: Message, lang: str
    ) -> bool:
        """Refuse, with words, images Telegram declares too big to use: before any download."""
        refusal = self._intake.oversized_image([declared_size(m) for m in images], lang)
        if refusal is not None:
            await answer_to.reply_text(refusal)
        return refusal is not None

    async def text_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text reply: to one of the bot's questions, or (in private) to a photo."""
        message = update.effective_message
        if message is None or message.reply_to_message is None:
            return
        replied = message.reply_to_message
        file_ids: list[str] = []
        if replies_to_bot(message, context.bot.id):
            if await self._settings.answer(message, replied.message_id, context):
                return
            asker = requester_of(message).user_id  # only the photo's sender may answer
            stored = await self._store.take_photo_prompt(message.chat.id, replied.message_id, asker)
            file_ids = stored.split(_FILE_IDS_SEPARATOR) if stored else []
        lang = lang_of(message.from_user)
        if not file_ids and is_private(message) and (image := image_of(replied)):
            if await self._oversized([replied], message, lang):
                return
            file_ids = [image]
        if file_ids:
            await self._intake.request_from_text(
                requester_of(message), message.text or "", file_ids, lang=lang
            )
        elif is_private(message) and await self._first(message, "hint"):
            await message.reply_text(messages(lang).private_hint)

    async def chat_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: say how to ask for a video (once a while: chatter
        gets one hint, not one per message)."""
        message = update.effective_message
        if message and await self._first(message, "hint"):
            await message.reply_text(messages(lang_of(message.from_user)).private_hint)

    async def other_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, videos, voice, audio, GIFs and non-image files: say what works instead.

        In groups only when meant for the bot: a caption naming it, or a reply to it (a sticker
        replying to the bot is a reaction, not a request).
        """
        message = update.effective_message
        if message is None:
            return
        kind = _media_kind(message)
        if not is_private(message):
            named = mentions_bot(message, self._bot.username)
            replying = replies_to_bot(message, context.bot.id) and kind != "sticker"
            if not (named or replying):
                return
        if await self._first(message, f"media:{kind}"):
            await message.reply_text(texts.unsupported_media(kind, lang_of(message.from_user)))

    async def _first(self, message: Message, kind: str) -> bool:
        """Whether to give the sender this kind of hint now (see `Gatekeeper.should_answer`)."""
        user = message.from_user
        if self._gate is None or user is None:
            return True
        return await self._gate.should_answer(user.id, kind)


def _media_kind(message: Message) -> str:
    for kind in ("sticker", "video_note", "voice", "audio", "animation", "video"):
        if getattr(message, kind):
            return kind
    return "document"

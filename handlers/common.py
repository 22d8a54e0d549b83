"""What every handler reads from an update: who asked, where to answer, in which language,
and whether a group message was meant for the bot at all."""

from __future__ import annotations

import re

from telegram import Bot, CallbackQuery, Message, MessageEntity, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.i18n import language
from bot.jobs import Requester
from bot.keyboards import offers

_ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def requester_of(message: Message, user: User | None = None) -> Requester:
    """Who asked and where to answer: the chat, the message to reply to and any forum topic.

    `user` is the person when it is not the message's sender (a button under a bot message).
    """
    user = user or message.from_user
    mention = None
    if user and message.chat.type != ChatType.PRIVATE:
        mention = f"@{user.username}" if user.username else user.first_name
    return Requester(
        user_id=user.id if user else message.chat.id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        mention=mention,
    )


def lang_of(user: User | None) -> str:
    return language(user.language_code if user else None)


def is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def command_argument(message: Message) -> str:
    """The text after a leading `/command`, keeping the user's line breaks."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return text[entity.length :].strip()
    return text.strip()


def image_of(message: Message | None) -> str | None:
    """The file id of the message's photo (largest size) or image file, if it has one."""
    if message is None:
        return None
    if message.photo:
        return message.photo[-1].file_id
    document = message.document
    if document and (document.mime_type or "").startswith("image/") and not message.animation:
        return document.file_id
    return None


def declared_size(message: Message | None) -> int | None:
    """The size in bytes Telegram declares for the message's image (see `image_of`), if any."""
    if message is None:
        return None
    if message.photo:
        return message.photo[-1].file_size
    return message.document.file_size if message.document else None


def caption_command(caption: str, bot_username: str, command: str = "video") -> tuple[bool, str]:
    """(is it a `/<command>` for this bot, the caption without the command)."""
    match = re.match(rf"^/{command}(?:@(?P<bot>\w+))?(?:\s+|$)", caption, re.IGNORECASE)
    if not match:
        return False, caption
    addressed_to = match.group("bot")
    if addressed_to and addressed_to.lower() != bot_username.lower():
        return False, caption
    return True, caption[match.end() :].strip()


def mentions_bot(message: Message, bot_username: str) -> bool:
    """A caption or text naming the bot: `@bot` or a command for it."""
    text = message.caption or message.text or ""
    if any(caption_command(text, bot_username, name)[0] for name in ("video", "effect")):
        return True
    return re.search(rf"@{re.escape(bot_username)}\b", text, re.IGNORECASE) is not None


def replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


async def is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether the user administers the group (asked from Telegram, never cached)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in _ADMINS


def pressed_message(query: CallbackQuery) -> Message | None:
    """The bot message a button was pressed under, if Telegram still gives it to us and it
    carries the pressed button.

    A client can send any callback data under any bot message it sees (say, someone else's
    list in a group): data the bot did not put on that very message is refused, so a press can
    only act on, and edit, the message the bot made for it.
    """
    message = query.message
    if not isinstance(message, Message) or not offers(message.reply_markup, query.data):
        return None
    return message

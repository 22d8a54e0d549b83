"""The user's side, as tests play it: people and groups, and what they do (write, send a
photo, a document or a sticker, press a button), each turned into the update Telegram would
make of it."""

from __future__ import annotations

import copy
import hashlib
import io
import re
import time

from PIL import Image

from tests.fakes.telegram.api import JSON, now, public
from tests.fakes.telegram.files import FilesMixin
from tests.fakes.telegram.text import auto_entities
from tests.fakes.telegram.updates import UpdatesMixin


class UsersMixin(FilesMixin, UpdatesMixin):
    """`user`, `group`, `set_admin`, and `send_*`/`press_button` on their behalf."""

    def user(
        self,
        user_id: int,
        first_name: str = "Alice",
        *,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSON:
        """A User who has started the bot, so their private chat exists."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._register_user(user)
        return copy.deepcopy(user)

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        *,
        type: str = "supergroup",
        is_forum: bool = False,
    ) -> JSON:
        """A group or supergroup chat the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group and supergroup chat ids are negative")
        chat: JSON = {"id": chat_id, "title": title, "type": type}
        if is_forum:
            chat["is_forum"] = True
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def set_admin(self, chat_id: int, user_id: int, *, owner: bool = False) -> None:
        """Make ``user_id`` (possibly the bot itself) an administrator or the creator."""
        self._roles[(chat_id, user_id)] = "creator" if owner else "administrator"

    def send_text(
        self,
        user: JSON,
        text: str,
        *,
        chat: JSON | None = None,
        reply_to: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        """A user writes ``text``; commands, URLs and mentions get their entities."""
        content: JSON = {"text": text}
        if entities := auto_entities(text):
            content["entities"] = entities
        return self._incoming(user, chat, content, reply_to, message_thread_id)

    def send_photo(
        self,
        user: JSON,
        image: bytes,
        *,
        caption: str | None = None,
        chat: JSON | None = None,
        reply_to: int | None = None,
        media_group_id: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> JSON:
        """A user sends a photo; Telegram offers it in several sizes, the largest last."""
        sizes = self._store_photo(image, width, height)
        content: JSON = {"photo": sizes, **self._caption_content(caption)}
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self._incoming(user, chat, content, reply_to)

    def send_document(
        self,
        user: JSON,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        chat: JSON | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """A user sends a file as a document."""
        stored = self._store_file("document", data, mime_type=mime_type, file_name=file_name)
        content: JSON = {"document": self._media_object(stored)}
        content.update(self._caption_content(caption))
        return self._incoming(user, chat, content, reply_to)

    def send_sticker(self, user: JSON, *, chat: JSON | None = None) -> JSON:
        """A user sends a (static, 512x512 WebP) sticker."""
        buffer = io.BytesIO()
        Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, "WEBP")
        stored = self._store_file("sticker", buffer.getvalue(), mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\N{SLIGHTLY SMILING FACE}",
            "set_name": "FakeStickers",
            "file_size": len(stored.data),
        }
        return self._incoming(user, chat, {"sticker": sticker}, None)

    def press_button(self, user: JSON, message: JSON, data: str, *, strict: bool = True) -> JSON:
        """A user taps an inline button of a bot message; returns the CallbackQuery.

        With ``strict`` the message must currently show a button with that callback_data,
        which catches tests pressing buttons the bot has already removed.
        """
        chat_id = message["chat"]["id"]
        stored = self._messages.get(chat_id, {}).get(message["message_id"])
        if stored is None:
            raise KeyError(f"no message {message['message_id']} in chat {chat_id}")
        if strict and data not in _button_datas(stored):
            raise AssertionError(
                f"message has no button {data!r}; buttons: {_button_datas(stored)}"
            )
        self._register_user(user)
        query_id = str(4_000_000_000_000_000 + len(self._queries) + 1)
        digest = hashlib.sha256(f"{self.bot_id}:{chat_id}".encode()).hexdigest()
        query: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "message": public(stored),
            "chat_instance": str(int(digest[:15], 16)),
            "data": data,
        }
        self._queries[query_id] = query
        self._pressed_at[query_id] = time.monotonic()
        self._enqueue("callback_query", query)
        return copy.deepcopy(query)

    def _incoming(
        self,
        user: JSON,
        chat: JSON | None,
        content: JSON,
        reply_to: int | None,
        message_thread_id: int | None = None,
    ) -> JSON:
        self._register_user(user)
        if chat is not None:
            self._chats.setdefault(chat["id"], copy.deepcopy(chat))
        target = self._chats[chat["id"] if chat else user["id"]]
        message: JSON = {
            "message_id": self._next_message_id(target["id"]),
            "from": copy.deepcopy(user),
            "chat": copy.deepcopy(target),
            "date": now(),
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if target.get("is_forum"):
                message["is_topic_message"] = True
        if reply_to is not None:
            replied = self._messages.get(target["id"], {}).get(reply_to)
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {target['id']} to reply to")
            message["reply_to_message"] = self._reply_copy(replied)
        message.update(copy.deepcopy(content))
        self._messages.setdefault(target["id"], {})[message["message_id"]] = message
        if self._delivered_to_bot(message):
            self._enqueue("message", message)
        return public(message)

    def _delivered_to_bot(self, message: JSON) -> bool:
        """Privacy mode: in groups the bot only sees commands, mentions, replies to it and
        messages posted through its inline mode (`via_bot`)."""
        if not self.privacy_mode or message["chat"]["type"] == "private":
            return True
        if message.get("via_bot", {}).get("id") == self.bot_id:
            return True
        replied = message.get("reply_to_message", {})
        if replied.get("from", {}).get("id") == self.bot_id:
            return True
        text = message.get("text") or message.get("caption") or ""
        mine = rf"/\w+(@{re.escape(self.bot_username)})?\b|@{re.escape(self.bot_username)}\b"
        return re.search(mine, text, re.IGNORECASE) is not None

    def _caption_content(self, caption: str | None) -> JSON:
        if not caption:
            return {}
        content: JSON = {"caption": caption}
        if entities := auto_entities(caption):
            content["caption_entities"] = entities
        return content


def _button_datas(message: JSON) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]

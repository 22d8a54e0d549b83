"""Messages the bot sends and edits: text and captions, inline keyboards, replies, media,
chat actions, edits and deletions, each checked as Telegram checks it."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.telegram.api import (
    JSON,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    ApiError,
    UploadedFile,
    bad_request,
    now,
    public,
)
from tests.fakes.telegram.files import FilesMixin
from tests.fakes.telegram.http import decode_param, to_bool, to_int
from tests.fakes.telegram.text import auto_entities, merge_entities, trim

PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_MEDIA_KINDS = ("video", "animation", "document", "photo")
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


class MessagesMixin(FilesMixin):
    """sendMessage, send{Video,Animation,Document,Photo}, sendChatAction, the edits and
    deleteMessage."""

    def _format(self, text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
        """Keep explicit entities, trim, and add auto-detected entities.

        The bot sends plain text, so the fake parses no markup: with a parse_mode (HTML,
        Markdown, MarkdownV2) the text is kept as it came, and an unknown one is refused.
        """
        text = "" if text is None else str(text)
        parsed = entities if isinstance(entities, list) else []
        if parse_mode and str(parse_mode).lower() not in PARSE_MODES:
            raise bad_request("unsupported parse_mode")
        text, parsed = trim(text, parsed)
        return text, merge_entities(parsed, auto_entities(text))

    def _text(self, params: JSON) -> tuple[str, list[JSON]]:
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return text, entities

    def _caption(self, params: JSON) -> JSON:
        caption, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        content: JSON = {"caption": caption} if caption else {}
        if caption and entities:
            content["caption_entities"] = entities
        return content

    def _reply_markup(self, params: JSON) -> JSON | None:
        """Validate reply_markup; only an inline keyboard becomes part of the Message."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for button in (button for row in rows for button in row):
            self._check_button(button)
        return {"inline_keyboard": copy.deepcopy(rows)}

    def _check_button(self, button: Any) -> None:
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        if "callback_data" in button:
            data = str(button["callback_data"]).encode()
            if not 1 <= len(data) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            return
        if not _BUTTON_ACTIONS & button.keys():
            raise bad_request(
                "can't parse inline keyboard button:"
                " Text buttons are unallowed in the inline keyboard"
            )
        if "url" in button and not button["url"]:
            raise bad_request("BUTTON_URL_INVALID")
        if "switch_inline_query_chosen_chat" in button:
            _check_chosen_chat(button["switch_inline_query_chosen_chat"])

    def _reply_to(self, chat: JSON, params: JSON) -> JSON | None:
        """The replied-to message for reply_parameters or the legacy reply_to_message_id."""
        reply = params.get("reply_parameters")
        if reply is not None:
            if not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
            message_id = to_int(reply.get("message_id", 0))
            allow_missing = to_bool(reply.get("allow_sending_without_reply", False))
            chat_id = decode_param("chat_id", reply.get("chat_id", chat["id"]))
        elif params.get("reply_to_message_id"):
            message_id = params["reply_to_message_id"]
            allow_missing = bool(params.get("allow_sending_without_reply"))
            chat_id = chat["id"]
        else:
            return None
        replied = self._messages.get(chat_id, {}).get(message_id)
        if replied is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return self._reply_copy(replied)

    def _post(self, chat: JSON, params: JSON, reply: JSON | None, content: JSON) -> JSON:
        """Store and return a new bot message (after the flood check)."""
        self._throttle(chat["id"])
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": copy.deepcopy(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": now(),
        }
        if thread := params.get("message_thread_id"):
            message["message_thread_id"] = thread
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        if reply is not None:
            message["reply_to_message"] = reply
        message.update(content)
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return public(message)

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params)
        text, entities = self._text(params)
        markup = self._reply_markup(params)
        reply = self._reply_to(chat, params)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        if markup:
            content["reply_markup"] = markup
        return self._post(chat, params, reply, content)

    async def _send_video(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("video", params, files)

    async def _send_animation(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("animation", params, files)

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("document", params, files)

    async def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("photo", params, files)

    async def _send_media(self, kind: str, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params)
        caption = self._caption(params)
        markup = self._reply_markup(params)
        reply = self._reply_to(chat, params)
        stored = await self._input_media(kind, params, files)
        content: JSON = {}
        if kind == "photo":
            content["photo"] = copy.deepcopy(stored.photo_sizes or [])
        else:
            content[kind] = self._media_object(stored)
            if kind == "animation":  # Telegram also fills "document" for animations
                content["document"] = self._media_object(stored)
        content.update(caption)
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        if params.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        if markup:
            content["reply_markup"] = markup
        if "supports_streaming" in params:
            content["supports_streaming"] = params["supports_streaming"]
        return self._post(chat, params, reply, content)

    async def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _editable(self, params: JSON) -> tuple[JSON, JSON]:
        """The chat and stored bot message an edit targets."""
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        if not params.get("message_id"):
            raise bad_request("message identifier is not specified")
        message = self._messages.get(chat["id"], {}).get(params["message_id"])
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: JSON, message: JSON, changes: JSON) -> JSON:
        """Apply changed fields (falsy removes the field); an identical edit is an error.

        Every edit method replaces the inline keyboard, so leaving reply_markup out removes it.
        """
        if all((message.get(key) or None) == (value or None) for key, value in changes.items()):
            raise ApiError(400, NOT_MODIFIED)
        self._throttle(chat["id"])
        for key, value in changes.items():
            if value:
                message[key] = copy.deepcopy(value)
            else:
                message.pop(key, None)
        message["edit_date"] = now()
        return public(message)

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._text(params)
        markup = self._reply_markup(params)
        return self._apply_edit(
            chat, message, {"text": text, "entities": entities, "reply_markup": markup}
        )

    async def _edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self._editable(params)
        if not any(kind in message for kind in _MEDIA_KINDS):
            raise bad_request("there is no caption in the message to edit")
        caption = self._caption(params)
        changes = {
            "caption": caption.get("caption"),
            "caption_entities": caption.get("caption_entities"),
            "reply_markup": self._reply_markup(params),
        }
        return self._apply_edit(chat, message, changes)

    async def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON:
        chat, message = self._editable(params)
        return self._apply_edit(chat, message, {"reply_markup": self._reply_markup(params)})

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat(params, sending=False)
        message = self._messages.get(chat["id"], {}).get(params.get("message_id", 0))
        if message is None:
            raise bad_request("message to delete not found")
        is_admin = (chat["id"], self.bot_id) in self._roles
        if chat["type"] != "private" and message["from"]["id"] != self.bot_id and not is_admin:
            raise bad_request("message can't be deleted")
        del self._messages[chat["id"]][message["message_id"]]
        return True


_CHOSEN_CHAT_TYPES = (
    "allow_user_chats",
    "allow_bot_chats",
    "allow_group_chats",
    "allow_channel_chats",
)


def _check_chosen_chat(chosen: Any) -> None:
    """A SwitchInlineQueryChosenChat: an object with an optional string query and at least one
    kind of chat allowed (python-telegram-bot documents that Telegram refuses none)."""
    if not isinstance(chosen, dict):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "switch_inline_query_chosen_chat"'
            " must be of type Object"
        )
    if not isinstance(chosen.get("query", ""), str):
        raise bad_request("can't parse inline keyboard button: query must be of type String")
    allowed = [chosen.get(kind, False) for kind in _CHOSEN_CHAT_TYPES]
    if not all(isinstance(flag, bool) for flag in allowed):
        raise bad_request("can't parse inline keyboard button: allow_* must be of type Boolean")
    if not any(allowed):
        raise bad_request("BUTTON_TYPE_INVALID")

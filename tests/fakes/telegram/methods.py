"""The Bot API methods beyond messages: who the bot is (getMe), its command menus and
descriptions, answers to button presses, and what it may learn of chats and members."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

from tests.fakes.telegram.api import (
    JSON,
    QUERY_TOO_OLD,
    ApiError,
    UploadedFile,
    bad_request,
)
from tests.fakes.telegram.state import TelegramState

#: Seconds within which a button press must be answered (real time, whatever the rate limits
#: clock). Telegram does not document it; bots report "query is too old" after about ten
#: seconds, and the client shows a spinner until then. A bot that answers after its work
#: (an upload, a download) runs into it.
CALLBACK_ANSWER_DEADLINE = 10.0

_GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)


class MethodsMixin(TelegramState):
    """getMe, the command and description methods, answerCallbackQuery,
    getChat and getChatMember."""

    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be non-empty")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = copy.deepcopy(commands)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    # setMyDescription: 0-512 characters; setMyShortDescription: 0-120. An empty string removes
    # the text for that language; getMy*Description falls back to the default language's.

    async def _set_my_description(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return self._set_description("description", 512, params)

    async def _set_my_short_description(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return self._set_description("short_description", 120, params)

    async def _get_my_description(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {"description": self._get_description("description", params)}

    async def _get_my_short_description(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {"short_description": self._get_description("short_description", params)}

    def _set_description(self, field: str, limit: int, params: JSON) -> bool:
        text = str(params.get(field) or "")
        if len(text) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        key = (field, str(params.get("language_code") or ""))
        if text:
            self._descriptions[key] = text
        else:
            self._descriptions.pop(key, None)
        return True

    def _get_description(self, field: str, params: JSON) -> str:
        lang = str(params.get("language_code") or "")
        return self._descriptions.get((field, lang)) or self._descriptions.get((field, ""), "")

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    async def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._queries or query_id in self.callback_answers:
            raise ApiError(400, QUERY_TOO_OLD)
        if time.monotonic() - self._pressed_at[query_id] > CALLBACK_ANSWER_DEADLINE:
            raise ApiError(400, QUERY_TOO_OLD)  # the client gave up waiting
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = copy.deepcopy(params)
        return True

    async def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params, sending=False)
        gifts = dict.fromkeys(_GIFT_TYPES, False)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def _get_chat_member(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params, sending=False)
        user_id = params.get("user_id", 0)
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        status = self._roles.get((chat["id"], user_id), "member")
        member: JSON = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(_ADMIN_RIGHTS)
        return member


_ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
    "can_manage_topics": True,
}

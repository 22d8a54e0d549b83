"""Inline mode (https://core.telegram.org/bots/api#inline-mode): a user types `@bot query` in
any chat, Telegram sends the bot an `inline_query` (only when inline mode is on in BotFather),
the bot answers with `answerInlineQuery`, the user picks a result, which is posted into that
chat with `via_bot`, and (with inline feedback on) the bot gets a `chosen_inline_result`.

Telegram caches an answer for `cache_time` seconds (300 by default) and hands it to anyone who
types the same query, without asking the bot again, unless `is_personal` was passed: then
only to the same user. The fake does the same, so an answer meant for one person that is not
personal reaches the next person who types the same words.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from tests.fakes.telegram.api import (
    JSON,
    MAX_CAPTION_LENGTH,
    QUERY_TOO_OLD,
    ApiError,
    UploadedFile,
    bad_request,
    now,
    public,
)
from tests.fakes.telegram.http import to_bool, to_int
from tests.fakes.telegram.messages import MessagesMixin
from tests.fakes.telegram.users import UsersMixin

MAX_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
MAX_OFFSET_BYTES = 64
MAX_QUERY_LENGTH = 256
DEFAULT_CACHE_TIME = 300
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The cached results the fake knows: their type, and the field holding the file_id.
_CACHED = {"video": ("video_file_id", "video"), "document": ("document_file_id", "document")}
_CHAT_TYPES = frozenset({"sender", "private", "group", "supergroup", "channel"})


class InlineMixin(UsersMixin, MessagesMixin):
    """inline_query updates, answerInlineQuery with Telegram's cache, chosen results."""

    def send_inline_query(
        self, user: JSON, query: str = "", *, offset: str = "", chat_type: str = "sender"
    ) -> str | None:
        """`user` types `@bot query` (and scrolls to `offset`); returns the query id, or None
        when the bot has no inline mode (clients then send nothing at all).

        An answer still in Telegram's cache for this query is given at once (`inline_answer`
        has it) and the bot hears nothing.
        """
        if not self.inline_mode:
            return None
        if len(query) > MAX_QUERY_LENGTH or chat_type not in _CHAT_TYPES:
            raise ValueError("clients send at most 256 characters and a known chat_type")
        self._register_user(user)
        query_id = str(5_000_000_000_000_000 + len(self._inline_queries) + 1)
        inline: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
        self._inline_queries[query_id] = inline
        cached = self._cached_answer(user["id"], query, offset)
        if cached is not None:
            self.inline_answers[query_id] = {**copy.deepcopy(cached), "from_cache": True}
            self._changed.notify()
        else:
            self._enqueue("inline_query", inline)
        return query_id

    async def inline_answer(self, query_id: str, timeout: float = 10.0) -> JSON:  # noqa: ASYNC109
        """What the user sees for the query: `results`, `next_offset`, `button`, and
        `from_cache` (True when Telegram answered from its cache, without the bot)."""
        return await self._until(
            lambda: copy.deepcopy(self.inline_answers.get(query_id)),
            timeout,
            lambda: f"an answer to inline query {query_id}",
        )

    def choose_inline_result(self, user: JSON, query_id: str, result_id: str, chat: JSON) -> JSON:
        """`user` taps result `result_id` of their query: the message is posted into `chat`
        from them, `via_bot` the bot. The bot gets `chosen_inline_result` with inline
        feedback on, and the message itself if it is in that chat and may read it."""
        answer = self.inline_answers.get(query_id)
        if answer is None:
            raise KeyError(f"inline query {query_id} has no answer")
        result = next((r for r in answer["results"] if r["id"] == result_id), None)
        if result is None:
            raise KeyError(f"the answer to {query_id} has no result {result_id!r}")
        field, kind = _CACHED[result["type"]]
        stored = self._files[result[field]]
        chat = self._chats.get(chat["id"], chat)
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": copy.deepcopy(user),
            "chat": copy.deepcopy(chat),
            "date": now(),
            "via_bot": copy.deepcopy(self.bot_user),
            kind: self._media_object(stored),
        }
        content = self._caption(result)
        message.update(content)
        if "reply_markup" in result:
            message["reply_markup"] = copy.deepcopy(result["reply_markup"])
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        query = self._inline_queries[query_id]
        if self.inline_feedback:
            chosen: JSON = {
                "result_id": result_id,
                "from": copy.deepcopy(user),
                "query": query["query"],
            }
            self._enqueue("chosen_inline_result", chosen)
        if chat["id"] in self._chats and self._delivered_to_bot(message):
            self._enqueue("message", message)
        return public(message)

    def share_query(self, message: JSON, text: str) -> tuple[str, JSON]:
        """What a client does with the button labelled `text`: its inline query, and the chats
        it lets the user choose from (the `switch_inline_query_chosen_chat` object)."""
        stored = self._messages[message["chat"]["id"]][message["message_id"]]
        rows = stored.get("reply_markup", {}).get("inline_keyboard", [])
        for button in (button for row in rows for button in row):
            if button["text"] == text and "switch_inline_query_chosen_chat" in button:
                chosen = button["switch_inline_query_chosen_chat"]
                return str(chosen.get("query", "")), copy.deepcopy(chosen)
        raise AssertionError(f"no switch_inline_query_chosen_chat button {text!r}")

    def _cached_answer(self, user_id: int, query: str, offset: str) -> JSON | None:
        moment = time.monotonic()
        for key in ((query, offset, None), (query, offset, user_id)):
            entry = self._inline_cache.get(key)
            if entry is not None and entry[0] > moment:
                return entry[1]
        return None

    async def _answer_inline_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        query = self._inline_queries.get(query_id)
        if query is None or query_id in self.inline_answers:
            raise ApiError(400, QUERY_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for result in results:
            self._check_result(result, ids)
        next_offset = str(params.get("next_offset") or "")
        if len(next_offset.encode()) > MAX_OFFSET_BYTES:
            raise bad_request("NEXT_OFFSET_INVALID")
        button = params.get("button")
        if button is not None:
            self._check_results_button(button)
        cache_time = to_int(params.get("cache_time", DEFAULT_CACHE_TIME))
        personal = to_bool(params.get("is_personal", False))
        answer: JSON = {
            "results": copy.deepcopy(results),
            "next_offset": next_offset,
            "button": copy.deepcopy(button),
            "cache_time": cache_time,
            "is_personal": personal,
            "from_cache": False,
        }
        self.inline_answers[query_id] = answer
        if cache_time > 0:
            key = (query["query"], query["offset"], query["from"]["id"] if personal else None)
            self._inline_cache[key] = (time.monotonic() + cache_time, answer)
        return True

    def _check_result(self, result: Any, ids: set[str]) -> None:
        """One InlineQueryResult: a unique id of 1-64 bytes, a type the fake knows, a title,
        a file_id the bot may send of the right kind, a caption within the limit."""
        if not isinstance(result, dict):
            raise bad_request("can't parse inline query result")
        result_id = str(result.get("id") or "")
        if not 1 <= len(result_id.encode()) <= MAX_RESULT_ID_BYTES:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in ids:
            raise bad_request("RESULT_ID_DUPLICATE")
        ids.add(result_id)
        if result.get("type") not in _CACHED:
            raise bad_request("RESULT_TYPE_INVALID")
        field, kind = _CACHED[result["type"]]
        if not str(result.get("title") or ""):
            raise bad_request("RESULT_TITLE_EMPTY")
        stored = self._files.get(str(result.get(field) or ""))
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        if len(str(result.get("caption") or "")) > MAX_CAPTION_LENGTH:
            raise bad_request("MEDIA_CAPTION_TOO_LONG")
        if "reply_markup" in result:
            self._reply_markup({"reply_markup": result["reply_markup"]})

    @staticmethod
    def _check_results_button(button: Any) -> None:
        if not isinstance(button, dict) or not str(button.get("text") or ""):
            raise bad_request("can't parse inline query results button")
        parameter = button.get("start_parameter")
        if "web_app" not in button and not (
            isinstance(parameter, str) and _START_PARAMETER.fullmatch(parameter)
        ):
            raise bad_request("START_PARAM_INVALID")

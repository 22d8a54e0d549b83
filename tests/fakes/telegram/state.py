"""What the fake Telegram knows (users, chats, messages, files, updates, webhook) and the few
checks every method shares. Each part of the fake is a mixin over this one state."""

from __future__ import annotations

import asyncio
import copy
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from tests.fakes.recording import FaultQueue, Signal
from tests.fakes.telegram.api import (
    JSON,
    ApiError,
    Call,
    StoredFile,
    WebhookDelivery,
    bad_request,
    public,
    too_many_requests,
)
from tests.fakes.telegram.limits import RateLimiter

T = TypeVar("T")


@dataclass
class Hold:
    """A method held by `FakeTelegram.hold`: `arrived` is set when a request is waiting."""

    arrived: asyncio.Event
    released: asyncio.Event
    dropped: bool = False
    chat_id: int | None = None  # only requests for this chat are held; None: every request

    def holds(self, raw: JSON) -> bool:
        return self.chat_id is None or str(raw.get("chat_id")) == str(self.chat_id)


class TelegramState:
    """The fake's state, the knobs tests may flip, and what it recorded."""

    def __init__(
        self,
        token: str = "123456789:AAFakeTokenForTests_abcdefghijklmnop",  # noqa: S107
        *,
        bot_username: str = "kling_test_bot",
        bot_id: int = 123456789,
        enforce_rate_limits: bool = False,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.enforce_rate_limits = enforce_rate_limits
        self.url = ""
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": " ".join(p.capitalize() for p in bot_username.split("_")),
            "username": bot_username,
        }
        # Knobs tests may flip.
        self.refuse_urls = False
        self.blocked_users: set[int] = set()
        self.privacy_mode = False  # True: groups only deliver commands, mentions, replies to bot
        self.inline_mode = False  # BotFather's /setinline (off for a new bot)
        self.inline_feedback = False  # BotFather's /setinlinefeedback: chosen_inline_result
        self.webhook_retry_delay = 0.05  # first backoff after a failed push; doubles to 1 s
        self.clock: Callable[[], float] = time.monotonic  # drives the rate limiter
        # What happened.
        self.calls: list[Call] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.downloads: list[str] = []
        self.callback_answers: dict[str, JSON] = {}
        self.inline_answers: dict[str, JSON] = {}  # inline query id -> what the user saw
        self.rate_limited_responses = 0
        self.internal_errors: list[Exception] = []  # bugs in the fake itself (answered 500)
        # Faults tests set up.
        self._holds: dict[str, Hold] = {}
        self._faults = FaultQueue()
        # State.
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._last_message_id: dict[int, int] = {}
        self._roles: dict[tuple[int, int], str] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._queries: dict[str, JSON] = {}
        self._inline_queries: dict[str, JSON] = {}
        # (query, offset, user id or None when not personal) -> (expires, answer)
        self._inline_cache: dict[tuple[str, str, int | None], tuple[float, JSON]] = {}
        self._pressed_at: dict[str, float] = {}  # query id: when it was pressed (real time)
        self._paused_until: dict[object, float] = {}  # chat id: the end of a 429's retry_after
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        # (field, language_code) -> text; "" is every language without its own
        self._descriptions: dict[tuple[str, str], str] = {}
        # Payments (see `payments`): invoices by (chat, message), pre-checkout queries by id,
        # and the payments Telegram took, by charge id.
        self._invoices: dict[tuple[int, int], JSON] = {}
        self._checkouts: dict[str, Any] = {}
        self.payments: dict[str, Any] = {}
        self._payment_counter = itertools.count(1)
        self._pending: list[JSON] = []
        self._last_update_id = 0
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._polling = 0
        self._webhook: JSON | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._limiter = RateLimiter(lambda: self.clock())
        self._changed = Signal()
        self._closing = False
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        """The client for webhook pushes and URL fetches, made on first use (TLS setup is slow)."""
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=10.0)
        return self._http

    def _register_user(self, user: JSON) -> None:
        self._users[user["id"]] = copy.deepcopy(user)
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self._chats[user["id"]] = chat

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _reply_copy(self, message: JSON) -> JSON:
        """A message as it is quoted in `reply_to_message`: without its own reply."""
        replied = public(message)
        replied.pop("reply_to_message", None)
        return replied

    def _chat(self, params: JSON, *, sending: bool = True) -> JSON:
        """The target chat; 403 when it is the private chat of a user who blocked the bot."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat["type"] == "private" and chat["id"] in self.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _throttle(self, chat_id: int) -> None:
        """Telegram's flood limits, when `enforce_rate_limits` is on (see `limits`); and, always,
        a 429's `retry_after`: a chat told to wait is answered 429 again until it has."""
        now = self.clock()
        paused_until = self._paused_until.get(chat_id, -math.inf)
        if now < paused_until:
            self.rate_limited_responses += 1
            raise too_many_requests(max(1, math.ceil(paused_until - now)))
        if not self.enforce_rate_limits:
            return
        try:
            self._limiter.acquire(chat_id)
        except ApiError:
            self.rate_limited_responses += 1
            raise

    def _retry_after_served(self, params: JSON, retry_after: int) -> None:
        """A 429 with `retry_after` was answered for the chat in `params`: it must wait."""
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._paused_until[chat_id] = self.clock() + retry_after

    def unanswered_callback_queries(self) -> list[JSON]:
        """Buttons pressed that the bot never answered (Telegram's client spins meanwhile)."""
        return [q for q_id, q in self._queries.items() if q_id not in self.callback_answers]

    def stricter_chat_limit(self, chat_id: int, interval: float) -> None:
        """Let the chat take one message per ``interval`` seconds instead of one a second, when
        rate limits are enforced: Telegram only promises "about" one a second."""
        self._limiter.chat_intervals[chat_id] = interval

    async def _until(
        self,
        find: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
        what: Callable[[], str],
    ) -> T:
        """The first non-None `find()`, waiting for it; the failure lists the recorded calls,
        which shows where the bot stopped."""
        return await self._changed.until(
            find, timeout, lambda: f"{what()}; recorded calls: {self._call_summary()}"
        )

    def _call_summary(self) -> str:
        """Recorded methods in order, runs collapsed: ``getMe, getUpdates x5, sendMessage[400]``."""
        runs: list[list[Any]] = []
        for call in self.calls:
            label = call.method if call.http_status == 200 else f"{call.method}[{call.http_status}]"
            if runs and runs[-1][0] == label:
                runs[-1][1] += 1
            else:
                runs.append([label, 1])
        return ", ".join(label if n == 1 else f"{label} x{n}" for label, n in runs) or "(none)"

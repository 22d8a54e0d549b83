"""A real `telegram.Bot` with no network: PTB's own `BaseRequest` seam, answered in memory.

Unit tests pass `offline_bot()` in where the bot sends messages, instead of patching its
methods: the calls go through PTB's serialisation and error mapping (a 400 is a `BadRequest`,
a 403 a `Forbidden`) exactly as in production.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.request import BaseRequest, RequestData

from tests.fakes.recording import Signal

TOKEN = "123456:offline"


@dataclass(frozen=True)
class Sent:
    """One Bot API call: its method name and parameters."""

    method: str
    params: dict[str, Any]


#: Answers a call: a Bot API error as (status, description), or None for success.
Failure = Callable[[Sent], Awaitable[tuple[int, str] | None]]


class OfflineRequest(BaseRequest):
    """Records every call and answers it with a plausible `Message`; `fail` may refuse one,
    and may wait first (to hold a call in flight)."""

    def __init__(self, fail: Failure | None = None) -> None:
        self.sent: list[Sent] = []
        self._fail = fail
        self._next_id = 100
        self._changed = Signal()

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def calls(self, method: str) -> list[Sent]:
        return [call for call in self.sent if call.method == method]

    async def until(
        self,
        condition: Callable[[], bool],
        what: str,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> None:
        """Until `condition()` holds, re-checked after each call arrives (an event, not a
        number of loop turns); AssertionError naming `what` after `timeout` seconds."""
        await self._changed.until(lambda: True if condition() else None, timeout, what)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        params = dict(request_data.parameters) if request_data else {}
        call = Sent(url.rsplit("/", 1)[-1], params)
        self.sent.append(call)
        self._changed.notify()
        failure = await self._fail(call) if self._fail is not None else None
        if failure is not None:
            status, description = failure
            body = {"ok": False, "error_code": status, "description": description}
            return status, json.dumps(body).encode()
        self._next_id += 1
        chat = {"id": params.get("chat_id", 0), "type": "private"}
        message = {"message_id": params.get("message_id", self._next_id), "date": 0, "chat": chat}
        return 200, json.dumps({"ok": True, "result": message}).encode()


def offline_bot(fail: Failure | None = None) -> tuple[Bot, OfflineRequest]:
    """A bot whose every call is answered by the returned `OfflineRequest`."""
    request = OfflineRequest(fail)
    return Bot(TOKEN, request=request), request

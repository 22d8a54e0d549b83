"""A fake Telegram Bot API server for end-to-end tests.

The real python-telegram-bot ``Application`` talks to this Starlette app over real HTTP, so
the fake reproduces what the bot can observe of https://core.telegram.org/bots/api: the
``{"ok": ..., "result": ...}`` envelopes, Telegram's own error codes and descriptions, long
polling, webhooks, multipart uploads, media fetched by URL and file downloads.  Tests drive
it from the user's side (``send_text``, ``press_button`` ...) and inspect what the bot did
(``calls``, ``wait_for``, ``messages``), or inject faults (``fail_next``, ``blocked_users``).

    async with FakeTelegram() as tg:  # point TELEGRAM_API_URL at tg.url
        alice = tg.user(1001)
        tg.send_text(alice, "/start")
        reply = await tg.wait_for("sendMessage", lambda call: call.params["chat_id"] == 1001)

The fake is a package, one concern a module: ``api`` (records, limits, error texts), ``http``
(how parameters arrive), ``state`` (what the fake knows), ``limits`` (flood limits),
``updates`` (getUpdates and the webhook), ``files``, ``messages`` and ``methods`` (the Bot API
methods), ``users`` (the user's side), ``inline`` (inline queries, Telegram's cache of
answers, chosen results); this module puts them behind one server. Waiting and
fault injection are `tests.fakes.recording`'s, as for the provider fakes.

Not implemented: parsing of HTML or Markdown (the bot sends plain text; with a parse_mode the
text is kept verbatim), editing inline messages, inline results other than cached videos and
documents, media groups sent by the bot, webhook replies
carrying a method, and most methods beyond the ones in ``METHODS`` (those answer 404 "Not
Found").
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import LocalServer, Served
from tests.fakes.telegram.api import (
    CANONICAL,
    JSON,
    METHODS,
    ApiError,
    Call,
    UploadedFile,
    json_error,
    ok,
)
from tests.fakes.telegram.http import decode_params, read_request
from tests.fakes.telegram.inline import InlineMixin
from tests.fakes.telegram.messages import MessagesMixin
from tests.fakes.telegram.methods import MethodsMixin
from tests.fakes.telegram.payments import PaymentsMixin
from tests.fakes.telegram.state import Hold
from tests.fakes.telegram.users import UsersMixin

_log = logging.getLogger("tests.fakes.telegram")  # the package's name: bench/harness.py filters it


class FakeTelegram(PaymentsMixin, InlineMixin, UsersMixin, MessagesMixin, MethodsMixin, Served):
    """The fake Bot API server plus the test-facing controls around it."""

    @functools.cached_property
    def app(self) -> Starlette:
        """The Bot API, the file downloads, and Telegram's 404 for any other path."""
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "HEAD"]),
            ]
        )

    @functools.cached_property
    def _server(self) -> LocalServer:
        return LocalServer(self.app)

    @functools.cached_property
    def _handlers(self) -> dict[str, Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]]:
        """Each method in `METHODS` to the mixin method named after it (`sendMessage`:
        `_send_message`)."""
        return {
            name: getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())
            for name in METHODS
        }

    async def start(self) -> str:
        self._closing = False
        self.url = await self._server.start()
        return self.url

    async def stop(self) -> None:
        """Release parked long polls first: uvicorn waits for open requests on shutdown."""
        self._closing = True
        self._changed.notify()
        await self._stop_webhook_task()
        await self._server.stop()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def calls_to(self, method: str) -> list[Call]:
        name = self._canonical(method)
        return [call for call in self.calls if call.method == name]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> Call:
        """The earliest answered call of ``method`` matching ``predicate``, waiting for it."""
        return (await self.wait_for_count(method, 1, predicate, timeout=timeout))[0]

    async def wait_for_count(
        self,
        method: str,
        count: int,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> list[Call]:
        """The first ``count`` matching calls, waiting until that many have been answered."""
        name = self._canonical(method)

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == name and (not predicate or predicate(c))]

        return await self._until(
            lambda: matching()[:count] if len(matching()) >= count else None,
            timeout,
            lambda: f"{count} matching {name} call(s), got {len(matching())}",
        )

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
        what: str = "a condition on the recorded calls",
    ) -> None:
        """Until `condition()` holds, re-checked after each answered call."""
        await self._until(lambda: True if condition() else None, timeout, lambda: what)

    def messages(self, chat_id: int) -> list[JSON]:
        """Every message in the chat, users' and the bot's, in order, edits applied."""
        chat = self._messages.get(chat_id, {})
        return [copy.deepcopy(chat[mid]) for mid in sorted(chat)]

    def message(self, chat_id: int, message_id: int) -> JSON:
        return copy.deepcopy(self._messages[chat_id][message_id])

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for exactly this scope and language."""
        return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def description(self, language_code: str = "", *, short: bool = False) -> str:
        """The (short) description set for exactly this language ("" for the default)."""
        field = "short_description" if short else "description"
        return self._descriptions.get((field, language_code), "")

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error before anything else."""
        error = ApiError(error_code, description, retry_after=retry_after)
        self._faults.fail_next(
            self._canonical(method), status=error.http_status, body=error.body(), times=times
        )

    def _canonical(self, method: str) -> str:
        try:
            return CANONICAL[method.lower()]
        except KeyError:
            raise ValueError(f"the fake does not implement Bot API method {method!r}") from None

    async def _api(self, request: Request) -> Response:
        at = time.monotonic()
        raw_method = request.path_params["method"]
        method = CANONICAL.get(raw_method.lower(), raw_method)
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        try:
            raw, files = await read_request(request)
            if (held := self._holds.get(method)) and held.holds(raw):
                held.arrived.set()
                await held.released.wait()
                if held.dropped:
                    raise ApiError(400, "Bad Request: the upload was cut off")
            params, decode_error = decode_params(raw)
            if request.path_params["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method not in self._handlers:
                raise ApiError(404, "Not Found")
            if fault := self._faults.next_fault(method):
                error = ApiError.from_body(fault.body)
                if error.retry_after is not None:
                    self._retry_after_served(params, error.retry_after)
                raise error
            if decode_error:
                raise decode_error
            body = ok(await self._handlers[method](params, files))
            status = 200
        except ApiError as error:
            status, body = error.http_status, error.body()
        except Exception as exc:  # a bug in the fake: answer like Telegram's 500, keep the trace
            _log.exception("fake Telegram crashed in %s", method)
            self.internal_errors.append(exc)
            status, body = 500, ApiError(500, "Internal Server Error").body()
        self.calls.append(Call(method, params, files, at, status, body))
        self._changed.notify()
        return JSONResponse(body, status_code=status)

    async def _not_found(self, request: Request) -> Response:
        return json_error(ApiError(404, "Not Found"))

    def hold(self, method: str, *, chat_id: int | None = None) -> Hold:
        """Keep requests to `method` (for `chat_id` only, if given) waiting, after their body
        arrived, until `release()`.

        Plays a slow upload on cue: the test knows the request is in flight without sleeping.
        """
        held = Hold(asyncio.Event(), asyncio.Event(), chat_id=chat_id)
        self._holds[method] = held
        return held

    def release(self, method: str) -> None:
        held = self._holds.pop(method, None)
        if held is not None:
            held.released.set()

    def drop(self, method: str) -> None:
        """Let go of a held request as if its connection died before the upload completed:
        Telegram never got the whole file, so nothing is posted (recorded as a 400)."""
        held = self._holds.pop(method, None)
        if held is not None:
            held.dropped = True
            held.released.set()

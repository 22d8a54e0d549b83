"""Updates: the queue of what users did, handed to the bot by long polling (getUpdates) or
pushed to its webhook, in order, with Telegram's conflicts, filters and retries."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import urlsplit

import httpx

from tests.fakes.telegram.api import (
    JSON,
    POLL_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiError,
    Described,
    UploadedFile,
    WebhookDelivery,
    bad_request,
    now,
)
from tests.fakes.telegram.state import TelegramState

# Update types Telegram leaves out unless they are asked for explicitly.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdatesMixin(TelegramState):
    """The update queue, getUpdates and the webhook."""

    def _enqueue(self, kind: str, payload: JSON) -> None:
        """Create an update, unless the bot's allowed_updates exclude its type (as Telegram)."""
        if self._allowed_updates:
            if kind not in self._allowed_updates:
                return
        elif kind in OPT_IN_UPDATES:
            return
        self._last_update_id += 1
        self._pending.append({"update_id": self._last_update_id, kind: copy.deepcopy(payload)})
        self._changed.notify()

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed (getUpdates) or delivered (webhook)."""
        return copy.deepcopy(self._pending)

    async def wait_for_webhook_delivery(
        self,
        predicate: Callable[[WebhookDelivery], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> WebhookDelivery:
        """The earliest webhook push attempt matching ``predicate`` (e.g. a 2xx status)."""

        def found() -> WebhookDelivery | None:
            return next((d for d in self.webhook_deliveries if not predicate or predicate(d)), None)

        return await self._until(found, timeout, lambda: "a webhook delivery")

    async def wait_until_polling(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until a getUpdates long poll is parked, i.e. the next update is answered at once."""
        await self._until(lambda: self._polling > 0 or None, timeout, lambda: "a parked getUpdates")

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        """Long polling: answer as soon as an update exists, or with [] after ``timeout``."""
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._changed.notify()  # an older parked poll is now terminated
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        self._confirm(params.get("offset", 0))
        limit = min(max(params.get("limit") or 100, 1), 100)
        deadline = asyncio.get_running_loop().time() + max(params.get("timeout", 0), 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            remaining = deadline - asyncio.get_running_loop().time()
            if self._pending or remaining <= 0 or self._closing:
                return copy.deepcopy(self._pending[:limit])
            self._polling += 1
            self._changed.notify()
            try:
                await self._changed.wait(remaining)
            finally:
                self._polling -= 1

    def _confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> Described:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params, files)
        if urlsplit(url).scheme.lower() not in {"http", "https"}:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.get("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._pending.clear()
        config = {"url": url, "secret_token": secret, "max_connections": max_connections}
        unchanged = self._webhook == config
        self._webhook = config
        self._changed.notify()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook_updates())
        return Described(True, "Webhook is already set" if unchanged else "Webhook was set")

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> Described:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        was_set = self._webhook is not None
        self._webhook = None
        await self._stop_webhook_task()
        return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self._pending)
        if self._webhook is not None:
            info.update(url=self._webhook["url"], max_connections=self._webhook["max_connections"])
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhook_updates(self) -> None:
        """Push pending updates one at a time, in order; retry failures with backoff."""
        delay = self.webhook_retry_delay
        while self._webhook is not None and not self._closing:
            if not self._pending:
                await self._changed.wait(None)
                continue
            update = self._pending[0]
            status, error = await self._push(self._webhook, update)
            self.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], status, time.monotonic(), error)
            )
            self._changed.notify()
            if status is not None and 200 <= status < 300:
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                delay = self.webhook_retry_delay
                continue
            self._webhook_error = (now(), error or "")
            await asyncio.sleep(delay)  # a deliberate backoff, not a wait for an event
            delay = min(delay * 2, 1.0)

    async def _push(self, webhook: JSON, body: JSON) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        try:
            response = await self._client().post(
                webhook["url"], content=json.dumps(body), headers=headers
            )
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.ConnectError:
            return None, "Connection refused"
        except httpx.HTTPError as exc:
            return None, f"Connection failed: {exc.__class__.__name__}"
        if response.is_success:
            return response.status_code, None
        phrase = response.reason_phrase or HTTPStatus(response.status_code).phrase
        return (
            response.status_code,
            f"Wrong response from the webhook: {response.status_code} {phrase}",
        )

    async def push_raw(self, body: JSON, *, secret: str | None, url: str | None = None) -> int:
        """POST an arbitrary (possibly forged) update to the webhook; returns the HTTP status."""
        target = url or (self._webhook or {}).get("url")
        if not target:
            raise RuntimeError("no webhook is set and no url was given")
        status, error = await self._push({"url": target, "secret_token": secret}, body)
        if status is None:
            raise ConnectionError(error)
        return status

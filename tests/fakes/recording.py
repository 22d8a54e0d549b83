"""What every provider fake shares: a log of the requests it saw, and injectable faults.

A fake subclasses `RequestLog` (so tests read `fake.requests`, `fake.leaks` and await
`fake.wait_for(...)`) and `FaultQueue` (so tests call `fake.fail_next(...)`), calling both
`__init__`s itself. Its request handler then runs, in this order::

    rec = await self.record(request)
    if self.leaks_in(request, rec):
        self.leaks.append(rec)
        return <the provider's 400>
    ... route, check auth ...
    fault = self.take_fault(rec.path, <provider's default body for a status>)
    return fault or self.after_handling(rec.path, await handler(rec), <default body>)

Waiting is event-driven: every change a test may wait for is followed by `await self.notify()`,
and `wait(find, ...)` re-runs `find` after each notification, so tests never sleep. The fake
Telegram (`tests/fakes/telegram/`) waits on the same `Signal` and queues its faults in the same
`FaultQueue`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Route every method to the fake's own handler, so unknown methods are recorded too."""

T = TypeVar("T")


@dataclass(frozen=True)
class Recorded:
    """One HTTP request as it reached the fake (header names are lower-case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    at: float
    query: str = ""


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """One TLS context for every fake: building one per client costs ~50 ms of cert loading."""
    return ssl.create_default_context()


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class Handout(Generic[T]):
    """Hands a fake's tasks to the test one at a time, in creation order."""

    def __init__(self) -> None:
        self._given = 0

    def next(self, items: Sequence[T]) -> T | None:
        if self._given >= len(items):
            return None
        self._given += 1
        return items[self._given - 1]


def first_match(items: Iterable[T], predicate: Callable[[T], bool] | None) -> T | None:
    """The first item matching `predicate` (any item when it is None)."""
    return next((item for item in items if predicate is None or predicate(item)), None)


class Signal:
    """Wakes every waiter on each change. `notify()` is synchronous, so code that is no
    coroutine (a test's `send_text`, a fake's state change) can wake waiters too."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float | None) -> bool:
        """Until the next `notify()`; False when `seconds` passed first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def until(
        self,
        find: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
        what: str | Callable[[], str],
    ) -> T:
        """The first non-None `find()`, re-checked after each `notify()`; AssertionError after
        `timeout` seconds, naming what was awaited (`what()` is read only then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := find()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                awaited = what if isinstance(what, str) else what()
                raise AssertionError(f"timed out after {timeout}s waiting for {awaited}")
            await self.wait(remaining)
        return found


class RequestLog:
    """Every request a fake received, the ones that leaked a forbidden string, and waiting."""

    def __init__(self, forbidden: Sequence[str] = ()) -> None:
        self.forbidden = [s for s in forbidden if s]
        self.requests: list[Recorded] = []
        self.leaks: list[Recorded] = []
        self._changed = Signal()

    async def record(self, request: Request) -> Recorded:
        """Read, log and return the request; the body is parsed as JSON when it is JSON."""
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = Recorded(
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            body=body,
            json=parsed,
            at=time.monotonic(),
            query=request.url.query,
        )
        self.requests.append(rec)
        await self.notify()
        return rec

    def leaks_in(self, request: Request, rec: Recorded) -> bool:
        """True if a forbidden string is in the URL (raw or decoded), the body or a header.

        The decoded JSON is searched too, so `\\u`-escaped or `\\/`-escaped copies are caught.
        """
        if not self.forbidden:
            return False
        url = str(request.url)
        decoded = json.dumps(rec.json, ensure_ascii=False) if rec.json is not None else ""
        haystacks = [url, unquote(url), rec.body.decode("utf-8", "replace"), decoded]
        haystacks += [f"{k}: {v}" for k, v in rec.headers.items()]
        return any(s in h for s in self.forbidden for h in haystacks)

    async def wait_for(
        self,
        path: str,
        predicate: Callable[[Recorded], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - the tests' API; asyncio.timeout inside
    ) -> Recorded:
        """The earliest request to `path` matching `predicate`, waiting for it if needed."""

        def find() -> Recorded | None:
            for rec in self.requests:
                if rec.path == path and (predicate is None or predicate(rec)):
                    return rec
            return None

        return await self.wait(find, timeout, f"a request to {path}")

    async def wait(self, find: Callable[[], T | None], timeout: float, what: str) -> T:  # noqa: ASYNC109
        """The first non-None `find()`, re-checked after each `notify()`; AssertionError after
        `timeout` seconds, naming `what` was awaited."""
        return await self._changed.until(find, timeout, what)

    async def notify(self) -> None:
        """Wake every `wait`: call after any change a test may be waiting for."""
        self._changed.notify()


@dataclass
class Fault:
    """One canned failure: its status, body (None: the fake's default) and extra headers."""

    status: int
    body: Any
    times: int
    headers: Mapping[str, str] | None = None
    accepted: bool = False  # the request is handled (a task made) and only its answer lost


class FaultQueue:
    """Per-path queues of canned failures that replace the next authorised answers."""

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = {}

    def fail_next(
        self,
        path: str,
        *,
        status: int,
        body: Any = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        accepted: bool = False,
    ) -> None:
        """Answer the next `times` authorised requests to `path` with `status` instead.

        `body` None means the fake's documented body for that status; a str or bytes body is
        sent as HTML, the way a proxy in front of the API would; anything else as JSON.
        `headers` are added to the answer (e.g. `Retry-After`). `accepted`: the request is
        carried out first (the task exists, and is billed) and only its answer replaced, as
        when a provider fails after accepting.
        """
        self._faults.setdefault(path, []).append(Fault(status, body, times, headers, accepted))

    def take_fault(
        self, path: str, default_body: Callable[[int], Any], *, accepted: bool = False
    ) -> Response | None:
        """The next queued fault for `path` as a response (using it up), or None if none.

        `default_body(status)` supplies the JSON body for faults queued with `body=None`.
        `accepted` picks the faults that replace a handled request's answer (see `fail_next`).
        """
        fault = self.next_fault(path, accepted=accepted)
        if fault is None:
            return None
        headers = dict(fault.headers or {})
        if isinstance(fault.body, str | bytes):
            return HTMLResponse(fault.body, status_code=fault.status, headers=headers)
        body = default_body(fault.status) if fault.body is None else fault.body
        return JSONResponse(body, status_code=fault.status, headers=headers)

    def next_fault(self, path: str, *, accepted: bool = False) -> Fault | None:
        """The next queued fault for `path` (using one of its `times` up), or None if none."""
        queue = self._faults.get(path)
        if not queue or queue[0].accepted != accepted:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def after_handling(
        self, path: str, response: Response, default_body: Callable[[int], Any]
    ) -> Response:
        """`response`, unless a fault queued with `accepted=True` replaces it."""
        return self.take_fault(path, default_body, accepted=True) or response

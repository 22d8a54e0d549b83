"""The plumbing every video-provider fake (APIFRAME, Kling, AI/ML API) shares.

A `ProviderFake` is a `RequestLog` and a `FaultQueue` served on a `LocalServer`, with its
tasks, the result videos it hosts, stalls (`stall`/`release`), `wait_for_task`, and the log of
what it POSTed back (webhooks, callbacks) with `wait_for_delivery`. A subclass
sets its own state, implements `_handle` (every request goes there) and, when it calls out
(image downloads, webhooks), overrides `_new_client`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Generic, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.media import MediaHost
from tests.fakes.recording import (
    ALL_METHODS,
    FaultQueue,
    Handout,
    Recorded,
    RequestLog,
    first_match,
)
from tests.fakes.server import LocalServer, Served

TaskT = TypeVar("TaskT")
DeliveryT = TypeVar("DeliveryT")
R = TypeVar("R")


class ProviderFake(RequestLog, FaultQueue, Served, Generic[TaskT, DeliveryT]):
    """Tasks, media hosting, stalls, deliveries and the local server of one provider fake."""

    delivery_kind = "delivery"
    """What a delivery is called when waiting for one times out."""

    def __init__(self, forbidden: Sequence[str] = ()) -> None:
        RequestLog.__init__(self, forbidden)
        FaultQueue.__init__(self)
        self.url = ""
        self.tasks: dict[str, TaskT] = {}
        self.deliveries: list[DeliveryT] = []
        self.media = MediaHost()
        self._stalled: set[str] = set()
        self._release = asyncio.Event()
        self._handout: Handout[TaskT] = Handout()
        self._client: httpx.AsyncClient | None = None
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=ALL_METHODS)])
        self._server = LocalServer(app)

    async def _handle(self, request: Request) -> Response:
        raise NotImplementedError

    def _new_client(self) -> httpx.AsyncClient | None:
        """The client the fake calls out with once started (None: it never calls out)."""
        return None

    # lifecycle

    async def start(self) -> str:
        self._client = self._new_client()
        self.url = await self._server.start()
        return self.url

    async def stop(self) -> None:
        self._release.set()
        await self._server.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # test-facing controls

    def stall(self, path: str) -> None:
        """Hold every authorised request to `path` unanswered until `release()`: the request
        has arrived, the answer never comes (a read timeout for the client)."""
        self._stalled.add(path)
        self._release.clear()

    def release(self) -> None:
        self._stalled.clear()
        self._release.set()

    async def wait_for_task(self, *, timeout: float = 10.0) -> TaskT:  # noqa: ASYNC109
        """The next created task not handed out by an earlier call, in creation order."""

        return await self.wait(
            lambda: self._handout.next(list(self.tasks.values())), timeout, "a new task"
        )

    async def wait_for_delivery(
        self,
        predicate: Callable[[DeliveryT], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - the tests' API; asyncio.timeout inside
    ) -> DeliveryT:
        """The earliest delivery attempt matching `predicate`, waiting for it if needed."""

        return await self.wait(
            lambda: first_match(self.deliveries, predicate), timeout, f"a {self.delivery_kind}"
        )

    # internals

    async def _intake(self, request: Request) -> tuple[Recorded, bool]:
        """Record `request`; True with it when it leaked a forbidden string (logged as a leak)."""
        rec = await self.record(request)
        leaked = self.leaks_in(request, rec)
        if leaked:
            self.leaks.append(rec)
        return rec, leaked

    async def _post_json(
        self, url: str, payload: Any, headers: dict[str, str] | None = None
    ) -> tuple[int | None, str | None]:
        """POST `payload` to `url`: (its HTTP status, None), or (None, the error) with no answer."""
        assert self._client is not None, "start() the fake first"
        try:
            response = await self._client.post(url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            return None, repr(exc)
        return response.status_code, None

    async def _delivered(self, delivery: DeliveryT) -> None:
        """Log one delivery attempt and wake the waiters."""
        self.deliveries.append(delivery)
        await self.notify()

    def _host(self, name: str, video: bytes, video_url: str | None) -> str:
        """`video_url`, or (when None) the URL of `video` hosted here as `name`."""
        return video_url if video_url is not None else self.url + self.media.add(name, video)

    async def _stall_point(self, path: str) -> None:
        """Wait here while `path` is stalled."""
        if path in self._stalled:
            await self._release.wait()

    def _media(self, rec: Recorded, default_body: Callable[[int], Any]) -> Response | None:
        """A hosted video (or a fault injected on its path) for a GET/HEAD; None otherwise."""
        name = self.media.name_of(rec.path) if rec.method in ("GET", "HEAD") else None
        if name is None:
            return None
        return self.take_fault(rec.path, default_body) or self.media.response(name)


async def answer_after_stall(
    fake: ProviderFake[Any, Any], path: str, send: Coroutine[Any, Any, R]
) -> R:
    """Stall `path`, `send` a request there and check it arrives but stays unanswered (and makes
    no task) until `release()`; then its answer."""
    fake.stall(path)
    pending = asyncio.create_task(send)
    await fake.wait_for(path)
    assert not pending.done() and fake.tasks == {}
    fake.release()
    return await pending


class RequestField:
    """A task attribute read from its `request` body: the field `name`, None when absent."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, task: Any, owner: object = None) -> str | None:
        value: str | None = task.request.get(self.name)
        return value


# request rules the Kling-shaped APIs (APIFRAME, Kling, makevid) share


def aspect_ratio_errors(body: dict[str, Any], kind: object, ratios: Sequence[str]) -> list[str]:
    """`aspect_ratio` is only for text2video, and one of `ratios`."""
    if "aspect_ratio" not in body:
        return []
    if kind != "text2video":
        return ["aspect_ratio is only for text2video"]
    if body["aspect_ratio"] not in ratios:
        return [f"aspect_ratio must be one of {', '.join(ratios)}"]
    return []


def image_fields(
    body: dict[str, Any], kind: object, names: tuple[str, str]
) -> tuple[list[str], list[str]]:
    """The image fields `names` (the first required) are only for image2video: the errors
    so far, and the fields given on an image2video request, for the caller to check further."""
    given = [name for name in names if name in body]
    if kind != "image2video":
        return [f"{name} is only for image2video" for name in given], []
    missing = [] if names[0] in body else [f"{names[0]} is required for image2video"]
    return missing, given

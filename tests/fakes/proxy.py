"""A small HTTP reverse proxy: the load balancer in front of bot replicas, or a tap on the way
to a provider fake that notes who asked what, and when.

Requests go to the backends in turn (round robin); a backend that refuses the connection (a
dead replica) is skipped and the next one tried, as a load balancer's health check would.
`lose_answers` makes the proxy drop a backend's answer (the client gets a 504 after the
backend has done the work): how Telegram comes to send an update again, to the next replica.
Connections are not kept alive, so a killed backend always shows as a refused connection and a
request that may have reached a live backend is never sent twice.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.recording import ALL_METHODS
from tests.fakes.server import LocalServer

_HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}
_NOT_PASSED_BACK = _HOP_BY_HOP | {"content-encoding"}  # httpx has decoded the body already


@dataclass(frozen=True)
class Exchange:
    """One request as forwarded: `started` when it arrived, `finished` when the answer left."""

    method: str
    path: str
    body: bytes
    status: int
    started: float
    finished: float
    backend: str = ""  # which backend answered


class ReverseProxy:
    def __init__(
        self,
        backends: Sequence[str],
        *,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.backends = list(backends)
        self.skipped = 0  # requests a dead backend refused before another took them
        self.lost: list[Exchange] = []  # requests whose answer was dropped
        self._to_lose: dict[str, int] = {}
        # path: the backend whose answer was just lost; the next request to the path (the
        # sender's retry) goes to another one, as a balancer that saw a timeout would send it
        self._lost_at: dict[str, str] = {}
        self._turns = itertools.cycle(range(len(self.backends)))
        self._on_exchange = on_exchange
        self._client: httpx.AsyncClient | None = None
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=ALL_METHODS)])
        self._server = LocalServer(app)

    @property
    def url(self) -> str:
        return self._server.url

    def lose_answers(self, path: str, count: int = 1) -> None:
        """Drop the backends' answers to the next `count` requests to `path` (a 504 instead);
        the request after each loss goes to another backend than the one that lost it."""
        self._to_lose[path] = self._to_lose.get(path, 0) + count

    async def start(self) -> str:
        self._client = httpx.AsyncClient(
            trust_env=False,
            timeout=30.0,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        return await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _forward(self, request: Request) -> Response:
        assert self._client is not None, "start() the proxy first"
        started = time.monotonic()
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        avoid = self._lost_at.pop(request.url.path, None)
        for _ in range(len(self.backends) + (avoid is not None)):
            backend = self.backends[next(self._turns)]
            if backend == avoid:
                continue
            try:
                answer = await self._client.request(
                    request.method, backend + target, content=body, headers=headers
                )
            except httpx.ConnectError:
                self.skipped += 1
                continue
            response = Response(
                answer.content,
                status_code=answer.status_code,
                headers={
                    k: v for k, v in answer.headers.items() if k.lower() not in _NOT_PASSED_BACK
                },
            )
            exchange = Exchange(
                request.method,
                request.url.path,
                body,
                answer.status_code,
                started,
                time.monotonic(),
                backend,
            )
            if self._on_exchange is not None:
                self._on_exchange(exchange)
            if self._to_lose.get(request.url.path, 0) > 0:
                self._to_lose[request.url.path] -= 1
                self.lost.append(exchange)
                if len(self.backends) > 1:
                    self._lost_at[request.url.path] = backend
                return PlainTextResponse("Gateway Timeout: the answer was lost", status_code=504)
            return response
        return PlainTextResponse("Bad Gateway: no backend answered", status_code=502)

"""Sentry's ingest endpoint, as the SDK talks to it: `POST /api/<project>/envelope/`.

An envelope is newline-separated JSON: a header line, then per item a header line and its
payload (https://develop.sentry.dev/sdk/data-model/envelopes/). Bodies come gzip-compressed
(`Content-Encoding: gzip`) or plain. The fake keeps each body as received, decompressed, so a
test can scan every byte the bot sent, and the events parsed out of them.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.recording import Signal
from tests.fakes.server import LocalServer, Served

PROJECT = "42"
KEY = "0123456789abcdef0123456789abcdef"


class FakeSentry(Served):
    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._changed = Signal()
        route = Route("/api/{project}/envelope/", self._envelope, methods=["POST"])
        self._server = LocalServer(Starlette(routes=[route]))

    @property
    def dsn(self) -> str:
        return f"http://{KEY}@127.0.0.1:{self._server.port}/{PROJECT}"

    async def start(self) -> str:
        return await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def wait_for_event(self, timeout: float = 30.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The first error event received, waiting for it up to `timeout` seconds."""
        return await self._changed.until(
            lambda: self.events[0] if self.events else None, timeout, "an event sent to Sentry"
        )

    async def _envelope(self, request: Request) -> Response:
        if request.path_params["project"] != PROJECT:
            return JSONResponse({"detail": "unknown project"}, status_code=404)
        if f"sentry_key={KEY}" not in request.headers.get("x-sentry-auth", ""):
            return JSONResponse({"detail": "missing authorization"}, status_code=401)
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        text = body.decode()
        self.bodies.append(text)
        lines = text.split("\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                self.events.append(json.loads(payload))
        self._changed.notify()
        return JSONResponse({"id": json.loads(lines[0]).get("event_id", "")})

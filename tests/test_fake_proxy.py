"""The test load balancer (`tests/fakes/proxy.py`): round robin, dead backends skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.e2e.conftest import free_port
from tests.fakes.proxy import Exchange, ReverseProxy
from tests.fakes.server import LocalServer


def backend(name: str) -> LocalServer:
    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {
                "backend": name,
                "path": request.url.path,
                "query": request.url.query,
                "body": body.decode(),
                "header": request.headers.get("x-test"),
            },
            status_code=201,
        )

    return LocalServer(Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])]))


@pytest.fixture
async def backends() -> AsyncIterator[list[str]]:
    servers = [backend("a"), backend("b")]
    urls = [await server.start() for server in servers]
    yield urls
    for server in servers:
        await server.stop()


async def test_round_robin_passes_requests_and_answers_through(backends):
    seen: list[Exchange] = []
    proxy = ReverseProxy(backends, on_exchange=seen.append)
    await proxy.start()
    try:
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            answers = [
                await client.post("/x/y?q=1", content=b"hello", headers={"x-test": "t"})
                for _ in range(4)
            ]
    finally:
        await proxy.stop()
    assert [a.json()["backend"] for a in answers] == ["a", "b", "a", "b"]
    first = answers[0]
    assert first.status_code == 201
    assert first.json() | {"backend": "a"} == {
        "backend": "a",
        "path": "/x/y",
        "query": "q=1",
        "body": "hello",
        "header": "t",
    }
    assert [(e.method, e.path, e.body, e.status) for e in seen] == [
        ("POST", "/x/y", b"hello", 201)
    ] * 4
    assert all(e.started <= e.finished for e in seen)


async def test_a_dead_backend_is_skipped_and_none_left_is_a_502(backends):
    dead = f"http://127.0.0.1:{free_port()}"
    proxy = ReverseProxy([dead, backends[0]])
    await proxy.start()
    try:
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            names = [(await client.get("/")).json()["backend"] for _ in range(3)]
        assert names == ["a", "a", "a"]
        assert proxy.skipped == 3  # each request tried the dead one first, then moved on
    finally:
        await proxy.stop()
    nobody = ReverseProxy([dead])
    await nobody.start()
    try:
        async with httpx.AsyncClient(base_url=nobody.url) as client:
            assert (await client.get("/")).status_code == 502
    finally:
        await nobody.stop()


async def test_a_lost_answer_reaches_the_backend_but_not_the_client(backends):
    proxy = ReverseProxy(backends)
    await proxy.start()
    try:
        proxy.lose_answers("/hook")
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            lost = await client.post("/hook", content=b"update 1")
            again = await client.post("/hook", content=b"update 1")
            other = await client.post("/other", content=b"x")
        assert lost.status_code == 504
        assert again.status_code == 201 and again.json()["backend"] == "b"
        assert other.status_code == 201
        assert [exchange.body for exchange in proxy.lost] == [b"update 1"]
    finally:
        await proxy.stop()

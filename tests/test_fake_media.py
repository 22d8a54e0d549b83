"""The provider fakes' video host (tests/fakes/media.py): its hostile modes behave as the CDNs
and proxies they stand for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.fakes.media import NOT_MP4, SAMPLE_MP4, MediaHost
from tests.fakes.server import LocalServer


@pytest.fixture
async def host() -> AsyncIterator[tuple[MediaHost, str]]:
    media = MediaHost()
    server = LocalServer(Starlette(routes=media.routes()))
    root = await server.start()
    yield media, root
    await server.stop()


async def test_not_mp4_is_labelled_video_but_is_no_mp4(host):
    media, root = host
    path = media.add("clip.mp4", SAMPLE_MP4)
    media.set_mode("not_mp4", "clip.mp4")
    async with httpx.AsyncClient(base_url=root, trust_env=False) as http:
        answer = await http.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.content == NOT_MP4 and answer.content[4:8] != b"ftyp"


async def test_trickle_sends_one_byte_per_read(host):
    media, root = host
    path = media.add("clip.mp4", SAMPLE_MP4)
    media.set_mode("trickle")
    async with (
        httpx.AsyncClient(base_url=root, trust_env=False) as http,
        http.stream("GET", path) as answer,
    ):
        assert answer.headers["content-type"] == "video/mp4"
        chunks = []
        async for chunk in answer.aiter_raw():
            chunks.append(chunk)
            if len(chunks) == 3:
                break
    assert chunks == [SAMPLE_MP4[0:1], SAMPLE_MP4[1:2], SAMPLE_MP4[2:3]]


async def test_redirect_goes_anywhere_and_wins_over_the_mode(host):
    media, root = host
    path = media.add("clip.mp4", SAMPLE_MP4)
    media.add("other.mp4", b"other")
    media.redirect("clip.mp4", "http://127.0.0.1:9/secret")
    media.redirect("other.mp4", "/videos/clip.mp4")
    media.set_mode("missing")
    async with httpx.AsyncClient(base_url=root, trust_env=False) as http:
        away = await http.get(path)
        relative = await http.get("/videos/other.mp4")
    assert (away.status_code, away.headers["location"]) == (302, "http://127.0.0.1:9/secret")
    assert (relative.status_code, relative.headers["location"]) == (302, "/videos/clip.mp4")

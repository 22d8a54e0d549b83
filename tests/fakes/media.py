"""Result-video hosting shared by the provider fakes.

Every provider hands back a URL to an MP4 on its own CDN; the bot downloads it and uploads it to
Telegram. `MediaHost` plays that CDN: it serves registered byte blobs at `/videos/<name>` and can be
switched to the failures worth testing: the file is gone (404), a proxy answers with an HTML
page and status 200 (so the bot must check the content type, not just the status), a body
labelled `video/mp4` that is no MP4 at all, a server that trickles the file a byte at a time,
and a redirect to anywhere (a CDN's usual 302, or a hostile one into the bot's own network).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Route

MediaMode = Literal["serve", "missing", "html", "not_mp4", "trickle"]

#: How often a trickling host sends its next byte: slow enough that no download finishes,
#: bounded by the blob's size (a 1 KB sample trickles for under a minute).
TRICKLE_INTERVAL = 0.05

# A 24-byte `ftyp` box (size, type, major brand, minor version, two compatible brands) followed by
# a `free` box, so sniffers that look for an MP4 signature accept it. Not playable; a real clip
# can replace it once one is checked in.
SAMPLE_MP4 = (
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    + (1024).to_bytes(4, "big")
    + b"free"
    + bytes(1024 - 8)
)

HTML_PAGE = "<!DOCTYPE html><html><head><title>Access denied</title></head><body>No.</body></html>"
#: What a misconfigured CDN may serve as `video/mp4`: an error document, not a video.
NOT_MP4 = b'{"error": "AccessDenied", "message": "Request has expired"}'


class MediaHost:
    """Serves registered blobs as `video/mp4` at `<prefix><name>` (GET and HEAD).

    `mode` applies to every name; `modes[name]` overrides it for one file.
    """

    def __init__(self, prefix: str = "/videos/") -> None:
        self.prefix = prefix
        self.blobs: dict[str, bytes] = {}
        self.mode: MediaMode = "serve"
        self.modes: dict[str, MediaMode] = {}
        self.redirects: dict[str, str] = {}

    def add(self, name: str, data: bytes) -> str:
        """Register `data` under `name`; returns the path to append to the server's root URL."""
        self.blobs[name] = data
        return self.prefix + name

    def set_mode(self, mode: MediaMode, name: str | None = None) -> None:
        """Switch every file (or only `name`) to `mode`."""
        if name is None:
            self.mode = mode
        else:
            self.modes[name] = mode

    def redirect(self, name: str, location: str) -> None:
        """Answer `name` with a 302 to `location` (absolute, or relative to this host)."""
        self.redirects[name] = location

    def name_of(self, path: str) -> str | None:
        """The blob name a request path refers to, or None if the path is not under the prefix."""
        if not path.startswith(self.prefix) or len(path) == len(self.prefix):
            return None
        return path[len(self.prefix) :]

    def response(self, name: str) -> Response:
        """The answer for GET (and HEAD: the server drops the body, the headers stay)."""
        if name in self.redirects:
            return RedirectResponse(self.redirects[name], status_code=302)
        mode = self.modes.get(name, self.mode)
        if mode == "html":
            return HTMLResponse(HTML_PAGE)
        data = self.blobs.get(name)
        if mode == "missing" or data is None:
            return PlainTextResponse("Not Found", status_code=404)
        if mode == "not_mp4":
            return Response(NOT_MP4, media_type="video/mp4")
        if mode == "trickle":
            return StreamingResponse(_trickle(data), media_type="video/mp4")
        return Response(data, media_type="video/mp4")

    async def endpoint(self, request: Request) -> Response:
        return self.response(request.path_params["name"])

    def routes(self) -> list[BaseRoute]:
        """Routes for a fake that needs no per-request bookkeeping of its own."""
        return [Route(self.prefix + "{name}", self.endpoint, methods=["GET", "HEAD"])]


async def _trickle(data: bytes) -> AsyncIterator[bytes]:
    """The blob one byte per TRICKLE_INTERVAL: every read gets something, none gets much."""
    for index in range(len(data)):
        yield data[index : index + 1]
        await asyncio.sleep(TRICKLE_INTERVAL)

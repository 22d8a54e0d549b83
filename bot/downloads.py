"""Fetching a provider's video without letting its link reach anything else.

A provider's video link is outside input: it could name a local file, an address inside our
network (a database, a cloud metadata service) or a server that trickles bytes forever. So:

- only `https` links are accepted (`link_refusal`), checked once when the provider reports the
  video and again before anything is fetched or handed to Telegram;
- every hop, redirects included (followed here, by hand), is resolved and each address it
  resolves to must be public; the request then goes to the checked address itself (the name
  stays in the TLS server name, the certificate check and the Host header), so a DNS answer
  that changes between the check and the connection (DNS rebinding) cannot steer it inside;
- the answer must be `video/*` and start like an MP4/MOV file before anything is kept;
- the whole download has a deadline, and after a short grace it must keep a minimum average
  rate, so a trickling server frees its delivery slot quickly.

Origins the operator trusts (`VIDEO_TRUSTED_ORIGINS`, e.g. a provider behind a private proxy)
skip the scheme and address rules for hops to exactly that origin; the rest still apply.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO

import httpx

from bot.i18n import Reason

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

#: Seconds a download may take to get going (name look-ups, redirects, first bytes) before its
#: average rate is held to the minimum.
RATE_GRACE = 5.0
_CHUNK = 256 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Cloud metadata services; link-local or private anyway, named so no rule change lets them by.
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: The first box of an MP4 (`ftyp`) or of an older QuickTime MOV.
_MP4_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


@dataclass(frozen=True)
class DownloadPolicy:
    """What a video download may do; the defaults are the strict policy."""

    trusted_origins: frozenset[str] = frozenset()  # `scheme://host:port`, see `origin_of`
    deadline: float = 300.0  # seconds for the whole download, redirects included
    min_rate: float = 64 * 1024  # bytes a second on average after `rate_grace`; 0: no minimum
    max_redirects: int = 5
    rate_grace: float = RATE_GRACE  # seconds before `min_rate` counts


class DownloadFailed(Exception):
    """The video could not be fetched. `permanent`: fetching it again cannot help."""

    def __init__(self, reason: Reason, *, permanent: bool) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.permanent = permanent


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of an http(s) URL, lower case with the port filled in; else None."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return None
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parsed.raw_host:
        return None
    host = parsed.raw_host.decode("ascii").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}:{parsed.port or _DEFAULT_PORTS[scheme]}"


def link_refusal(url: str, trusted: frozenset[str] = frozenset()) -> Reason | None:
    """Why the bot will not fetch `url` nor hand it to Telegram (a catalogue reason); None if
    it may. Only the link itself is judged here; names are resolved when fetching."""
    origin = origin_of(url)
    if origin is not None and origin in trusted:
        return None
    if origin is None or not origin.startswith("https://"):
        return Reason.of("video_link_not_https")
    literal = _ip_literal(httpx.URL(url.strip()).raw_host.decode("ascii"))
    if literal is not None and not is_public(literal):
        return Reason.of("video_link_private")
    return None


def is_public(address: IPAddress) -> bool:
    """Whether `address` is on the public internet: not loopback, private, link-local,
    reserved, multicast, unspecified or a metadata service (also when embedded in IPv6)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or address in _METADATA
    )


def looks_like_mp4(head: bytes) -> bool:
    """Whether a file's first bytes are an MP4 or MOV box header."""
    return len(head) >= 8 and head[4:8] in _MP4_FIRST_BOXES


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class Downloader:
    """Fetches video links under a `DownloadPolicy`.

    `http` must not follow redirects or use proxies from the environment (a proxy would
    resolve names itself, out of our checks); `resolver` is a seam for tests.
    """

    def __init__(
        self, http: httpx.AsyncClient, policy: DownloadPolicy, *, resolver: Resolver = resolve
    ) -> None:
        self._http = http
        self.policy = policy
        self._resolve = resolver

    def refusal(self, url: str) -> Reason | None:
        """`link_refusal` under this policy's trusted origins."""
        return link_refusal(url, self.policy.trusted_origins)

    async def fetch(self, url: str, handle: IO[bytes], limit: int) -> int | None:
        """Stream the video at `url` into `handle`; its size, or None when over `limit` bytes.

        Raises `DownloadFailed` with the reason; transport errors pass as `httpx.HTTPError`.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            async with asyncio.timeout_at(self._cutoff(start, 0)) as timer:
                target = _parsed(url.strip())
                for _ in range(self.policy.max_redirects + 1):
                    response = await self._open(target)
                    try:
                        if not response.is_redirect:
                            return await self._save(response, handle, limit, timer, start)
                        target = _parsed(response.headers["location"], target)
                    finally:
                        await response.aclose()
        except TimeoutError:
            if timer.expired():
                raise DownloadFailed(Reason.of("video_link_too_slow"), permanent=False) from None
            raise
        raise DownloadFailed(Reason.of("video_link_redirects"), permanent=True)

    def _cutoff(self, start: float, received: int) -> float:
        """When the download must be over, given what it has received so far."""
        cutoff = start + self.policy.deadline
        if self.policy.min_rate > 0:
            cutoff = min(cutoff, start + self.policy.rate_grace + received / self.policy.min_rate)
        return cutoff

    async def _open(self, url: httpx.URL) -> httpx.Response:
        """Send the GET of one hop, to an address checked for it; the answer is streamed."""
        if origin_of(str(url)) in self.policy.trusted_origins:
            return await self._http.send(self._http.build_request("GET", url), stream=True)
        refusal = self.refusal(str(url))
        if refusal is not None:
            raise DownloadFailed(refusal, permanent=True)
        host = url.raw_host.decode("ascii")
        try:
            addresses = await self._resolve(host, url.port or 443)
        except OSError as exc:
            failed = Reason.of("video_download_failed", error=type(exc).__name__)
            raise DownloadFailed(failed, permanent=False) from exc
        if not addresses or not all(is_public(address) for address in addresses):
            raise DownloadFailed(Reason.of("video_link_private"), permanent=True)
        failure: httpx.ConnectError | None = None
        for address in addresses:
            request = self._http.build_request(
                "GET",
                url.copy_with(host=str(address)),
                headers={"Host": url.netloc.decode("ascii")},
                extensions={"sni_hostname": host},
            )
            try:
                return await self._http.send(request, stream=True)
            except httpx.ConnectError as exc:  # try the next address, as a browser would
                failure = exc
        assert failure is not None
        raise failure

    async def _save(
        self,
        response: httpx.Response,
        handle: IO[bytes],
        limit: int,
        timer: asyncio.Timeout,
        start: float,
    ) -> int | None:
        if response.status_code != 200:
            status = Reason.of("video_link_status", status=response.status_code)
            raise DownloadFailed(status, permanent=False)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type.startswith("text/"):
            raise DownloadFailed(Reason.of("video_link_web_page"), permanent=False)
        if not content_type.startswith("video/"):
            raise DownloadFailed(Reason.of("video_link_not_video"), permanent=False)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        size, head = 0, b""
        async for chunk in response.aiter_bytes(_CHUNK):
            if len(head) < 8:
                head += chunk[: 8 - len(head)]
                if len(head) == 8 and not looks_like_mp4(head):
                    raise DownloadFailed(Reason.of("video_link_not_video"), permanent=False)
            size += len(chunk)
            if size > limit:
                return None
            handle.write(chunk)
            timer.reschedule(self._cutoff(start, size))
        if not looks_like_mp4(head):
            raise DownloadFailed(Reason.of("video_link_not_video"), permanent=False)
        return size


def _parsed(url: str, base: httpx.URL | None = None) -> httpx.URL:
    """`url` (relative to `base`, for a redirect); a link that is no URL is a refused one."""
    try:
        return base.join(url) if base is not None else httpx.URL(url)
    except httpx.InvalidURL:
        raise DownloadFailed(Reason.of("video_link_not_https"), permanent=True) from None


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None

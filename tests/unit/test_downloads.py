"""The rules for provider video links and the guarded download (bot/downloads.py), and the MP4
reader's one error for damaged files (bot/mp4info.py)."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import random
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot import downloads
from bot.downloads import (
    Downloader,
    DownloadFailed,
    DownloadPolicy,
    IPAddress,
    is_public,
    link_refusal,
    origin_of,
)
from bot.i18n import Reason, messages
from bot.mp4info import DamagedVideo, VideoInfo, read_info
from bot.providers.sandbox import CLIP_PATH
from tests.fakes.media import SAMPLE_MP4

PUBLIC = ipaddress.ip_address("93.184.216.34")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.example.com/v.mp4?sig=1", None),
        ("https://93.184.216.34/v.mp4", None),
        ("HTTPS://CDN.example.com:8443/v.mp4", None),
        ("http://cdn.example.com/v.mp4", Reason.of("video_link_not_https")),
        ("file:///srv/bot/.env", Reason.of("video_link_not_https")),
        ("ftp://cdn.example.com/v.mp4", Reason.of("video_link_not_https")),
        ("data:video/mp4;base64,AAAA", Reason.of("video_link_not_https")),
        ("sandbox:clip", Reason.of("video_link_not_https")),
        ("https:///v.mp4", Reason.of("video_link_not_https")),
        ("not a link", Reason.of("video_link_not_https")),
        ("https://127.0.0.1/v.mp4", Reason.of("video_link_private")),
        ("https://10.1.2.3/v.mp4", Reason.of("video_link_private")),
        ("https://172.16.0.1/v.mp4", Reason.of("video_link_private")),
        ("https://192.168.1.1/v.mp4", Reason.of("video_link_private")),
        ("https://169.254.169.254/latest/meta-data/", Reason.of("video_link_private")),
        ("https://0.0.0.0/v.mp4", Reason.of("video_link_private")),
        ("https://[::1]/v.mp4", Reason.of("video_link_private")),
        ("https://[fd00:ec2::254]/latest/", Reason.of("video_link_private")),
        ("https://[::ffff:169.254.169.254]/", Reason.of("video_link_private")),
    ],
)
def test_only_https_links_to_public_places_are_accepted(url, expected):
    assert link_refusal(url) == expected


def test_trusted_origins_are_matched_exactly():
    trusted = frozenset({"http://127.0.0.1:8080"})
    assert link_refusal("http://127.0.0.1:8080/videos/a.mp4", trusted) is None
    assert link_refusal("http://127.0.0.1:8081/videos/a.mp4", trusted) == Reason.of(
        "video_link_not_https"
    )
    assert link_refusal("https://127.0.0.1:8080/videos/a.mp4", trusted) == Reason.of(
        "video_link_private"
    )
    assert link_refusal("http://localhost:8080/videos/a.mp4", trusted) == Reason.of(
        "video_link_not_https"
    )


def test_origin_of_fills_in_the_port_and_lowers_the_case():
    assert origin_of("HTTPS://CDN.Example.com/x") == "https://cdn.example.com:443"
    assert origin_of("http://10.0.0.5:8080/") == "http://10.0.0.5:8080"
    assert origin_of("https://[::1]:8443/x") == "https://[::1]:8443"
    assert origin_of("https://bücher.de/") == "https://xn--bcher-kva.de:443"
    assert origin_of("file:///etc/passwd") is None
    assert origin_of("sandbox:clip") is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",
        "224.0.0.1",
        "239.1.1.1",
        "0.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_internal_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


def test_public_addresses_are_public():
    assert is_public(PUBLIC)
    assert is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


# --- the download, against a scripted server and resolver ---------------------------------------


class Network:
    """A scripted internet: names resolve as told, each request is answered by `answer`."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.lookups: list[str] = []
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return [ipaddress.ip_address(a) for a in self.names[host]]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)

    def downloader(self, **policy: object) -> Downloader:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return Downloader(http, DownloadPolicy(**policy), resolver=self.resolve)  # type: ignore[arg-type]


def video(data: bytes = SAMPLE_MP4, content_type: str = "video/mp4") -> httpx.Response:
    return httpx.Response(200, content=data, headers={"content-type": content_type})


def redirect(location: str) -> httpx.Response:
    return httpx.Response(302, headers={"location": location})


async def test_the_request_goes_to_the_checked_address_with_the_name_kept_for_tls():
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [video()]
    handle = io.BytesIO()
    size = await network.downloader().fetch("https://cdn.example.com/v.mp4?sig=1", handle, 10**6)
    assert size == len(SAMPLE_MP4) and handle.getvalue() == SAMPLE_MP4
    [request] = network.requests
    assert str(request.url) == "https://93.184.216.34/v.mp4?sig=1"  # no second DNS look-up
    assert request.headers["host"] == "cdn.example.com"
    assert request.extensions["sni_hostname"] == "cdn.example.com"  # certificate checked for it


async def test_a_name_with_any_internal_address_is_refused_before_any_request():
    network = Network({"rebind.example.com": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(DownloadFailed) as failed:
        await network.downloader().fetch("https://rebind.example.com/v.mp4", io.BytesIO(), 10**6)
    assert failed.value.reason == Reason.of("video_link_private") and failed.value.permanent
    assert network.requests == []


async def test_every_redirect_hop_is_checked():
    network = Network({"cdn.example.com": ["93.184.216.34"], "inside.example": ["10.0.0.7"]})
    network.answers = [redirect("https://inside.example/admin")]
    with pytest.raises(DownloadFailed) as failed:
        await network.downloader().fetch("https://cdn.example.com/v.mp4", io.BytesIO(), 10**6)
    assert failed.value.reason == Reason.of("video_link_private")
    assert len(network.requests) == 1 and network.lookups == ["cdn.example.com", "inside.example"]


@pytest.mark.parametrize(
    "location", ["http://cdn.example.com/v.mp4", "file:///etc/passwd", "https://[::1]/x"]
)
async def test_a_redirect_to_a_refused_link_is_refused(location):
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [redirect(location)]
    with pytest.raises(DownloadFailed) as failed:
        await network.downloader().fetch("https://cdn.example.com/v.mp4", io.BytesIO(), 10**6)
    assert failed.value.permanent
    assert len(network.requests) == 1


async def test_redirects_are_followed_a_few_times_only():
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [redirect("/next")] * 3 + [video()]
    assert await network.downloader().fetch("https://cdn.example.com/v", io.BytesIO(), 10**6)
    network.answers = [redirect("/again")] * 10
    with pytest.raises(DownloadFailed) as failed:
        await network.downloader(max_redirects=2).fetch(
            "https://cdn.example.com/v", io.BytesIO(), 10**6
        )
    assert failed.value.reason == Reason.of("video_link_redirects")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (video(b"<html>no</html>", "text/html"), Reason.of("video_link_web_page")),
        (video(SAMPLE_MP4, "application/octet-stream"), Reason.of("video_link_not_video")),
        (video(b'{"error": "expired"}'), Reason.of("video_link_not_video")),
        (video(b"ftyp"), Reason.of("video_link_not_video")),  # too short to be anything
    ],
)
async def test_only_a_video_answer_is_kept(answer, reason):
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [answer]
    with pytest.raises(DownloadFailed) as failed:
        await network.downloader().fetch("https://cdn.example.com/v.mp4", io.BytesIO(), 10**6)
    assert failed.value.reason == reason and not failed.value.permanent


async def test_over_the_limit_gives_none():
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [video(SAMPLE_MP4)]
    assert await network.downloader().fetch("https://cdn.example.com/v", io.BytesIO(), 100) is None


class Trickle(httpx.AsyncByteStream):
    """An MP4 header, then a byte now and then, for as long as anyone listens."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield SAMPLE_MP4[:8]
        while True:
            await asyncio.sleep(0.01)
            yield b"\0"


def trickle() -> httpx.Response:
    return httpx.Response(200, stream=Trickle(), headers={"content-type": "video/mp4"})


async def test_a_download_has_a_total_deadline():
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [trickle()]
    downloader = network.downloader(deadline=0.1, min_rate=0)
    with pytest.raises(DownloadFailed) as failed:
        await downloader.fetch("https://cdn.example.com/v.mp4", io.BytesIO(), 10**6)
    assert failed.value.reason == Reason.of("video_link_too_slow") and not failed.value.permanent


async def test_a_download_below_the_minimum_rate_is_cut_after_the_grace():
    network = Network({"cdn.example.com": ["93.184.216.34"]})
    network.answers = [trickle()]
    downloader = network.downloader(min_rate=1_000_000, rate_grace=0.05)  # deadline stays 300 s
    with pytest.raises(DownloadFailed) as failed:
        await downloader.fetch("https://cdn.example.com/v.mp4", io.BytesIO(), 10**6)
    assert failed.value.reason == Reason.of("video_link_too_slow")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name `video.test` only (no address in it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "1", "-newkey", "ec"),
            *("-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", str(key), "-out", str(cert)),
            *("-subj", "/CN=video.test", "-addext", "subjectAltName=DNS:video.test"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_over_real_tls_the_checked_address_is_used_and_the_name_verified(
    certificate, monkeypatch
):
    """The rebinding defence on a real socket: the connection goes to the address the check
    saw, while TLS sends the name (SNI) and verifies the certificate against it."""
    cert, key = certificate
    monkeypatch.setattr(downloads, "is_public", lambda address: True)  # 127.0.0.1 plays public
    seen: list[object] = []
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server_tls.sni_callback = lambda connection, name, context: seen.append(name)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n")[1])
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\nconnection: close\r\n"
            + b"content-length: %d\r\n\r\n" % len(SAMPLE_MP4)
            + SAMPLE_MP4
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    network = Network({"video.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    client_tls = ssl.create_default_context(cafile=str(cert))
    http = httpx.AsyncClient(verify=client_tls, trust_env=False)
    downloader = Downloader(http, DownloadPolicy(), resolver=network.resolve)
    try:
        handle = io.BytesIO()
        assert await downloader.fetch(f"https://video.test:{port}/v.mp4", handle, 10**6)
        assert handle.getvalue() == SAMPLE_MP4
        assert seen == ["video.test", f"Host: video.test:{port}".encode()]
        with pytest.raises(httpx.ConnectError, match=r"not valid for 'other\.test'"):
            await downloader.fetch(f"https://other.test:{port}/v.mp4", io.BytesIO(), 10**6)
    finally:
        await http.aclose()
        server.close()
        await server.wait_closed()


def test_refusal_reasons_read_in_the_users_language():
    too_slow = Reason.of("could_not_send", reason=Reason.of("video_link_too_slow"))
    assert too_slow.text(messages("ru")) == (
        "не удалось отправить видео (ссылка на видео отвечала слишком медленно)"
    )
    damaged = Reason.of("could_not_send", reason=Reason.of("video_damaged"))
    assert str(damaged) == "could not send the video (the video file is damaged)"


# --- the MP4 reader on damaged files ----------------------------------------------------------


def test_a_moov_that_cannot_be_read_is_damaged():
    ftyp = SAMPLE_MP4[:24]
    empty_mvhd = ftyp + b"\x00\x00\x00\x10moov" + b"\x00\x00\x00\x08mvhd"
    cut_moov = ftyp + b"\x00\x00\x01\x00moov" + bytes(16)
    huge_box = ftyp + b"\x00\x00\x00\x01free" + (2**64 - 1).to_bytes(8, "big") + bytes(8)
    for data in (empty_mvhd, cut_moov, huge_box):
        with pytest.raises(DamagedVideo):
            read_info(io.BytesIO(data))


def test_no_corruption_of_a_real_clip_escapes_as_anything_but_damaged():
    clip = CLIP_PATH.read_bytes()
    rng = random.Random(11)
    outcomes: set[type] = set()
    for _ in range(400):
        data = bytearray(clip[: rng.randrange(8, len(clip) + 1)])
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            outcomes.add(type(read_info(io.BytesIO(bytes(data)))))
        except DamagedVideo:
            outcomes.add(DamagedVideo)
    assert outcomes <= {VideoInfo, DamagedVideo} and DamagedVideo in outcomes

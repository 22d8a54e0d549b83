"""The images a submit sends: those kept when the job was requested, re-checked against the
provider's rules, and fetched from Telegram only for jobs that have none kept."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import pytest
from PIL import Image

from bot.jobs import JobKind
from bot.metrics import Metrics
from bot.providers.base import MB, Capabilities
from bot.submission import SubmitFailed, SubmitPolicy, Submitter
from tests.unit.test_submission import Moves, StubProvider, job


def encode(fmt: str, size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "olive").save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class StubFile:
    data: bytes
    file_size: int | None
    downloads: list[bytes]

    async def download_as_bytearray(self) -> bytearray:
        self.downloads.append(self.data)
        return bytearray(self.data)


class StubBot:
    """Telegram's getFile and download, counted."""

    def __init__(self, files: dict[str, bytes], declared: dict[str, int] | None = None) -> None:
        self.files = files
        self.declared = declared or {}
        self.get_file_calls: list[str] = []
        self.downloads: list[bytes] = []

    async def get_file(self, file_id: str) -> StubFile:
        self.get_file_calls.append(file_id)
        data = self.files[file_id]
        return StubFile(data, self.declared.get(file_id, len(data)), self.downloads)


class ImageStore:
    """What a submit reads and writes: kept images, the submit mark, media links."""

    def __init__(self, kept: dict[tuple[int, int], tuple[bytes, str]] | None = None) -> None:
        self.kept = dict(kept or {})
        self.marked: list[int] = []

    async def mark_submit_started(self, job_id: int, provider: str, callback_secret: str) -> bool:
        self.marked.append(job_id)
        return True  # never cancelled here

    async def provider_stopped(self, job_id: int, task_id: str | None) -> bool:
        raise AssertionError("never cancelled here")

    async def job_image(self, job_id: int, frame: int) -> tuple[bytes, str] | None:
        return self.kept.get((job_id, frame))

    async def put_job_image(
        self, job_id: int, frame: int, file_id: str, data: bytes, mime_type: str
    ) -> None:
        self.kept[(job_id, frame)] = (data, mime_type)

    async def add_media_link(
        self, token: str, job_id: int, file_id: str, expires_at: float
    ) -> None:
        raise AssertionError("base64 providers get no media link")


IMAGE_CAPS = Capabilities(kinds=frozenset({JobKind.IMAGE}))
JPEG_ONLY = replace(IMAGE_CAPS, image_types=frozenset({"image/jpeg"}))
PHOTO_JOB = replace(job(), kind=JobKind.IMAGE, input_file_ids=("photo-1",))


def submitter(provider: StubProvider, bot: StubBot, store: ImageStore) -> Submitter:
    return Submitter(
        providers={provider.name: provider},
        bot=bot,  # type: ignore[arg-type]
        store=store,
        metrics=Metrics(),
        policy=SubmitPolicy(backoff=0.0, max_backoff=0.0),
    )


async def test_the_kept_image_is_sent_without_asking_telegram():
    png = encode("PNG")
    provider = StubProvider("first", ["task-1"], IMAGE_CAPS)
    bot, store = StubBot({}), ImageStore({(7, 0): (png, "image/png")})
    await submitter(provider, bot, store).submit(PHOTO_JOB, Moves())
    image = provider.requests[0].image
    assert image is not None and (image.data, image.mime_type) == (png, "image/png")
    assert bot.get_file_calls == []


async def test_a_provider_with_other_rules_gets_the_kept_image_adapted_and_kept_again():
    provider = StubProvider("first", ["task-1"], JPEG_ONLY)
    bot, store = StubBot({}), ImageStore({(7, 0): (encode("PNG"), "image/png")})
    await submitter(provider, bot, store).submit(PHOTO_JOB, Moves())
    image = provider.requests[0].image
    assert image is not None and image.mime_type == "image/jpeg"
    assert Image.open(io.BytesIO(image.data)).format == "JPEG"
    assert store.kept[(7, 0)] == (image.data, "image/jpeg")  # what a media link would serve
    assert bot.get_file_calls == []


async def test_a_job_without_a_kept_image_downloads_it_once_and_keeps_it():
    webp = encode("WEBP")  # e.g. requested before images were kept
    provider = StubProvider("first", ["task-1"], IMAGE_CAPS)
    bot, store = StubBot({"photo-1": webp}), ImageStore()
    await submitter(provider, bot, store).submit(PHOTO_JOB, Moves())
    image = provider.requests[0].image
    assert image is not None and image.mime_type == "image/jpeg"
    assert bot.downloads == [webp]
    assert store.kept[(7, 0)] == (image.data, "image/jpeg")


async def test_a_file_telegram_declares_too_big_is_not_downloaded():
    provider = StubProvider("first", ["task-1"], IMAGE_CAPS)
    bot = StubBot({"photo-1": encode("PNG")}, declared={"photo-1": 12 * MB})
    with pytest.raises(SubmitFailed, match="larger than 10 MB"):
        await submitter(provider, bot, ImageStore()).submit(PHOTO_JOB, Moves())
    assert bot.get_file_calls == ["photo-1"] and bot.downloads == []
    assert provider.requests == []

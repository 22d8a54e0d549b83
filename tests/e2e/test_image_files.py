"""Images sent as files: what a provider gets is exactly what passed the checks, downloaded from
Telegram once; decompression bombs and oversized files are refused before any work."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from bot.jobs import JobState
from tests.e2e.conftest import AIMLAPI_KEY
from tests.images import huge_png, huge_webp, noise_png, record_decodes

MB = 1024 * 1024


def encode(fmt: str, size: tuple[int, int], color: str = "teal") -> bytes:
    """A real image file (HEIF through pillow-heif, which bot.images registers)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    return record_decodes(monkeypatch)


@pytest.mark.parametrize(
    ("fmt", "mime_type", "name"),
    [("WEBP", "image/webp", "sunset.webp"), ("HEIF", "image/heic", "IMG_0042.HEIC")],
)
async def test_webp_and_heic_files_reach_apiframe_as_the_checked_jpeg(
    telegram, apiframe, public_settings, start_bot, fmt, mime_type, name
):
    bot = await start_bot(public_settings())
    original = encode(fmt, (900, 700))
    telegram.send_document(
        telegram.user(1001), original, file_name=name, mime_type=mime_type, caption="waves roll in"
    )

    task = await apiframe.wait_for_task()
    fetched = Image.open(io.BytesIO(task.fetched_image))
    assert (fetched.format, fetched.size) == ("JPEG", (900, 700))
    assert task.fetched_image_type == "image/jpeg"
    # Checked, converted and sent from one download: none for the submit, none for the link.
    assert len(telegram.calls_to("getFile")) == 1
    assert len(telegram.downloads) == 1

    await apiframe.finish(task.task_id)
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    assert (await bot.job(1)).state is JobState.DELIVERED
    async with httpx.AsyncClient() as client:  # the kept image went with the finished job
        assert (await client.get(task.request["image_url"])).status_code == 404


async def test_failover_sends_the_image_checked_for_the_first_provider(
    telegram, aimlapi, apiframe, public_settings, start_bot
):
    settings = public_settings(
        video_providers="aimlapi,apiframe",
        aimlapi_api_key=AIMLAPI_KEY,
        aimlapi_base_url=aimlapi.url,
    )
    aimlapi.credits = 0  # AI/ML answers 403 when the balance is empty: the job moves on
    await start_bot(settings)
    telegram.send_document(
        telegram.user(1001),
        encode("WEBP", (640, 800)),
        file_name="cat.webp",
        mime_type="image/webp",
        caption="the cat blinks",
    )

    task = await apiframe.wait_for_task()
    fetched = Image.open(io.BytesIO(task.fetched_image))
    assert (fetched.format, fetched.size) == ("JPEG", (640, 800))
    assert aimlapi.tasks == {}
    assert len(telegram.calls_to("getFile")) == 1  # the failover did not go back to Telegram
    assert len(telegram.downloads) == 1


@pytest.mark.parametrize(
    ("data", "name", "mime_type"),
    [
        (huge_webp(13_000), "bomb.webp", "image/webp"),  # 169 megapixels in 34 bytes
        (huge_png(20_000), "bomb.png", "image/png"),  # 400 megapixels in about a megabyte
    ],
    ids=["webp-13000", "png-20000"],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, then ours
async def test_decompression_bombs_are_refused_without_decoding(
    telegram, apiframe, public_settings, start_bot, decodes, data, name, mime_type
):
    bot = await start_bot(public_settings())
    alice = telegram.user(1001)
    telegram.send_document(alice, data, file_name=name, mime_type=mime_type, caption="zoom in")
    answer = await telegram.wait_for("sendMessage")
    assert answer.params["text"] == "The image has more than 40 megapixels; send a smaller one."
    assert decodes == []
    assert await bot.job(1) is None
    assert apiframe.tasks == {} and apiframe.requests == []

    ivan = telegram.user(1002, "Ivan", language_code="ru")
    telegram.send_document(ivan, data, file_name=name, mime_type=mime_type, caption="приблизь")
    answer = await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == 1002)
    assert answer.params["text"] == "В изображении больше 40 мегапикселей; пришлите поменьше."
    assert decodes == []


TOO_BIG = "The image is larger than 10 MB; send a smaller one."


async def test_a_file_declared_too_big_is_refused_before_any_download(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings())
    alice = telegram.user(1001)
    big = noise_png(10 * MB + 1)
    telegram.send_document(
        alice, big, file_name="scan.png", mime_type="image/png", caption="pan across"
    )
    answer = await telegram.wait_for("sendMessage")
    assert answer.params["text"] == TOO_BIG

    # Without a caption: refused at once, rather than asked what should happen.
    uncaptioned = telegram.send_document(alice, big, file_name="scan.png", mime_type="image/png")
    answer = await telegram.wait_for_count("sendMessage", 2)
    assert answer[1].params["text"] == TOO_BIG
    # A text reply to it in private, and `/video` replying to it in a group.
    telegram.send_text(alice, "pan across", reply_to=uncaptioned["message_id"])
    group = telegram.group(-100700)
    posted = telegram.send_document(
        alice, big, file_name="scan.png", mime_type="image/png", chat=group
    )
    telegram.send_text(alice, "/video pan across", chat=group, reply_to=posted["message_id"])
    answers = await telegram.wait_for_count("sendMessage", 4)
    assert [a.params["text"] for a in answers] == [TOO_BIG] * 4

    assert telegram.calls_to("getFile") == [] and telegram.downloads == []
    assert await bot.job(1) is None
    assert apiframe.requests == []


async def test_russian_answer_for_a_file_declared_too_big(
    telegram, apiframe, public_settings, start_bot
):
    await start_bot(public_settings())
    ivan = telegram.user(1002, "Ivan", language_code="ru")
    telegram.send_document(
        ivan, noise_png(10 * MB + 1), file_name="scan.png", mime_type="image/png", caption="вдаль"
    )
    answer = await telegram.wait_for("sendMessage")
    assert answer.params["text"] == "Изображение больше 10 МБ; пришлите поменьше."
    assert telegram.calls_to("getFile") == []

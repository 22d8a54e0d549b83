"""Albums as start and end frames, images sent as files, and media the bot cannot use."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from bot.jobs import JobKind
from bot.overrides import Overrides
from tests.e2e.conftest import jpeg
from tests.fakes.telegram.calls import text_of


@pytest.fixture
def overrides(overrides: Overrides) -> Overrides:
    """Albums complete after 50 ms of quiet instead of a second."""
    return dataclasses.replace(overrides, album_wait=0.05)


def png(width: int = 640, height: int = 480) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


async def test_album_of_two_photos_goes_from_start_to_end_frame(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings())
    alice = telegram.user(1001)
    start, end = jpeg(800, 600, "teal"), jpeg(800, 600, "coral")
    request = telegram.send_photo(alice, start, caption="day turns to night", media_group_id="a1")
    telegram.send_photo(alice, end, media_group_id="a1")

    task = await apiframe.wait_for_task()
    assert task.request["generation_type"] == "image2video"
    assert task.request["prompt"] == "day turns to night"
    assert task.fetched_image == start
    assert task.fetched_end_image == end
    status = await telegram.wait_for("sendMessage")
    assert status.params["reply_parameters"]["message_id"] == request["message_id"]
    job = await bot.job(1)
    assert job.kind is JobKind.IMAGE and len(job.input_file_ids) == 2
    await bot.parts.application.bot_data["albums"].wait_idle()
    assert await bot.job(2) is None  # one album, one job
    assert len(apiframe.tasks) == 1


async def test_album_without_caption_asks_once_and_the_reply_uses_both(
    telegram, kling, make_settings, start_bot
):
    from tests.e2e.conftest import KLING_ACCESS, KLING_SECRET

    await start_bot(
        make_settings(
            video_providers="kling",
            kling_access_key=KLING_ACCESS,
            kling_secret_key=KLING_SECRET,
            kling_base_url=kling.url,
        )
    )
    alice = telegram.user(1001)
    start, end = jpeg(640, 640, "gold"), jpeg(640, 640, "black")
    telegram.send_photo(alice, start, media_group_id="b2")
    telegram.send_photo(alice, end, media_group_id="b2")
    question = await telegram.wait_for("sendMessage")
    assert "What should happen" in text_of(question)
    telegram.send_text(alice, "the sun sets", reply_to=question.response["result"]["message_id"])
    task = await kling.wait_for_task()
    assert task.image_bytes == start and task.image_tail_bytes == end
    assert len(telegram.calls_to("sendMessage")) == 2  # the question and one status message


async def test_album_of_five_is_explained(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    for color in ("red", "green", "blue", "white", "black"):
        caption = "a slideshow" if color == "red" else None
        telegram.send_photo(alice, jpeg(color=color), caption=caption, media_group_id="c3")
    answer = await telegram.wait_for("sendMessage")
    assert "two in one album" in text_of(answer) and "Three or four" in text_of(answer)
    assert await bot.job(1) is None


async def test_image_sent_as_a_file_works_like_a_photo(
    telegram, apiframe, public_settings, start_bot
):
    bot = await start_bot(public_settings())
    image = png(700, 500)
    telegram.send_document(
        telegram.user(1001), image, file_name="frame.png", mime_type="image/png", caption="waves"
    )
    task = await apiframe.wait_for_task()
    assert task.fetched_image == image and task.fetched_image_type == "image/png"
    assert (await bot.job(1)).kind is JobKind.IMAGE


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("sticker", "a sticker"),
        ("document", "this file"),
        ("voice", "a voice message"),
        ("video", "a video"),
    ],
)
async def test_unusable_media_gets_a_short_explanation_in_private(
    telegram, make_settings, start_bot, kind, words
):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    send_media(telegram, alice, kind)
    answer = await telegram.wait_for("sendMessage")
    assert text_of(answer).startswith(f"I can't make a video from {words}.")
    assert await bot.job(1) is None


async def test_unusable_media_in_a_group_only_when_meant_for_the_bot(
    telegram, make_settings, start_bot
):
    await start_bot(make_settings())
    group = telegram.group(-100300)
    alice = telegram.user(1001)
    telegram.send_sticker(alice, chat=group)
    telegram.send_document(
        alice,
        b"%PDF-1.4",
        file_name="a.pdf",
        mime_type="application/pdf",
        caption="minutes of the meeting",
        chat=group,
    )
    telegram.send_document(
        alice,
        b"%PDF-1.4",
        file_name="b.pdf",
        mime_type="application/pdf",
        caption="@kling_test_bot animate this",
        chat=group,
    )
    answer = await telegram.wait_for("sendMessage")
    assert text_of(answer).startswith("I can't make a video from this file.")
    telegram.send_text(alice, "/jobs", chat=group)  # a later update: by now all were handled
    await telegram.wait_for_count("sendMessage", 2)
    assert len(telegram.calls_to("sendMessage")) == 2


def send_media(telegram, user, kind: str) -> None:
    if kind == "sticker":
        telegram.send_sticker(user)
    elif kind == "document":
        telegram.send_document(user, b"%PDF-1.4", file_name="a.pdf", mime_type="application/pdf")
    else:  # the fake has no sender for these: hand it the message content directly
        stored = telegram._store_file(kind, b"\x00" * 64, mime_type="audio/ogg")
        media = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 1}
        if kind == "video":
            media.update(width=320, height=180)
        telegram._incoming(user, None, {kind: media}, None)

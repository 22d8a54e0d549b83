"""Albums of reference photos through the real Application: three or four photos, or two with
`--refs`, become one multi-image request where a provider documents it; refused elsewhere."""

from __future__ import annotations

import dataclasses

import pytest

from bot.jobs import JobKind
from bot.overrides import Overrides
from tests.e2e.conftest import jpeg
from tests.e2e.test_providers import aimlapi_settings, kling_settings
from tests.fakes.telegram.calls import text_of

COLORS = ("teal", "coral", "gold", "navy")


@pytest.fixture
def overrides(overrides: Overrides) -> Overrides:
    return dataclasses.replace(overrides, album_wait=0.05)


def send_album(telegram, user, count: int, caption: str, group: str) -> list[bytes]:
    photos = [jpeg(640, 640, color) for color in COLORS[:count]]
    for index, photo in enumerate(photos):
        telegram.send_photo(
            user, photo, caption=caption if index == 0 else None, media_group_id=group
        )
    return photos


@pytest.mark.parametrize("count", [3, 4])
async def test_an_album_of_three_or_four_is_one_video_from_references(
    telegram, aimlapi, make_settings, start_bot, count
):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    photos = send_album(telegram, telegram.user(1001), count, "9:16 friends at a picnic", "r1")
    task = await aimlapi.wait_for_task()
    assert task.request["model"] == "kling-video/v1.6/standard/multi-image-to-video"
    assert set(task.request) == {"model", "image_list", "prompt", "aspect_ratio"}
    assert (task.request["prompt"], task.request["aspect_ratio"]) == ("friends at a picnic", "9:16")
    assert task.photos == photos  # in album order
    job = await bot.job(1)
    assert job.kind is JobKind.REFS and len(job.input_file_ids) == count


async def test_two_photos_with_refs_are_references(telegram, aimlapi, make_settings, start_bot):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    photos = send_album(telegram, telegram.user(1001), 2, "--refs two cats meet", "r2")
    task = await aimlapi.wait_for_task()
    assert task.request["image_list"][0].startswith("data:image/jpeg;base64,")
    assert task.photos == photos and task.request["prompt"] == "two cats meet"
    assert (await bot.job(1)).kind is JobKind.REFS


async def test_refs_with_one_photo_is_answered(telegram, aimlapi, make_settings, start_bot):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    telegram.send_photo(telegram.user(1001), jpeg(640, 640), caption="--refs a cat")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer.startswith("A video from reference photos takes 2 to 4 photos in one album")
    assert await bot.job(1) is None and aimlapi.requests == []


async def test_references_where_no_provider_makes_them(telegram, kling, make_settings, start_bot):
    bot = await start_bot(kling_settings(make_settings, kling))
    send_album(telegram, telegram.user(1001), 3, "a picnic", "r3")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer == (
        "I can't make that video: this provider does not make videos from several reference "
        "photos, and no video service of this bot can. Services that can: aimlapi. "
        "Send it without --refs, with one or two photos."
    )
    assert await bot.job(1) is None and kling.requests == []


async def test_a_newer_model_reaches_aimlapi_and_its_end_frame_is_refused(
    telegram, aimlapi, make_settings, start_bot
):
    bot = await start_bot(aimlapi_settings(make_settings, aimlapi))
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video -m 2.5-turbo --mode pro a lantern")
    task = await aimlapi.wait_for_task()
    assert task.request == {"model": "klingai/v2.5-turbo/pro/text-to-video", "prompt": "a lantern"}
    send_album(telegram, alice, 2, "-m 2.1 day turns to night", "r4")
    answer = await telegram.wait_for(
        "sendMessage", lambda c: text_of(c).startswith("I can't make that video")
    )
    assert text_of(answer) == (
        "I can't make that video: this provider uses an end frame (the second photo) only "
        "with kling-v1 pro, kling-v1 std, kling-v1-5 pro, kling-v1-5 std, kling-v1-6 pro, "
        "kling-v1-6 std, kling-v3 pro, kling-v3 std."
    )
    assert await bot.job(2) is None and len(aimlapi.tasks) == 1

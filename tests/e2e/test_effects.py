"""/effect through the real Application: the list with buttons, an album of two people and a
reply to one photo reaching the providers that document effects, and the answers where the
photos do not fit the effect or no provider of the bot makes effects."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from bot.jobs import JobKind
from bot.overrides import Overrides
from tests.e2e.conftest import jpeg
from tests.e2e.test_providers import aimlapi_settings, kling_settings
from tests.fakes.telegram.calls import buttons, text_of


@pytest.fixture
def overrides(overrides: Overrides) -> Overrides:
    """Albums are complete after a short quiet."""
    return dataclasses.replace(overrides, album_wait=0.05)


async def test_effect_alone_lists_the_effects_and_a_button_says_what_to_send(
    telegram, kling, make_settings, start_bot
):
    bot = await start_bot(kling_settings(make_settings, kling))
    alice = telegram.user(1001)
    telegram.send_text(alice, "/effect")
    menu = await telegram.wait_for("sendMessage")
    assert text_of(menu) == "Choose an effect to see what to send:"
    assert buttons(menu) == [
        "fx:hug",
        "fx:kiss",
        "fx:heart_gesture",
        "fx:squish",
        "fx:expansion",
    ]
    telegram.press_button(alice, menu.response["result"], "fx:hug")
    edit = await telegram.wait_for("editMessageText")
    assert text_of(edit).startswith("hug takes two photos, one person each: send them as one")
    assert buttons(edit) == buttons(menu)  # the list stays for another choice
    assert await bot.job(1) is None and kling.requests == []


async def test_an_effect_press_on_another_message_edits_nothing(
    telegram, kling, make_settings, start_bot
):
    await start_bot(kling_settings(make_settings, kling))
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video a kite")
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    telegram.press_button(alice, status.response["result"], "fx:hug", strict=False)
    answer = await telegram.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "This button does not work here. Send the command again."
    assert not [c for c in telegram.calls_to("editMessageText") if "hug" in text_of(c)]


async def test_an_album_of_two_people_makes_a_hug(telegram, kling, make_settings, start_bot):
    bot = await start_bot(kling_settings(make_settings, kling))
    alice = telegram.user(1001)
    left, right = jpeg(640, 640, "teal"), jpeg(640, 640, "coral")
    telegram.send_photo(alice, left, caption="/effect hug", media_group_id="fx1")
    telegram.send_photo(alice, right, media_group_id="fx1")
    task = await kling.wait_for_task()
    assert task.kind == "effects"
    assert task.request == {
        "effect_scene": "hug",
        "input": {
            "model_name": "kling-v1-6",
            "mode": "std",
            "images": [base64.b64encode(left).decode(), base64.b64encode(right).decode()],
            "duration": "5",
        },
        "external_task_id": "job-1",
    }
    job = await bot.job(1)
    assert job.kind is JobKind.EFFECT and job.params["effect"] == "hug"
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert "effect: hug" in text_of(status)
    await kling.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["caption"] == "✨ hug"


async def test_a_reply_to_a_photo_makes_a_one_photo_effect(
    telegram, aimlapi, make_settings, start_bot
):
    await start_bot(aimlapi_settings(make_settings, aimlapi))
    alice = telegram.user(1001)
    photo = telegram.send_photo(alice, jpeg(720, 720, "navy"))
    await telegram.wait_for("sendMessage")  # "what should happen?"
    telegram.send_text(alice, "/effect squish", reply_to=photo["message_id"])
    task = await aimlapi.wait_for_task()
    assert task.request["model"] == "klingai/kling-video-v1.6-standard-effects"
    assert task.request["effect_scene"] == "squish"
    assert task.request["image_url"].startswith("data:image/jpeg;base64,")
    assert set(task.request) == {"model", "effect_scene", "image_url"}


async def test_photos_that_do_not_fit_the_effect_are_answered_with_what_to_send(
    telegram, kling, make_settings, start_bot
):
    bot = await start_bot(kling_settings(make_settings, kling))
    alice = telegram.user(1001)
    telegram.send_photo(alice, jpeg(640, 640), caption="/effect kiss")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer.startswith("kiss takes two photos")
    telegram.send_photo(alice, jpeg(640, 640), caption="/effect moonwalk")
    answer = text_of((await telegram.wait_for_count("sendMessage", 2))[-1])
    assert answer == (
        "I don't know the effect “moonwalk”. Effects: hug, kiss, heart_gesture, squish, expansion."
    )
    assert await bot.job(1) is None and kling.requests == []


async def test_no_provider_of_the_bot_makes_effects(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())  # the sandbox only
    telegram.send_photo(telegram.user(1001, language_code="ru"), jpeg(), caption="/effect hug")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer == (
        "Ни один видеосервис этого бота не делает видеоэффекты. Умеют: aimlapi, kling."
    )
    assert await bot.job(1) is None

"""Camera moves through the real Application: `--camera` in a request, the Camera row of
/settings, and the refusal (no job, no provider request) where no provider moves the camera."""

from __future__ import annotations

from tests.e2e.conftest import ask_for_video
from tests.e2e.test_providers import aimlapi_settings, kling_settings, makevid_settings
from tests.e2e.test_settings import open_panel
from tests.fakes.telegram.calls import buttons, text_of

SIX_ZEROS = dict.fromkeys(("horizontal", "vertical", "pan", "tilt", "roll", "zoom"), 0)


async def test_a_preset_reaches_kling_and_shows_in_the_status(
    telegram, kling, make_settings, start_bot
):
    bot = await start_bot(kling_settings(make_settings, kling))
    task = await ask_for_video(telegram, kling, "/video --camera forward_up a lighthouse")
    assert task.request == {
        "prompt": "a lighthouse",
        "camera_control": {"type": "forward_up"},
        "model_name": "kling-v1-6",
        "external_task_id": "job-1",
    }
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert "camera: forward and up" in text_of(status)
    assert (await bot.job(1)).params["camera"] == "forward_up"


async def test_six_axes_reach_makevid(telegram, makevid, make_settings, start_bot):
    await start_bot(makevid_settings(make_settings, makevid))
    task = await ask_for_video(telegram, makevid, "/video --camera pan=5,zoom=-3 a canyon")
    assert task.request == {
        "prompt": "a canyon",
        "camera_control": {"type": "simple", "config": {**SIX_ZEROS, "pan": 5, "zoom": -3}},
    }


async def test_an_axis_reaches_aimlapi_as_advanced_camera_control(
    telegram, aimlapi, make_settings, start_bot
):
    await start_bot(aimlapi_settings(make_settings, aimlapi))
    task = await ask_for_video(telegram, aimlapi, "/video -m 1.6 --mode pro --camera tilt=4 rain")
    assert task.request == {
        "model": "kling-video/v1.6/pro/text-to-video",
        "prompt": "rain",
        "advanced_camera_control": {"movement_type": "tilt", "movement_value": 4},
    }


async def test_a_provider_without_camera_is_refused_naming_one_that_can(
    telegram, apiframe, aimlapi, apiframe_settings, start_bot
):
    settings = apiframe_settings(
        video_providers="apiframe,aimlapi",
        aimlapi_api_key="aimlapi-test-key",
        aimlapi_base_url=aimlapi.url,
    )
    bot = await start_bot(settings)
    # AI/ML API moves the camera on kling-v1 and v1.6 pro only, so with the default model
    # neither provider can: the answer names the one that moves the camera.
    telegram.send_text(telegram.user(1001), "/video --camera down_back a fox")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer == (
        "I can't make that video: this provider cannot move the camera in text videos. "
        "aimlapi can: add --provider aimlapi, or choose it in /settings."
    )
    assert await bot.job(1) is None
    assert apiframe.requests == [] and aimlapi.requests == []


async def test_no_provider_of_the_bot_moves_the_camera(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())  # the sandbox only
    user = telegram.user(1001, language_code="ru")
    telegram.send_text(user, "/video --camera pan=5 лиса")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer.startswith("Не могу сделать это видео: этот сервис не умеет двигать камеру")
    assert "Умеют: makevid, aimlapi, kling." in answer
    assert await bot.job(1) is None


async def test_a_bad_move_is_answered_with_the_forms(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    telegram.send_text(telegram.user(1001), "/video --camera zoom_in a fox")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer.startswith("--camera: “zoom_in” is not a choice here. Choose a move (down_back")
    assert "--camera pan=5,zoom=-3" in answer
    assert await bot.job(1) is None


async def test_the_camera_row_of_settings_is_used_by_the_next_video(
    telegram, kling, make_settings, start_bot
):
    bot = await start_bot(kling_settings(make_settings, kling))
    user = telegram.user(1001)
    panel = await open_panel(telegram, user)
    assert "Camera: no move (default)" in text_of(telegram.calls_to("sendMessage")[-1])
    listing = await panel.press("set:cam")
    assert buttons(listing) == [
        "set:cam=down_back",
        "set:cam=forward_up",
        "set:cam=right_turn_forward",
        "set:cam=left_turn_forward",
        "set:cam=",
        "set:main",
    ]
    chosen = await panel.press("set:cam=right_turn_forward")
    assert "Camera: turn right, forward" in text_of(chosen)
    assert await bot.parts.store.get_preferences(1001) == {"camera": "right_turn_forward"}
    task = await ask_for_video(telegram, kling, "/video a bridge at dawn")
    assert task.request["camera_control"] == {"type": "right_turn_forward"}


async def test_the_camera_row_is_left_out_where_no_move_is_offered(
    telegram, make_settings, start_bot
):
    await start_bot(make_settings())  # the sandbox documents no camera
    await open_panel(telegram, telegram.user(1001))
    panel = telegram.calls_to("sendMessage")[-1]
    assert "Camera" not in text_of(panel)
    assert "set:cam" not in buttons(panel)


async def test_sound_reaches_kling_v2_6_pro(telegram, kling, make_settings, start_bot):
    await start_bot(kling_settings(make_settings, kling))
    task = await ask_for_video(telegram, kling, "/video -m 2.6 --mode pro --sound a thunderstorm")
    assert task.request == {
        "prompt": "a thunderstorm",
        "mode": "pro",
        "model_name": "kling-v2-6",
        "external_task_id": "job-1",
        "sound": "on",
    }
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert "with sound" in text_of(status)


async def test_sound_where_no_provider_makes_it_is_refused(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings())
    telegram.send_text(telegram.user(1001), "/video --sound a thunderstorm")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer == (
        "I can't make that video: this provider does not make videos with sound, and no video "
        "service of this bot can. Services that can: apiframe2, aimlapi, kling. Send it without "
        "--sound."
    )
    assert await bot.job(1) is None and apiframe.requests == []

"""Options in the command override settings for one video; a bad one is answered, no job."""

from __future__ import annotations

import pytest

from tests.fakes.telegram.calls import text_of


async def test_every_option_reaches_the_provider(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings())
    telegram.send_text(
        telegram.user(1001),
        '/video --ar 9:16 --duration 10 --model kling-v1-5 --mode pro --neg "blurry, text"'
        " --cfg 0.7 a fox in the snow",
    )
    create = await apiframe.wait_for("/kling-imagine")
    assert create.json == {
        "prompt": "a fox in the snow",
        "generation_type": "text2video",
        "aspect_ratio": "9:16",
        "duration": 10,
        "model": "kling-v1-5",
        "mode": "pro",
        "negative_prompt": "blurry, text",
        "cfg_scale": 0.7,
    }
    status = await telegram.wait_for("sendMessage")
    assert "kling-v1-5 · 10 s · 9:16 · pro · cfg 0.7 · without: blurry, text" in text_of(status)
    assert (await bot.job(1)).prompt == "a fox in the snow"


async def test_short_forms_and_options_over_settings(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(sandbox_delay=60))
    await bot.parts.store.put_preferences(1001, {"duration": 10, "model": "kling-v1"})
    telegram.send_text(telegram.user(1001), "/video 1:1 -d 5 -m 1.6 a fox\nslow motion")
    await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    job = await bot.job(1)
    assert job.prompt == "a fox\nslow motion"
    assert job.params["aspect_ratio"] == "1:1"
    assert job.params["duration"] == 5  # the option, over the setting
    assert job.params["model"] == "kling-v1-6"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("--ar 5:4 a fox", "--ar: “5:4” is not a choice here. Choose 16:9, 9:16, 1:1."),
        ("4:3 a fox", "--ar: “4:3” is not a choice here. Choose 16:9, 9:16, 1:1."),
        ("-d 7 a fox", "-d: “7” is not a choice here. Choose 5, 10."),
        ("--duration ten a fox", "--duration: “ten” is not a choice here. Choose 5, 10."),
        ("--mode turbo a fox", "--mode: “turbo” is not a choice here. Choose pro, std."),
        ("--cfg 1.5 a fox", "--cfg: “1.5” is not a choice here. Choose a number from 0 to 1."),
        ("--provider nope a fox", "--provider: “nope” is not a choice here. Choose sandbox."),
        ("a fox --ar", "--ar needs a value: 16:9, 9:16, 1:1."),
        ('--neg "" a fox', "--neg needs a value: some text, in quotes if it has spaces"),
        ("--speed 2 a fox", "I don't know the option --speed. Options: --ar, --duration,"),
    ],
)
async def test_bad_option_is_named_with_its_choices_and_makes_no_job(
    telegram, make_settings, start_bot, command, expected
):
    bot = await start_bot(make_settings())
    telegram.send_text(telegram.user(1001), f"/video {command}")
    answer = await telegram.wait_for("sendMessage")
    assert text_of(answer).startswith(expected)
    assert await bot.job(1) is None


async def test_bad_model_lists_the_models(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    telegram.send_text(telegram.user(1001), "/video --model kling-v9 a fox")
    answer = text_of(await telegram.wait_for("sendMessage"))
    assert answer.startswith("--model: “kling-v9” is not a choice here. Choose kling-v1, ")
    assert "kling-v2-5-turbo" in answer
    assert await bot.job(1) is None

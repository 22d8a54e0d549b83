"""/settings: every button, in place; stored, applied to new jobs, and kept across a restart."""

from __future__ import annotations

from typing import Any

from bot.jobs import JobState
from tests.fakes.telegram.calls import buttons, text_of


def panel_of(call) -> Any:
    return call.response["result"]


class Panel:
    """Presses buttons on one settings message and waits for each in-place edit."""

    def __init__(self, telegram, user, message) -> None:
        self.telegram = telegram
        self.user = user
        self.message = message

    async def press(self, data: str):
        before = len(self.edits())
        self.telegram.press_button(self.user, self.message, data)
        calls = await self.telegram.wait_for_count("editMessageText", before + 1, self._mine)
        return calls[-1]

    def edits(self):
        return [c for c in self.telegram.calls_to("editMessageText") if self._mine(c)]

    def _mine(self, call) -> bool:
        message = self.message
        return bool(
            call.params["message_id"] == message["message_id"]
            and call.params["chat_id"] == message["chat"]["id"]
        )


async def open_panel(telegram, user, chat=None, *, count: int = 1) -> Panel:
    telegram.send_text(user, "/settings", chat=chat)
    calls = await telegram.wait_for_count(
        "sendMessage", count, lambda c: "⚙️" in text_of(c) and "reply_markup" in c.params
    )
    return Panel(telegram, user, panel_of(calls[-1]))


async def test_every_button_edits_in_place_and_settings_survive_a_restart(
    telegram, make_settings, start_bot
):
    settings = make_settings(sandbox_delay=0.3)
    bot = await start_bot(settings)
    alice = telegram.user(1001, "Alice")
    panel = await open_panel(telegram, alice)
    first = telegram.calls_to("sendMessage")[-1]
    assert "Model: kling-v1 (default)" in text_of(first)
    assert "Results as: playable video" in text_of(first)
    assert {"set:m", "set:d", "set:ar", "set:mo", "set:p", "set:neg", "set:f"} <= set(
        buttons(first)
    )

    models = await panel.press("set:m")
    assert "set:m=kling-v2-master" in buttons(models) and "set:main" in buttons(models)
    assert "Model: kling-v1-6" in text_of(await panel.press("set:m=kling-v1-6"))
    durations = await panel.press("set:d")
    assert {"set:d=5", "set:d=10", "set:d="} <= set(buttons(durations))
    assert "Duration: 10 s" in text_of(await panel.press("set:d=10"))
    await panel.press("set:ar")
    assert "Aspect ratio: 9:16" in text_of(await panel.press("set:ar=9:16"))
    await panel.press("set:mo")
    assert "Mode: pro" in text_of(await panel.press("set:mo=pro"))
    await panel.press("set:p")
    assert "Provider: sandbox" in text_of(await panel.press("set:p=sandbox"))
    assert "Results as: file" in text_of(await panel.press("set:f"))
    back = await panel.press("set:m")
    assert "✓ kling-v1-6" in [
        b["text"] for row in back.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    await panel.press("set:main")

    # The negative prompt: a question, answered by replying.
    telegram.press_button(alice, panel.message, "set:neg")
    question = await telegram.wait_for("sendMessage", lambda c: "avoid" in text_of(c))
    assert question.params["reply_markup"]["force_reply"] is True
    edits_before = len(panel.edits())
    telegram.send_text(alice, "blurry, text", reply_to=question.response["result"]["message_id"])
    await telegram.wait_for("sendMessage", lambda c: "Negative prompt saved" in text_of(c))
    refreshed = (await telegram.wait_for_count("editMessageText", edits_before + 1, panel._mine))[
        -1
    ]
    assert "Negative prompt: blurry, text" in text_of(refreshed)
    assert "set:neg=" in buttons(refreshed)
    # Every change edited the one panel message; no other message was sent for it.
    assert all(
        c.params["message_id"] == panel.message["message_id"]
        for c in telegram.calls_to("editMessageText")
    )

    await bot.stop()
    bot = await start_bot(settings)
    await open_panel(telegram, alice, count=2)
    shown = text_of(telegram.calls_to("sendMessage")[-1])
    for line in (
        "Model: kling-v1-6",
        "Duration: 10 s",
        "Aspect ratio: 9:16",
        "Mode: pro",
        "Negative prompt: blurry, text",
        "Provider: sandbox",
        "Results as: file",
    ):
        assert line in shown

    telegram.send_text(alice, "/video a fox in the snow")
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert "kling-v1-6 · 10 s · 9:16 · pro · without: blurry, text · as a file" in text_of(status)
    job = await bot.job(1)
    assert job.params["model"] == "kling-v1-6" and job.params["duration"] == 10
    assert job.params["aspect_ratio"] == "9:16" and job.params["mode"] == "pro"
    assert job.params["negative_prompt"] == "blurry, text" and job.params["as_file"] is True

    document = await telegram.wait_for("sendDocument")  # the user chose files
    assert document.params["caption"] == "a fox in the snow\n\nkling-v1-6 · 10 s · 9:16"
    assert buttons(document) == ["again:1", "settings"]
    assert document.files["document"].filename == "video-1.mp4"
    await telegram.wait_for("editMessageText", lambda c: "Done" in text_of(c))
    assert (await bot.job(1)).state is JobState.DELIVERED
    assert telegram.calls_to("sendVideo") == []


async def test_clear_reset_default_and_done(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    await bot.parts.store.put_preferences(
        1001, {"model": "kling-v1", "negative_prompt": "fog", "duration": 10}
    )
    panel = await open_panel(telegram, alice)
    assert "Negative prompt: none" in text_of(await panel.press("set:neg="))
    await panel.press("set:d")
    assert "Duration: 5 s (default)" in text_of(await panel.press("set:d="))
    assert "Model: kling-v1 (default)" in text_of(await panel.press("set:reset"))
    assert await bot.parts.store.get_preferences(1001) == {}
    done = await panel.press("set:done")
    assert "reply_markup" not in done.params and "Settings saved." in text_of(done)
    answers = telegram.callback_answers.values()
    assert len(answers) == 5  # every press was answered


async def test_provider_choice_shows_its_values_and_goes_first(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(video_providers="sandbox,apiframe"))
    alice = telegram.user(1001)
    panel = await open_panel(telegram, alice)
    assert "Provider: automatic (sandbox)" in text_of(telegram.calls_to("sendMessage")[-1])
    await panel.press("set:m")
    await panel.press("set:m=kling-v2-master")  # sandbox offers it; APIFRAME does not
    providers = await panel.press("set:p")
    assert {"set:p=sandbox", "set:p=apiframe", "set:p="} <= set(buttons(providers))
    chosen = await panel.press("set:p=apiframe")
    assert "Model: not offered by apiframe, back to default." in text_of(chosen)
    assert "Model: kling-v1-6 (default)" in text_of(chosen)  # APIFRAME's first model
    ratios = await panel.press("set:ar")
    assert "set:ar=21:9" in buttons(ratios)  # APIFRAME's own list
    await panel.press("set:main")
    models = await panel.press("set:m")
    assert [d for d in buttons(models) if d.startswith("set:m=k")] == [
        "set:m=kling-v1-6",
        "set:m=kling-v1-5",
        "set:m=kling-v1",
    ]

    telegram.send_text(alice, "/video a preferred provider")
    task = await apiframe.wait_for_task()  # not the sandbox, first in VIDEO_PROVIDERS
    assert task.request["prompt"] == "a preferred provider"
    assert (await bot.job(1)).provider == "apiframe"


async def test_group_settings_are_set_by_admins_and_apply_to_everyone(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings(sandbox_delay=60))
    group = telegram.group(-100900, "Film club")
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    telegram.set_admin(group["id"], alice["id"])

    # Bob's own settings, made in private.
    mine = await open_panel(telegram, bob)
    await mine.press("set:ar")
    await mine.press("set:ar=9:16")

    panel = await open_panel(telegram, bob, group, count=2)
    assert "Film club" in panel.message["text"]
    telegram.press_button(bob, panel.message, "set:d")
    refused = await telegram.wait_for(
        "answerCallbackQuery", lambda c: "admins" in str(c.params.get("text"))
    )
    assert refused.params["show_alert"] is True
    member = await telegram.wait_for("getChatMember")
    assert member.params["user_id"] == bob["id"]
    assert panel.edits() == []

    panel.user = alice
    await panel.press("set:d")
    assert "Duration: 10 s" in text_of(await panel.press("set:d=10"))
    assert await bot.parts.store.get_preferences(group["id"]) == {"duration": 10}
    assert await bot.parts.store.get_preferences(alice["id"]) == {}

    telegram.send_text(bob, "/video a group film", chat=group)
    await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    job = await bot.job(1)
    assert job.params["duration"] == 10  # the group's choice
    assert job.params["aspect_ratio"] == "9:16"  # Bob's own, where the group chose nothing


async def test_settings_show_the_values_in_force_in_both_languages(
    telegram, make_settings, start_bot
):
    """An unset setting shows what the provider will use, marked as the default."""
    await start_bot(make_settings())
    alice = telegram.user(1001)
    ivan = telegram.user(1002, "Иван", language_code="ru")
    panel = await open_panel(telegram, alice)
    english = text_of(telegram.calls_to("sendMessage")[-1])
    for line in (
        "Model: kling-v1 (default)",
        "Duration: 5 s (default)",
        "Aspect ratio: 16:9 (default)",
        "Mode: std (default)",
        "Provider: automatic (sandbox)",
    ):
        assert line in english
    durations = await panel.press("set:d")
    labels = [b["text"] for row in durations.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "✓ 5 s (default)" in labels
    assert "Duration: 10 s" in text_of(await panel.press("set:d=10"))

    await open_panel(telegram, ivan, count=2)
    russian = text_of(telegram.calls_to("sendMessage")[-1])
    for line in (
        "Модель: kling-v1 (по умолчанию)",
        "Длительность: 5 с (по умолчанию)",
        "Формат кадра: 16:9 (по умолчанию)",
        "Режим: std (по умолчанию)",
    ):
        assert line in russian

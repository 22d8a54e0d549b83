"""Russian for Russian users, command menus per language, privacy-mode groups, forum topics."""

from __future__ import annotations

from tests.e2e.conftest import jpeg
from tests.fakes.telegram.calls import text_of


def button_texts(call) -> list[str]:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def test_command_menu_in_english_and_russian(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    await telegram.wait_for_count("setMyCommands", 2)
    english = {c["command"]: c["description"] for c in telegram.commands()}
    russian = {c["command"]: c["description"] for c in telegram.commands(language_code="ru")}
    assert set(english) == set(russian) == {"video", "effect", "settings", "jobs", "cancel", "help"}
    assert english["jobs"] == "Your recent videos"
    assert russian["jobs"] == "Ваши последние видео"


async def test_the_bot_takes_updates_before_its_menus_are_set_and_stops_without_them(
    telegram, make_settings, start_bot
):
    held = telegram.hold("setMyCommands")  # Telegram slow to answer the first menu
    try:
        bot = await start_bot(make_settings())
        await held.arrived.wait()
        telegram.send_text(telegram.user(1001), "/help")
        assert text_of(await telegram.wait_for("sendMessage")).startswith("I turn your words")
        await bot.stop()  # the menus still waiting: set at the next start
    finally:
        telegram.release("setMyCommands")
    assert telegram.calls_to("getMyDescription") == []


async def test_menus_telegram_refuses_are_logged_and_the_bot_runs_on(
    telegram, make_settings, start_bot, caplog
):
    telegram.fail_next("setMyCommands", error_code=500, description="Internal Server Error")
    await start_bot(make_settings())
    await telegram.wait_for_count("setMyShortDescription", 2)  # the descriptions still set
    assert "could not set the command menus" in caplog.text
    telegram.send_text(telegram.user(1001), "/help")
    assert text_of(await telegram.wait_for("sendMessage")).startswith("I turn your words")


async def test_russian_user_gets_russian_texts(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    ivan = telegram.user(1001, "Иван", language_code="ru")
    telegram.send_text(ivan, "/help")
    assert text_of(await telegram.wait_for("sendMessage")).startswith("Я превращаю")
    telegram.send_text(ivan, "/video --ar 5:4 лиса")
    bad = await telegram.wait_for_count("sendMessage", 2)
    assert text_of(bad[1]) == "--ar: «5:4» здесь не подходит. Выберите 16:9, 9:16, 1:1."

    telegram.send_text(ivan, "/video -d 10 лиса в снегу")
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    assert text_of(status).startswith("🎬 Видео №1 · sandbox\n⏳ В очереди")
    assert "10 с" in text_of(status)
    assert button_texts(status) == ["🚫 Отменить"]
    video = await telegram.wait_for("sendVideo")
    assert video.params["caption"] == "лиса в снегу\n\n10 с"
    assert button_texts(video) == ["🔁 Ещё раз", "⚙️ Настройки"]
    await telegram.wait_for("editMessageText", lambda c: "✅ Готово" in text_of(c))

    telegram.send_text(ivan, "/settings")
    panel = await telegram.wait_for("sendMessage", lambda c: "⚙️ Ваши настройки" in text_of(c))
    assert "Длительность: 5 с (по умолчанию)" in text_of(panel)
    telegram.send_text(ivan, "/cancel")
    nothing = await telegram.wait_for("sendMessage", lambda c: "нет видео в работе" in text_of(c))
    assert text_of(nothing) == "У вас нет видео в работе."


async def test_unknown_language_falls_back_to_english(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    telegram.send_text(telegram.user(1001, language_code="pt-BR"), "/help")
    assert text_of(await telegram.wait_for("sendMessage")).startswith("I turn your words")


async def test_privacy_mode_group_answers_only_what_is_meant_for_it(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings())
    telegram.privacy_mode = True
    group = telegram.group(-100600, "Friends")
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    telegram.send_text(bob, "anyone seen the new Kling videos?", chat=group)
    telegram.send_photo(bob, jpeg(), caption="my cat", chat=group)
    telegram.send_text(alice, "/video", chat=group)  # short usage, not the long one
    usage = await telegram.wait_for("sendMessage")
    assert text_of(usage) == "Add a prompt: /video a corgi surfing at sunset"
    telegram.send_text(alice, "/video@kling_test_bot a red kite", chat=group)
    status = await telegram.wait_for("sendMessage", lambda c: text_of(c).startswith("🎬"))
    telegram.send_text(
        bob, "nice one!", chat=group, reply_to=status.response["result"]["message_id"]
    )  # a reply to the bot, but no question of ours: no answer
    video = await telegram.wait_for("sendVideo")
    assert video.params["caption"] == "Alice: a red kite"  # named in groups
    telegram.send_text(alice, "/jobs", chat=group)
    await telegram.wait_for("sendMessage", lambda c: "recent" in text_of(c))
    assert [text_of(c)[:12] for c in telegram.calls_to("sendMessage")] == [
        "Add a prompt",
        "🎬 Video #1 ·",
        "Your recent ",
    ]
    assert await bot.job(2) is None


async def test_forum_topic_replies_stay_in_the_topic(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    forum = telegram.group(-100700, "Studio", is_forum=True)
    alice = telegram.user(1001, "Alice")
    telegram.send_text(alice, "/video --ar 5:4 a fox", chat=forum, message_thread_id=42)
    telegram.send_text(alice, "/video a fox in the topic", chat=forum, message_thread_id=42)
    video = await telegram.wait_for("sendVideo")
    assert video.params["message_thread_id"] == 42
    telegram.press_button(alice, video.response["result"], "again:1")
    await telegram.wait_for_count("sendVideo", 2)
    telegram.send_text(alice, "/settings", chat=forum, message_thread_id=42)
    panel = await telegram.wait_for("sendMessage", lambda c: "⚙️" in text_of(c))
    telegram.set_admin(forum["id"], alice["id"])
    telegram.press_button(alice, panel.response["result"], "set:neg")
    await telegram.wait_for("sendMessage", lambda c: "avoid" in text_of(c))
    sent = telegram.calls_to("sendMessage") + telegram.calls_to("sendVideo")
    assert len(sent) == 7  # bad option, 2 statuses, panel, question, 2 videos
    assert all(call.params.get("message_thread_id") == 42 for call in sent)


async def test_bot_describes_itself_in_each_language_once(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    await telegram.wait_for_count("setMyShortDescription", 2)
    assert telegram.description().startswith("I turn your words and photos")
    assert telegram.description("ru").startswith("Я превращаю")
    assert "/video" in telegram.description(short=True)
    assert "/video" in telegram.description("ru", short=True)
    # A restart finds the same texts in place and sets nothing again.
    await bot.stop()
    await start_bot(make_settings())
    await telegram.wait_for_count("getMyShortDescription", 4)
    assert len(telegram.calls_to("setMyDescription")) == 2
    assert len(telegram.calls_to("setMyShortDescription")) == 2


async def test_start_deep_links_open_help_or_settings(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    ivan = telegram.user(1001, "Иван", language_code="ru")
    telegram.send_text(ivan, "/start settings")
    panel = await telegram.wait_for("sendMessage")
    assert "⚙️" in text_of(panel) and "reply_markup" in panel.params
    telegram.send_text(ivan, "/start help")
    telegram.send_text(ivan, "/start v-unknown-payload")
    telegram.send_text(ivan, "/start")
    answers = await telegram.wait_for_count("sendMessage", 4)
    assert all(text_of(a).startswith("Я превращаю") for a in answers[1:])


async def test_provider_refusals_reach_russian_users_in_russian(telegram, make_settings, start_bot):
    """Why a provider cannot make a video is a catalogue message, read in the user's language."""
    bot = await start_bot(make_settings())
    ivan = telegram.user(1001, "Иван", language_code="ru")
    telegram.send_text(ivan, "/video " + "лиса " * 600)
    too_long = await telegram.wait_for("sendMessage")
    assert text_of(too_long) == (
        "Не получится сделать это видео: описание слишком длинное: уложитесь в 2500 символов."
    )
    await bot.parts.store.put_preferences(1001, {"duration": 7})  # saved before a change
    telegram.send_text(ivan, "/video лиса")
    duration = await telegram.wait_for_count("sendMessage", 2)
    assert text_of(duration[1]) == (
        "Не получится сделать это видео: выберите длительность из списка: 5, 10 с."
    )
    assert await bot.job(1) is None


async def test_failures_read_in_the_readers_language_now_and_in_jobs(
    telegram, apiframe, apiframe_settings, start_bot
):
    """A failure is stored as its message key: the notice and /jobs render it in Russian."""
    await start_bot(apiframe_settings(submit_attempts=1))
    ivan = telegram.user(1001, "Иван", language_code="ru")
    apiframe.fail_next("/kling-imagine", status=503)
    telegram.send_text(ivan, "/video лиса")
    notice = await telegram.wait_for("sendMessage", lambda c: "не получилось" in text_of(c))
    assert text_of(notice).startswith("❌ Видео №1 не получилось: видеосервис ответил ошибкой (")
    assert text_of(notice).endswith("). Попробуйте позже.")
    telegram.send_text(ivan, "/jobs")
    listing = await telegram.wait_for("sendMessage", lambda c: "Ваши последние" in text_of(c))
    telegram.press_button(ivan, listing.response["result"], "job:1001:1:1")
    details = await telegram.wait_for("editMessageText", lambda c: "Почему" in text_of(c))
    assert "Почему не получилось: видеосервис ответил ошибкой (" in text_of(details)
    assert "Please try again" not in text_of(details)


async def test_delivery_failures_read_in_russian(telegram, apiframe, apiframe_settings, start_bot):
    await start_bot(apiframe_settings())
    ivan = telegram.user(1001, "Иван", language_code="ru")
    telegram.send_text(ivan, "/video лиса")
    task = await apiframe.wait_for_task()
    await apiframe.finish(task.task_id, video_url="ftp://videos.example/fox.mp4")
    notice = await telegram.wait_for("sendMessage", lambda c: "не получилось" in text_of(c))
    assert text_of(notice) == (
        "❌ Видео №1 не получилось: не удалось отправить видео (видеосервис дал ссылку не по https)"
    )

"""Many updates at once: chats are handled side by side, each chat's updates in order, and a
flood of messages gets one answer rather than one per message."""

from __future__ import annotations

from bot.i18n import EN
from tests.e2e.conftest import jpeg

ANN, BOB, STRANGER = 1001, 1002, 2002


def texts_to(telegram, chat_id: int) -> list[str]:
    return [
        str(c.params["text"])
        for c in telegram.calls_to("sendMessage")
        if c.params["chat_id"] == chat_id and c.ok
    ]


async def test_one_users_flood_does_not_hold_up_another_user(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(sandbox_delay=60))
    ann, bob = telegram.user(ANN, "Ann"), telegram.user(BOB, "Bob")
    held = telegram.hold("sendMessage", chat_id=ANN)  # Ann's chat is slow (paced, or lagging)
    try:
        for n in range(12):
            telegram.send_text(ann, f"/video fox number {n}")
        telegram.send_text(bob, "/help")
        await held.arrived.wait()
        await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == BOB)
        assert texts_to(telegram, BOB) == [EN.help]
        assert texts_to(telegram, ANN) == []  # Bob was answered while Ann's first reply waited
    finally:
        telegram.release("sendMessage")
    statuses = await telegram.wait_for_count(
        "sendMessage", 12, lambda c: c.params["chat_id"] == ANN
    )
    assert all(str(c.params["text"]).startswith("🎬 Video #") for c in statuses)
    for n in range(12):  # her requests were handled in the order she sent them
        assert (await bot.job(n + 1)).prompt == f"fox number {n}"


async def test_each_chats_updates_keep_their_order(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(sandbox_delay=60))
    ann, bob = telegram.user(ANN, "Ann"), telegram.user(BOB, "Bob")
    held = telegram.hold("getFile")  # Ann's photo is slow to fetch; her next message is quick
    try:
        telegram.send_photo(ann, jpeg(), caption="first: the photo")
        telegram.send_text(ann, "/video second: the text")
        telegram.send_text(bob, "/help")
        await held.arrived.wait()
        await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == BOB)
    finally:
        telegram.release("getFile")
    await telegram.wait_for_count("sendMessage", 2, lambda c: c.params["chat_id"] == ANN)
    first, second = await bot.job(1), await bot.job(2)
    assert (first.prompt, first.input_file_ids != ()) == ("first: the photo", True)
    assert (second.prompt, second.input_file_ids) == ("second: the text", ())


async def test_an_outsider_flooding_the_bot_is_told_once(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings(allowed_user_ids=frozenset({ANN})))
    stranger = telegram.user(STRANGER, "Mallory")
    for n in range(12):
        telegram.send_text(stranger, f"/video fox {n}" if n % 2 else f"hello {n}")
    refusal = await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == STRANGER)
    # A button press in the same chat is handled after the twelve messages: once it is
    # answered, all of them were.
    telegram.press_button(stranger, refusal.result, "jobs:1", strict=False)
    answer = await telegram.wait_for("answerCallbackQuery")
    assert texts_to(telegram, STRANGER) == [EN.not_allowed]
    assert "text" not in answer.params  # told already: the button's spinner stops silently
    assert await bot.job(1) is None


async def test_chatter_gets_one_hint_and_a_flood_of_requests_one_refusal(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings(request_cooldown=30, sandbox_delay=60))
    ann = telegram.user(ANN, "Ann")
    for n in range(6):
        telegram.send_text(ann, f"hello {n}")
    for n in range(6):
        telegram.send_text(ann, f"/video fox {n}")
    telegram.send_text(ann, "/help")  # handled after all of the above: Ann's chat keeps order
    await telegram.wait_for("sendMessage", lambda c: c.params["text"] == EN.help)
    answers = texts_to(telegram, ANN)
    assert answers[0] == EN.private_hint
    assert answers[1].startswith("🎬 Video #1")
    assert answers[2].startswith("Please wait") and answers[2].endswith("for the next video.")
    assert answers[3:] == [EN.help]
    assert await bot.job(2) is None

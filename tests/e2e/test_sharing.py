"""Sharing finished videos: inline mode lists a person's own videos (filtered, paged, never
anyone else's), the Share button under a video, Send again and Same prompt again in /jobs,
`?start=v<number>` links, and a bot whose inline mode is off in BotFather."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ask_for_video
from tests.fakes.telegram import FakeTelegram

SHARE = "📤 Share"


def callback_datas(call: Any) -> list[str]:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row if "callback_data" in button]


def inline_buttons(call: Any) -> list[dict[str, Any]]:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [button for row in rows for button in row if "callback_data" not in button]


def done(call: Any) -> bool:
    return "✅ Done" in str(call.params.get("text"))


async def make_videos(telegram: FakeTelegram, user: dict[str, Any], *prompts: str, chat=None):
    """`user` asks for each prompt in turn (sandbox): the delivered sendVideo calls, each
    recorded as delivered (its status says Done) before the next is asked for."""
    delivered = []
    for prompt in prompts:
        sent, finished = (
            len(telegram.calls_to("sendVideo")),
            len([c for c in telegram.calls_to("editMessageText") if done(c)]),
        )
        telegram.send_text(user, f"/video {prompt}", chat=chat)
        calls = await telegram.wait_for_count("sendVideo", sent + 1, lambda c: c.ok)
        await telegram.wait_for_count("editMessageText", finished + 1, done)
        delivered.append(calls[-1])
    return delivered


def listed(answer: dict[str, Any]) -> list[str]:
    return [result["id"] for result in answer["results"]]


async def test_inline_lists_only_the_askers_videos_filtered_and_paged(
    telegram, make_settings, start_bot
):
    telegram.inline_mode = True
    bot = await start_bot(make_settings(), inline_page=2)
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    group = telegram.group(-100500, "Friends")
    await make_videos(telegram, alice, "a red fox", "a green owl")
    await make_videos(telegram, bob, "a fox in the snow", chat=group)  # video 3, Bob's
    await make_videos(telegram, alice, "a blue FOX at night")  # video 4

    first = await telegram.inline_answer(telegram.send_inline_query(alice, chat_type="supergroup"))
    assert listed(first) == ["v4", "v2"] and first["next_offset"] == "2"
    assert first["is_personal"] is True and first["cache_time"] <= 10
    video = first["results"][0]
    assert video["type"] == "video" and video["title"] == "a blue FOX at night"
    assert video["caption"] == "a blue FOX at night"  # no name, no settings, no buttons
    assert "reply_markup" not in video and video["description"].startswith("Video #4")
    stored = await bot.job(4)
    assert video["video_file_id"] == stored.video_file_id

    rest = await telegram.inline_answer(telegram.send_inline_query(alice, offset="2"))
    assert listed(rest) == ["v1"] and rest["next_offset"] == ""

    foxes = await telegram.inline_answer(telegram.send_inline_query(alice, "fox"))
    assert listed(foxes) == ["v4", "v1"]  # case-insensitive; Bob's fox is not Alice's
    # Telegram keeps the answer to "fox" for a while: it must be Alice's alone, so Bob typing
    # the same word in the same group is asked of the bot and sees his own video only.
    bobs = await telegram.inline_answer(telegram.send_inline_query(bob, "fox", chat_type="group"))
    assert bobs["from_cache"] is False and listed(bobs) == ["v3"]
    for answer in (first, rest, foxes, bobs):
        assert answer["is_personal"] is True
    # References: a number typed by someone else finds nothing; a forged offset neither.
    theirs = await telegram.inline_answer(telegram.send_inline_query(bob, "#1"))
    assert listed(theirs) == [] and theirs["button"]["start_parameter"] == "help"
    forged = await telegram.inline_answer(telegram.send_inline_query(bob, offset="'; DROP"))
    assert listed(forged) == [] and forged["next_offset"] == ""
    nobody = telegram.user(1003, "Carol")
    empty = await telegram.inline_answer(telegram.send_inline_query(nobody))
    assert listed(empty) == [] and empty["button"]["text"] == "🎬 Make a video"


async def test_share_button_posts_the_video_with_a_clean_caption(
    telegram, make_settings, start_bot
):
    telegram.inline_mode = True
    telegram.inline_feedback = True
    bot = await start_bot(make_settings(share_credit=True))
    alice = telegram.user(1001, "Alice", username="alice")
    bob = telegram.user(1002, "Bob")
    (delivered,) = await make_videos(telegram, alice, "-d 10 a paper boat")
    assert callback_datas(delivered) == ["again:1", "settings"]
    assert [b["text"] for b in inline_buttons(delivered)] == [SHARE]

    query, chats = telegram.share_query(delivered.response["result"], SHARE)
    assert query == "#1"
    assert chats == {
        "query": "#1",
        "allow_user_chats": True,
        "allow_bot_chats": False,
        "allow_group_chats": True,
        "allow_channel_chats": True,
    }
    query_id = telegram.send_inline_query(alice, query, chat_type="supergroup")
    answer = await telegram.inline_answer(query_id)
    assert listed(answer) == ["v1"]

    # The bot is in the group; even with privacy mode on it gets messages sent via itself.
    telegram.privacy_mode = True
    group = telegram.group(-100600, "Family")
    posted = telegram.choose_inline_result(alice, query_id, "v1", group)
    assert posted["via_bot"]["username"] == telegram.bot_username
    assert posted["from"]["id"] == 1001 and "reply_markup" not in posted
    assert posted["caption"] == "a paper boat\n\nmade with @kling_test_bot"
    assert posted["video"]["file_id"] == (await bot.job(1)).video_file_id

    # The shared message names the bot, but it is no request: the bot stays silent. The
    # group's updates run in order, so Bob's /help is answered after the shared video.
    telegram.send_text(bob, "/help", chat=group)
    help_ = await telegram.wait_for(
        "sendMessage",
        lambda c: c.params["chat_id"] == group["id"] and "I turn" in c.params["text"],
    )
    said = [c for c in telegram.calls if c.params.get("chat_id") == group["id"]]
    assert said == [help_]

    # Alice's updates without a chat run in order too: once her next inline query is
    # answered, the chosen result before it was counted.
    await telegram.inline_answer(telegram.send_inline_query(alice, "boat"))
    shares = bot.parts.metrics.registry.get_sample_value("kling_bot_shares_total")
    assert shares == 1.0


async def test_send_again_uses_the_kept_file_and_same_prompt_counts(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(daily_jobs_per_user=1))
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    task = await ask_for_video(telegram, apiframe, "/video a paper boat", alice)
    await apiframe.finish(task.task_id)
    first = await telegram.wait_for("sendVideo", lambda c: c.ok)
    file_id = first.response["result"]["video"]["file_id"]
    await telegram.wait_for("editMessageText", done)  # recorded as delivered

    telegram.send_text(alice, "/jobs")
    listing = await telegram.wait_for("sendMessage", lambda c: "recent videos" in c.params["text"])
    listing_id = listing.response["result"]["message_id"]
    telegram.press_button(alice, listing.response["result"], "job:1001:1:1")
    details = await telegram.wait_for(
        "editMessageText",
        lambda c: (c.params["chat_id"], c.params["message_id"]) == (1001, listing_id),
    )
    assert callback_datas(details) == ["resend:1", "again:1", "jobs:1001:1"]
    link = "https://t.me/kling_test_bot?start=v1"  # /start v1 sends it: see the test below
    assert details.params["text"].endswith(f"🔗 Your link to this video: {link}")
    labels = [b["text"] for row in details.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["📨 Send again", "🔁 Same prompt again", "‹ Back"]

    provider_requests, downloads = len(apiframe.requests), list(telegram.downloads)
    message = details.response["result"]
    pressed = telegram.press_button(bob, message, "resend:1")  # not his video
    refused = await telegram.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == pressed["id"]
    )
    assert "belongs to someone else" in refused.params["text"]
    telegram.press_button(alice, message, "resend:1")
    again = await telegram.wait_for_count("sendVideo", 2, lambda c: c.ok)
    assert again[1].params["video"] == file_id and again[1].files == {}
    assert again[1].params["chat_id"] == 1001 and again[1].params["caption"] == "a paper boat"
    assert callback_datas(again[1]) == ["again:1", "settings"]
    assert len(apiframe.requests) == provider_requests and telegram.downloads == downloads
    assert len(telegram.calls_to("sendVideo")) == 2

    pressed = telegram.press_button(alice, message, "again:1")  # over today's limit of 1
    answer = await telegram.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == pressed["id"]
    )
    assert "text" not in answer.params  # the refusal is a message in the chat, after it
    refusal = await telegram.wait_for(
        "sendMessage", lambda c: c.params["text"].startswith("You have made 1 videos")
    )
    assert refusal.params["chat_id"] == 1001
    assert len(apiframe.requests) == provider_requests and await bot.job(2) is None


async def test_deep_link_sends_a_video_to_its_owner_only(telegram, make_settings, start_bot):
    await start_bot(make_settings())
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    (delivered,) = await make_videos(telegram, alice, "a paper boat")
    file_id = delivered.response["result"]["video"]["file_id"]

    telegram.send_text(alice, "/start v1")
    again = await telegram.wait_for_count("sendVideo", 2, lambda c: c.ok)
    assert again[1].params["video"] == file_id and again[1].params["chat_id"] == 1001

    telegram.send_text(bob, "/start v1")
    refusal = await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == 1002)
    assert refusal.params["text"] == (
        "That video belongs to someone else: only the person who made it can open it."
    )
    telegram.send_text(alice, "/start v99")
    missing = await telegram.wait_for("sendMessage", lambda c: "#99" in c.params["text"])
    assert missing.params["text"] == "There is no finished video #99 to send."
    telegram.send_text(alice, "/start v1x")  # not a video link: the help, as any payload
    await telegram.wait_for("sendMessage", lambda c: "I turn your words" in c.params["text"])
    assert len(telegram.calls_to("sendVideo")) == 2


async def test_inline_mode_off_degrades_quietly(telegram, make_settings, start_bot):
    assert telegram.inline_mode is False  # a new bot's BotFather setting
    await start_bot(make_settings())
    alice = telegram.user(1001, "Alice")
    (delivered,) = await make_videos(telegram, alice, "a paper boat")
    assert inline_buttons(delivered) == []  # no Share button that would open nothing
    assert callback_datas(delivered) == ["again:1", "settings"]
    assert telegram.send_inline_query(alice, "boat") is None  # clients send no queries
    telegram.send_text(alice, "/start v1")  # links and Send again need no inline mode
    again = await telegram.wait_for_count("sendVideo", 2, lambda c: c.ok)
    assert inline_buttons(again[1]) == []
    assert telegram.calls_to("answerInlineQuery") == []


async def test_a_video_delivered_as_a_file_is_shared_and_sent_again_as_a_file(
    telegram, make_settings, start_bot
):
    telegram.inline_mode = True
    bot = await start_bot(make_settings())
    alice = telegram.user(1001, "Alice")
    await bot.parts.store.put_preferences(1001, {"as_file": True})  # "Results as: file"
    telegram.send_text(alice, "/video a paper boat")
    document = await telegram.wait_for("sendDocument", lambda c: c.ok)
    file_id = document.response["result"]["document"]["file_id"]
    assert [b["text"] for b in inline_buttons(document)] == [SHARE]
    await telegram.wait_for("editMessageText", done)
    assert (await bot.job(1)).video_file_kind == "document"

    answer = await telegram.inline_answer(telegram.send_inline_query(alice, "boat"))
    (result,) = answer["results"]
    assert result["type"] == "document" and result["document_file_id"] == file_id
    assert result["title"] == "a paper boat" and result["caption"] == "a paper boat"

    telegram.send_text(alice, "/start v1")
    again = await telegram.wait_for_count("sendDocument", 2, lambda c: c.ok)
    assert again[1].params["document"] == file_id and again[1].files == {}
    assert telegram.calls_to("sendVideo") == []


async def test_a_group_video_comes_back_in_private_without_the_name(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings())
    alice = telegram.user(1001, "Alice", username="alice")
    group = telegram.group(-100900, "Friends")
    (delivered,) = await make_videos(telegram, alice, "a kite", chat=group)
    assert delivered.params["caption"] == "@alice: a kite"

    telegram.send_text(alice, "/jobs")  # in private: every video of hers, the group's too
    listing = await telegram.wait_for("sendMessage", lambda c: "recent videos" in c.params["text"])
    message = listing.response["result"]
    telegram.press_button(alice, message, "job:1001:1:1")
    details = await telegram.wait_for(
        "editMessageText",
        lambda c: (c.params["chat_id"], c.params["message_id"]) == (1001, message["message_id"]),
    )
    telegram.press_button(alice, details.response["result"], "resend:1")
    again = await telegram.wait_for_count("sendVideo", 2, lambda c: c.ok)
    assert again[1].params["chat_id"] == 1001 and again[1].params["caption"] == "a kite"

    telegram.press_button(alice, details.response["result"], "again:1")  # same prompt, here
    await telegram.wait_for_count("sendVideo", 3, lambda c: c.ok)
    second = await bot.job(2)
    assert second.prompt == "a kite" and second.requester.chat_id == 1001
    assert [c.params["chat_id"] for c in telegram.calls_to("sendVideo")] == [
        group["id"],
        1001,
        1001,
    ]

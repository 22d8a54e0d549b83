"""The fake Telegram's inline mode behaves like the Bot API's (https://core.telegram.org/bots/api
#inline-mode): queries only with inline mode on, answerInlineQuery checked, answers cached as
`cache_time` and `is_personal` say, chosen results posted via the bot and reported with inline
feedback on, and switch_inline_query_chosen_chat buttons checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultCachedDocument,
    InlineQueryResultCachedVideo,
    InlineQueryResultsButton,
    SwitchInlineQueryChosenChat,
)
from telegram.error import BadRequest

from tests.fakes.telegram import FakeTelegram

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        fake.inline_mode = True
        yield fake
    assert fake.internal_errors == []


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(tg.token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
    async with client:
        yield client


@pytest.fixture
def alice(tg: FakeTelegram) -> dict[str, Any]:
    return tg.user(1001, "Alice")


async def uploaded(bot: Bot, chat_id: int, *, document: bool = False) -> str:
    """A file_id of a video (or a document) the bot uploaded."""
    if document:
        message = await bot.send_document(chat_id, VIDEO, filename="clip.mp4")
        assert message.document is not None
        return message.document.file_id
    message = await bot.send_video(chat_id, VIDEO, filename="clip.mp4")
    assert message.video is not None
    return message.video.file_id


async def next_query_id(bot: Bot) -> str:
    updates = await bot.get_updates()
    query = updates[-1].inline_query
    assert query is not None
    await bot.get_updates(offset=updates[-1].update_id + 1)
    return query.id


async def test_queries_only_with_inline_mode_on(tg: FakeTelegram, bot: Bot, alice) -> None:
    tg.inline_mode = False
    assert (await bot.get_me()).supports_inline_queries is False
    assert tg.send_inline_query(alice, "fox") is None
    assert await bot.get_updates() == ()
    tg.inline_mode = True
    assert (await bot.get_me()).supports_inline_queries is True
    query_id = tg.send_inline_query(alice, "fox", offset="7", chat_type="group")
    (update,) = await bot.get_updates()
    assert update.inline_query is not None
    assert (update.inline_query.id, update.inline_query.query) == (query_id, "fox")
    assert (update.inline_query.offset, update.inline_query.chat_type) == ("7", "group")
    assert update.inline_query.from_user.id == 1001
    await bot.get_updates(offset=update.update_id + 1, allowed_updates=["message"])
    tg.send_inline_query(alice, "owl")  # not among allowed_updates: Telegram drops it
    assert await bot.get_updates() == ()


async def test_answer_inline_query_checks_results(tg: FakeTelegram, bot: Bot, alice) -> None:
    video = await uploaded(bot, 1001)
    document = await uploaded(bot, 1001, document=True)
    tg.send_inline_query(alice, "a")
    query_id = await next_query_id(bot)

    def cached(result_id: str, file_id: str = video) -> InlineQueryResultCachedVideo:
        return InlineQueryResultCachedVideo(result_id, file_id, "a fox")

    bad: list[tuple[dict[str, Any], str]] = [
        ({"results": [cached("v1"), cached("v1")]}, "RESULT_ID_DUPLICATE"),
        ({"results": [cached("x" * 65)]}, "RESULT_ID_INVALID"),
        ({"results": [cached(f"v{n}") for n in range(51)]}, "RESULTS_TOO_MUCH"),
        ({"results": [cached("v1", "VIDEO-nope")]}, "wrong file identifier"),
        ({"results": [cached("v1", document)]}, "type of file mismatch"),
        ({"results": [cached("v1")], "next_offset": "9" * 65}, "NEXT_OFFSET_INVALID"),
        (
            {"results": [], "button": InlineQueryResultsButton("Go", start_parameter="a b")},
            "START_PARAM_INVALID",
        ),
        (
            {"results": [InlineQueryResultCachedVideo("v1", video, "a", caption="c" * 1025)]},
            "MEDIA_CAPTION_TOO_LONG",
        ),
    ]
    for arguments, error in bad:
        with pytest.raises(BadRequest, match=f"(?i){error}"):
            await bot.answer_inline_query(query_id, **arguments)
    assert tg.inline_answers == {}
    good = [cached("v1"), InlineQueryResultCachedDocument("d2", "a file", document)]
    await bot.answer_inline_query(query_id, good, cache_time=5, is_personal=True, next_offset="1")
    answer = await tg.inline_answer(query_id)
    assert [r["id"] for r in answer["results"]] == ["v1", "d2"]
    assert (answer["next_offset"], answer["cache_time"], answer["is_personal"]) == ("1", 5, True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):  # answered once only
        await bot.answer_inline_query(query_id, [])
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query("12345", [])


async def test_cached_answers_reach_others_unless_personal(
    tg: FakeTelegram, bot: Bot, alice
) -> None:
    bob = tg.user(1002, "Bob")
    video = await uploaded(bot, 1001)
    result = [InlineQueryResultCachedVideo("v1", video, "Alice's fox")]

    tg.send_inline_query(alice, "fox")
    await bot.answer_inline_query(await next_query_id(bot), result, cache_time=60)
    shared = await tg.inline_answer(str(tg.send_inline_query(bob, "fox")))
    assert shared["from_cache"] is True and shared["results"][0]["title"] == "Alice's fox"
    assert await bot.get_updates() == ()  # Telegram did not even ask the bot

    tg.send_inline_query(alice, "owl")
    await bot.answer_inline_query(await next_query_id(bot), result, cache_time=60, is_personal=True)
    assert tg.send_inline_query(bob, "owl") is not None
    (update,) = await bot.get_updates()  # Bob's own query reaches the bot
    assert update.inline_query is not None and update.inline_query.from_user.id == 1002
    await bot.get_updates(offset=update.update_id + 1)
    again = await tg.inline_answer(str(tg.send_inline_query(alice, "owl")))
    assert again["from_cache"] is True  # for Alice herself, the cache still answers

    tg.send_inline_query(alice, "cat")
    await bot.answer_inline_query(await next_query_id(bot), result, cache_time=0)
    tg.send_inline_query(bob, "cat")
    assert (await bot.get_updates())[-1].inline_query is not None  # cache_time 0: no cache


async def test_chosen_result_is_posted_via_the_bot(tg: FakeTelegram, bot: Bot, alice) -> None:
    video = await uploaded(bot, 1001)
    group = tg.group(-100700, "Friends")
    outside = {"id": -100800, "title": "Elsewhere", "type": "supergroup"}  # no bot there
    query_id = str(tg.send_inline_query(alice, "fox"))
    await next_query_id(bot)
    result = InlineQueryResultCachedVideo("v1", video, "a fox", caption="a fox")
    await bot.answer_inline_query(query_id, [result])

    posted = tg.choose_inline_result(alice, query_id, "v1", outside)
    assert posted["via_bot"]["id"] == tg.bot_id and posted["from"]["id"] == 1001
    assert posted["video"]["file_id"] == video and posted["caption"] == "a fox"
    assert await bot.get_updates() == ()  # no inline feedback, and the bot is not there

    tg.inline_feedback = True
    tg.choose_inline_result(alice, query_id, "v1", group)
    chosen, message = await bot.get_updates()
    assert chosen.chosen_inline_result is not None
    assert chosen.chosen_inline_result.result_id == "v1"
    assert chosen.chosen_inline_result.query == "fox"
    assert message.message is not None and message.message.via_bot is not None
    with pytest.raises(KeyError):
        tg.choose_inline_result(alice, query_id, "v2", group)


async def test_switch_inline_query_chosen_chat_buttons(tg: FakeTelegram, bot: Bot, alice) -> None:
    def markup(chosen: SwitchInlineQueryChosenChat) -> InlineKeyboardMarkup:
        button = InlineKeyboardButton("Share", switch_inline_query_chosen_chat=chosen)
        return InlineKeyboardMarkup([[button]])

    with pytest.raises(BadRequest, match=r"(?i)BUTTON_TYPE_INVALID"):  # no kind of chat allowed
        await bot.send_message(1001, "hi", reply_markup=markup(SwitchInlineQueryChosenChat("#1")))
    chosen = SwitchInlineQueryChosenChat("#1", allow_user_chats=True, allow_group_chats=True)
    message = await bot.send_message(1001, "hi", reply_markup=markup(chosen))
    query, chats = tg.share_query(message.to_dict(), "Share")
    assert query == "#1"
    assert chats == {"query": "#1", "allow_user_chats": True, "allow_group_chats": True}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{tg.url}/bot{tg.token}/sendMessage",
            json={
                "chat_id": 1001,
                "text": "hi",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "x", "switch_inline_query_chosen_chat": "#1"}]]
                },
            },
        )
    assert response.status_code == 400
    assert "must be of type Object" in response.json()["description"]

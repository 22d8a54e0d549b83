"""The fake Telegram server behaves like the Bot API, as seen by python-telegram-bot and httpx."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.fakes.server import LocalServer
from tests.fakes.telegram import (
    MAX_UPLOAD_BYTES,
    MAX_URL_BYTES,
    NOT_MODIFIED,
    URL_FAILED,
    URL_WRONG_TYPE,
    WEBHOOK_CONFLICT,
    FakeTelegram,
)

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
UID = 1001
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])


def make_bot(tg: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or tg.token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    server = LocalServer(app)
    url = await server.start()
    try:
        yield url
    finally:
        await server.stop()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake
    assert fake.internal_errors == []


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(tg) as client:
        yield client


@pytest.fixture
async def http(tg: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{tg.url}/bot{tg.token}") as client:
        yield client


@pytest.fixture
def alice(tg: FakeTelegram) -> dict[str, Any]:
    return tg.user(UID, "Alice", username="alice")


@pytest.fixture
def video_handle(tmp_path: Path) -> Iterator[IO[bytes]]:
    path = tmp_path / "clip.mp4"
    path.write_bytes(VIDEO)
    with path.open("rb") as handle:
        yield handle


# --------------------------------------------------------------------------- basics


async def test_get_me_via_bot(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (tg.bot_id, "kling_test_bot", True)
    assert tg.calls_to("getMe")[-1].response["result"]["username"] == "kling_test_bot"


async def test_wrong_token_unknown_method_and_case(
    tg: FakeTelegram, http: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient() as raw:
        wrong = await raw.get(f"{tg.url}/bot123:nope/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    unknown = await http.post("/frobnicate")
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    upper = await http.get("/GETME")
    assert upper.json()["ok"] is True
    assert tg.calls[-1].method == "getMe"
    with pytest.raises(InvalidToken):
        await make_bot(tg, "123:wrong").initialize()


async def test_four_request_encodings_decode_alike(
    tg: FakeTelegram, http: httpx.AsyncClient, alice: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    form = {"chat_id": str(UID), "reply_markup": json.dumps(markup)}
    await http.get("/sendMessage", params={**form, "text": "query"})
    await http.post("/sendMessage", data={**form, "text": "form"})
    await http.post("/sendMessage", json={"chat_id": UID, "text": "json", "reply_markup": markup})
    await http.post(
        "/sendDocument",
        data={**form, "caption": "multipart"},
        files={"document": ("notes.txt", b"hello", "text/plain")},
    )
    calls = tg.calls_to("sendMessage") + tg.calls_to("sendDocument")
    assert [c.http_status for c in calls] == [200] * 4
    for call in calls:
        assert call.params["chat_id"] == UID
        assert call.params["reply_markup"] == markup
        assert call.result["reply_markup"] == markup
    assert calls[-1].files["document"].filename == "notes.txt"
    assert calls[-1].files["document"].size == 5


# --------------------------------------------------------------------------- updates


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_until_polling()
    sent_at = loop.time()
    tg.send_text(alice, "hello")
    updates = await asyncio.wait_for(poll, 5)
    assert loop.time() - sent_at < 1
    assert updates[0].message is not None
    assert updates[0].message.text == "hello"


async def test_second_poller_terminates_the_first(
    tg: FakeTelegram, bot: Bot, http: httpx.AsyncClient
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_until_polling()
    second = await http.post("/getUpdates", data={"timeout": "0"})
    assert second.json() == {"ok": True, "result": []}
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_offset_confirms_updates(tg: FakeTelegram, bot: Bot, alice: dict[str, Any]) -> None:
    tg.send_text(alice, "one")
    tg.send_text(alice, "two")
    updates = await bot.get_updates()
    ids = [u.update_id for u in updates]
    assert len(ids) == 2 and ids[0] < ids[1]
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed yet
    assert len(await bot.get_updates(offset=ids[0] + 1)) == 1
    assert tg.pending_updates[0]["update_id"] == ids[1]
    assert await bot.get_updates(offset=ids[1] + 1) == ()
    third = tg.send_text(alice, "three")
    [update] = await bot.get_updates(offset=ids[1] + 1)
    assert update.update_id > ids[1]
    assert update.message is not None
    assert update.message.message_id == third["message_id"] > 2


async def test_allowed_updates_are_remembered(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    await bot.get_updates(allowed_updates=["callback_query"])
    tg.send_text(alice, "filtered")
    await bot.get_updates()  # no allowed_updates: the previous filter stays
    tg.send_text(alice, "still filtered")
    assert tg.pending_updates == []
    await bot.get_updates(allowed_updates=[])  # back to the default set
    tg.send_text(alice, "delivered")
    [update] = await bot.get_updates()
    assert update.message is not None
    assert update.message.text == "delivered"


async def test_commands_get_bot_command_entities(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    text = tg.send_text(alice, "/start@kling_test_bot now, see https://x.io and @someone")
    assert text["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 21},
        {"type": "url", "offset": 31, "length": 12},
        {"type": "mention", "offset": 48, "length": 8},
    ]
    photo = tg.send_photo(alice, png(50, 40), caption="/animate slowly")
    assert photo["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 8}]
    updates = await bot.get_updates()
    message = updates[0].message
    assert message is not None
    assert message.parse_entities(["bot_command"]).popitem()[1] == "/start@kling_test_bot"
    assert updates[1].message is not None
    assert updates[1].message.caption == "/animate slowly"


async def test_user_replies_carry_the_replied_message_one_level_deep(
    tg: FakeTelegram, alice: dict[str, Any]
) -> None:
    first = tg.send_text(alice, "first")
    second = tg.send_text(alice, "second", reply_to=first["message_id"])
    third = tg.send_text(alice, "third", reply_to=second["message_id"])
    assert second["reply_to_message"]["text"] == "first"
    assert third["reply_to_message"]["text"] == "second"
    assert "reply_to_message" not in third["reply_to_message"]


async def test_group_forum_topic_and_sticker(tg: FakeTelegram, bot: Bot) -> None:
    bob = tg.user(7, "Bob")
    forum = tg.group(-100123, "Makers", is_forum=True)
    message = tg.send_text(bob, "/start", chat=forum, message_thread_id=5)
    assert (message["chat"]["id"], message["is_topic_message"]) == (-100123, True)
    tg.send_sticker(bob)
    updates = await bot.get_updates()
    assert updates[0].message is not None
    assert updates[0].message.message_thread_id == 5
    assert updates[1].message is not None
    assert updates[1].message.sticker is not None
    reply = await bot.send_message(-100123, "hi", message_thread_id=5)
    assert reply.is_topic_message is True


# --------------------------------------------------------------------------- sending and replies


async def test_bot_replies_and_missing_reply_target(
    tg: FakeTelegram, bot: Bot, http: httpx.AsyncClient, alice: dict[str, Any]
) -> None:
    prompt = tg.send_text(alice, "a cat", reply_to=tg.send_text(alice, "hi")["message_id"])
    answer = await bot.send_message(
        UID, "on it", reply_parameters=ReplyParameters(prompt["message_id"])
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "a cat"
    assert answer.reply_to_message.reply_to_message is None
    assert answer.from_user is not None and answer.from_user.username == "kling_test_bot"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(UID, "x", reply_parameters=ReplyParameters(999))
    lenient = await bot.send_message(
        UID, "x", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert lenient.reply_to_message is None
    legacy = await http.post(
        "/sendMessage", data={"chat_id": UID, "text": "x", "reply_to_message_id": "999"}
    )
    assert legacy.status_code == 400
    assert legacy.json()["description"] == "Bad Request: message to be replied not found"
    assert [m["text"] for m in tg.messages(UID)] == ["hi", "a cat", "on it", "x"]


async def test_text_validation(tg: FakeTelegram, bot: Bot, alice: dict[str, Any]) -> None:
    cases = {
        "x" * 4097: "Bad Request: message is too long",
        "   ": "Bad Request: message text is empty",
    }
    for text, description in cases.items():
        with pytest.raises(BadRequest):
            await bot.send_message(UID, text)
        assert tg.calls[-1].response["description"] == description
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello?")
    assert (await bot.send_message(UID, "x" * 4096)).text == "x" * 4096
    assert (await bot.send_message(UID, "  padded \n")).text == "padded"


async def test_entities_given_and_markup_kept_verbatim(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    bold = MessageEntity(MessageEntity.BOLD, 0, 4)
    link = MessageEntity(MessageEntity.TEXT_LINK, 5, 4, url="https://k.ai/v?a=1&b=2")
    message = await bot.send_message(UID, "Bold link 🎬 /start", entities=[bold, link])
    found = {e.type: (text, e.url) for e, text in message.parse_entities().items()}
    assert found == {
        "bold": ("Bold", None),
        "text_link": ("link", "https://k.ai/v?a=1&b=2"),
        "bot_command": ("/start", None),  # detected, and offset in UTF-16 units past the 🎬
    }
    # The bot sends plain text, so the fake parses no markup: a parse_mode keeps the text.
    for mode in (ParseMode.HTML, ParseMode.MARKDOWN_V2):
        kept = await bot.send_message(UID, "<b>Tom & *Jerry*", parse_mode=mode)
        assert (kept.text, kept.entities) == ("<b>Tom & *Jerry*", ())
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(UID, "x", parse_mode="BBCode")


async def test_callback_data_limits_and_answers(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    for data in ("x" * 65, "é" * 33):  # 64 bytes, not characters
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(UID, "pick", reply_markup=too_long)
        assert tg.calls[-1].response["description"] == "Bad Request: BUTTON_DATA_INVALID"
    message = await bot.send_message(UID, "pick", reply_markup=KEYBOARD)
    with pytest.raises(AssertionError, match="no button"):
        tg.press_button(alice, message.to_dict(), "other")
    query = tg.press_button(alice, message.to_dict(), "again")
    [update] = await bot.get_updates()
    assert update.callback_query is not None
    assert (update.callback_query.id, update.callback_query.data) == (query["id"], "again")
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == message.message_id
    assert await bot.answer_callback_query(query["id"], text="Queued")
    assert tg.callback_answers[query["id"]]["text"] == "Queued"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query["id"])


# --------------------------------------------------------------------------- media


async def test_send_video_multipart_upload(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any], video_handle: IO[bytes]
) -> None:
    upload = InputFile(video_handle, filename="clip.mp4", read_file_handle=False)
    message = await bot.send_video(
        UID,
        upload,
        caption="Done in 5s",
        caption_entities=[MessageEntity(MessageEntity.BOLD, 0, 4)],
        supports_streaming=True,
        width=1280,
        height=720,
        duration=5,
        reply_markup=KEYBOARD,
    )
    call = tg.calls_to("sendVideo")[-1]
    assert call.files["video"].filename == "clip.mp4"
    assert call.files["video"].data == VIDEO
    assert call.params["supports_streaming"] is True
    assert call.params["width"] == 1280
    video = message.video
    assert video is not None
    assert (video.width, video.height, video.mime_type) == (1280, 720, "video/mp4")
    assert call.result["video"]["duration"] == 5
    assert video.file_size == len(VIDEO)
    assert tg.file_bytes(video.file_id) == VIDEO
    assert message.caption == "Done in 5s"
    assert message.caption_entities[0].type == "bold"
    stored = tg.message(UID, message.message_id)
    assert stored["supports_streaming"] is True
    assert stored["reply_markup"] == KEYBOARD.to_dict()
    again = await bot.send_video(UID, video.file_id)
    assert again.video is not None
    assert again.video.file_unique_id == video.file_unique_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_video(UID, "no-such-file-id")


async def test_send_video_by_url(tg: FakeTelegram, bot: Bot, alice: dict[str, Any]) -> None:
    async def clip(request: Request) -> Response:
        return Response(VIDEO, media_type="video/mp4")

    async def page(request: Request) -> Response:
        return Response("<html><body>login</body></html>", media_type="text/html")

    async def huge(request: Request) -> Response:
        return Response(bytes(MAX_URL_BYTES + 1), media_type="video/mp4")

    async def gone(request: Request) -> Response:
        return Response(status_code=404)

    media = Starlette(
        routes=[
            Route("/clip.mp4", clip),
            Route("/page", page),
            Route("/huge.mp4", huge),
            Route("/gone.mp4", gone),
        ]
    )
    async with serve(media) as base:
        message = await bot.send_video(UID, f"{base}/clip.mp4", supports_streaming=True)
        assert message.video is not None
        assert tg.file_bytes(message.video.file_id) == VIDEO
        assert message.video.file_name == "clip.mp4"
        for path, description in {
            "/page": URL_WRONG_TYPE,
            "/gone.mp4": URL_FAILED,
            "/huge.mp4": URL_FAILED,
        }.items():
            with pytest.raises(BadRequest):
                await bot.send_video(UID, base + path)
            assert tg.calls[-1].response["description"] == description
        tg.refuse_urls = True
        with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
            await bot.send_video(UID, f"{base}/clip.mp4")


async def test_upload_over_50_mb_is_413(
    tg: FakeTelegram, http: httpx.AsyncClient, alice: dict[str, Any]
) -> None:
    response = await http.post(
        "/sendVideo",
        data={"chat_id": str(UID)},
        files={"video": ("big.mp4", bytes(MAX_UPLOAD_BYTES + 1), "video/mp4")},
    )
    assert response.status_code == 413
    assert response.json() == {
        "ok": False,
        "error_code": 413,
        "description": "Request Entity Too Large",
    }
    assert tg.messages(UID) == []


async def test_photos_come_in_sizes_and_download_via_get_file(
    tg: FakeTelegram, bot: Bot, http: httpx.AsyncClient, alice: dict[str, Any]
) -> None:
    original = png(1000, 800)
    sizes = tg.send_photo(alice, original, caption="make it move")["photo"]
    assert len(sizes) >= 2
    assert [s["width"] for s in sizes] == sorted(s["width"] for s in sizes)
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (1000, 800)
    assert tg.file_bytes(sizes[-1]["file_id"]) == original
    largest = await bot.get_file(sizes[-1]["file_id"])
    assert bytes(await largest.download_as_bytearray()) == original
    thumb = await (await bot.get_file(sizes[0]["file_id"])).download_as_bytearray()
    assert max(Image.open(io.BytesIO(thumb)).size) <= 90
    sent = await bot.send_photo(UID, sizes[-1]["file_id"])
    assert [p.file_id for p in sent.photo] == [s["file_id"] for s in sizes]
    assert (await http.get(f"{tg.url}/file/bot{tg.token}/photos/nope.jpg")).status_code == 404


async def test_documents_and_the_20_mb_download_limit(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    pdf = b"%PDF-1.4 fake"
    document = tg.send_document(alice, pdf, file_name="brief.pdf", mime_type="application/pdf")
    file = await bot.get_file(document["document"]["file_id"])
    assert file.file_path is not None and file.file_path.endswith(".pdf")
    assert bytes(await file.download_as_bytearray()) == pdf
    big = tg.send_document(
        alice, bytes(20 * 1024 * 1024 + 1), file_name="big.bin", mime_type="application/zip"
    )
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(big["document"]["file_id"])


# --------------------------------------------------------------------------- edits and history


async def test_edits_and_not_modified(tg: FakeTelegram, bot: Bot, alice: dict[str, Any]) -> None:
    message = await bot.send_message(UID, "Rendering…", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Rendering…", UID, message.message_id, reply_markup=KEYBOARD)
    assert tg.calls[-1].response["description"] == NOT_MODIFIED
    edited = await bot.edit_message_text("Done", chat_id=UID, message_id=message.message_id)
    assert edited.text == "Done"  # type: ignore[union-attr]
    assert edited.reply_markup is None  # type: ignore[union-attr]
    assert "reply_markup" not in tg.message(UID, message.message_id)
    assert "edit_date" in tg.message(UID, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=UID, message_id=999)
    users_message = tg.send_text(alice, "mine")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=UID, message_id=users_message["message_id"])
    assert [m["text"] for m in tg.messages(UID)] == ["Done", "mine"]
    assert await bot.delete_message(UID, message.message_id)
    assert [m["text"] for m in tg.messages(UID)] == ["mine"]


# --------------------------------------------------------------------------- faults


async def test_hold_can_hold_one_chat_only(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    tg.user(2002)
    held = tg.hold("sendMessage", chat_id=UID)
    waiting = asyncio.create_task(bot.send_message(UID, "held"))
    await held.arrived.wait()
    assert (await bot.send_message(2002, "not held")).text == "not held"
    assert not waiting.done()
    tg.release("sendMessage")
    assert (await waiting).text == "held"


async def test_fail_next_429_raises_retry_after(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    now = [1000.0]
    tg.clock = lambda: now[0]
    tg.fail_next(
        "sendmessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    with pytest.raises(RetryAfter, match="7 seconds"):
        await bot.send_message(UID, "hi")
    assert tg.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    now[0] += 6.5  # as Telegram: the chat is held to its retry_after
    with pytest.raises(RetryAfter, match="1 seconds"):
        await bot.send_message(UID, "hi")
    assert tg.rate_limited_responses == 1  # a bot that did not wait (injected 429s not counted)
    now[0] += 0.5
    assert (await bot.send_message(UID, "hi")).text == "hi"


async def test_blocked_user_is_forbidden(tg: FakeTelegram, bot: Bot, alice: dict[str, Any]) -> None:
    tg.blocked_users.add(UID)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(UID, "hi")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(UID, ChatAction.UPLOAD_VIDEO)
    assert tg.calls[-1].response["description"] == "Forbidden: bot was blocked by the user"


async def test_rate_limits_when_enforced(alice: dict[str, Any]) -> None:
    now = [1000.0]
    async with FakeTelegram(enforce_rate_limits=True) as tg, make_bot(tg) as bot:
        tg.clock = lambda: now[0]
        for uid in range(1, 32):
            tg.user(uid)
        # Per chat: 1 per second and no burst, even after a quiet while; chat actions are free.
        await bot.send_message(1, "a")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "b")
        assert tg.calls[-1].response["parameters"]["retry_after"] >= 1
        assert await bot.send_chat_action(1, ChatAction.TYPING)
        now[0] += 0.999
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "b")
        now[0] += 0.001
        await bot.send_message(1, "b")
        now[0] += 30
        await bot.send_message(1, "c")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "d")
        # Overall: 30 per second.
        now[0] += 60
        for uid in range(2, 32):
            await bot.send_message(uid, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(31, "y")
        # Per group: 20 per minute.
        tg.group(-100500)
        now[0] += 60
        for _ in range(20):
            await bot.send_message(-100500, "g")
            now[0] += 1
        with pytest.raises(RetryAfter):
            await bot.send_message(-100500, "g")
        assert tg.calls[-1].response["parameters"]["retry_after"] == 40
        assert tg.rate_limited_responses == 5


async def test_a_chat_can_be_made_stricter_than_one_a_second() -> None:
    now = [1000.0]
    async with FakeTelegram(enforce_rate_limits=True) as tg, make_bot(tg) as bot:
        tg.clock = lambda: now[0]
        tg.user(1), tg.user(2)
        tg.stricter_chat_limit(1, 2.5)
        await bot.send_message(1, "a")
        await bot.send_message(2, "a")
        now[0] += 2
        await bot.send_message(2, "b")  # other chats keep the documented pace
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "b")
        assert tg.calls[-1].response["parameters"]["retry_after"] == 1
        now[0] += 0.5
        await bot.send_message(1, "b")
        assert tg.rate_limited_responses == 1


# --------------------------------------------------------------------------- webhook


async def test_webhook_blocks_polling_and_pushes_updates(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    failures_left = [1]

    async def hook(request: Request) -> Response:
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        received.append((secret, await request.json()))
        if secret != "s3cret":
            return Response(status_code=403)
        if failures_left[0]:
            failures_left[0] -= 1
            return Response(status_code=500)
        return Response(status_code=200)

    async with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:
        assert await bot.set_webhook(f"{base}/hook", secret_token="s3cret")
        assert tg.calls[-1].response["description"] == "Webhook was set"
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert tg.calls[-1].response["description"] == WEBHOOK_CONFLICT
        sent = tg.send_text(alice, "/start")
        delivery = await tg.wait_for_webhook_delivery(lambda d: d.status == 200)
        assert [d.status for d in tg.webhook_deliveries] == [500, 200]
        assert received[-1] == ("s3cret", {"update_id": delivery.update_id, "message": sent})
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (f"{base}/hook", 0)
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        forged = {"update_id": 1, "message": sent}
        assert await tg.push_raw(forged, secret="guess") == 403
        assert await tg.push_raw(forged, secret=None) == 403
        assert await bot.delete_webhook()
        tg.send_text(alice, "polling again")
        [update] = await bot.get_updates()
        assert update.message is not None
        assert update.message.text == "polling again"


# --------------------------------------------------------------------------- chats and commands


async def test_chats_members_and_commands(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    tg.group(-100777, "Studio")
    tg.set_admin(-100777, UID)
    tg.set_admin(-100777, 5, owner=True)
    tg.user(5, "Owner")
    assert (await bot.get_chat(-100777)).title == "Studio"
    assert (await bot.get_chat_member(-100777, UID)).status == "administrator"
    assert (await bot.get_chat_member(-100777, 5)).status == "creator"
    assert (await bot.get_chat_member(-100777, tg.bot_id)).status == "member"
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("video", "Make a video")])
    private_de = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand("start", "Los")], scope=private_de, language_code="de")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "video"]
    assert tg.commands(private_de.to_dict(), "de") == [{"command": "start", "description": "Los"}]
    assert await bot.get_my_commands(scope=private_de) == ()
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_wait_for_waits_and_reports_what_happened(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    waiter = asyncio.create_task(tg.wait_for("sendMessage", lambda c: c.params["text"] == "late"))
    await bot.send_message(UID, "early")
    await bot.send_message(UID, "late")
    call = await waiter
    assert call.result["text"] == "late"
    calls = await tg.wait_for_count("sendMessage", 2)
    assert [c.params["text"] for c in calls] == ["early", "late"]
    with pytest.raises(AssertionError, match=r"getMe, sendMessage x2"):
        await tg.wait_for("sendVideo", timeout=0.05)


async def test_real_application_polls_and_answers(tg: FakeTelegram, alice: dict[str, Any]) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "Hi there", entities=[MessageEntity(MessageEntity.BOLD, 0, 2)], do_quote=True
        )

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(f"{tg.url}/bot")
        .base_file_url(f"{tg.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        sent = tg.send_text(alice, "/start@kling_test_bot")
        call = await tg.wait_for("sendMessage")
        await app.updater.stop()
        await app.stop()
    assert call.result["text"] == "Hi there"
    assert call.result["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert call.result["reply_to_message"]["message_id"] == sent["message_id"]
    assert tg.pending_updates == []


async def test_other_media_kinds_and_caption_edits(
    tg: FakeTelegram, bot: Bot, alice: dict[str, Any]
) -> None:
    photo = await bot.send_photo(UID, png(400, 300), caption="still")
    assert [(p.width, p.height) for p in photo.photo][-1] == (400, 300)
    animation = await bot.send_animation(UID, InputFile(VIDEO, filename="loop.mp4"))
    assert animation.animation is not None and animation.document is not None
    document = await bot.send_document(UID, InputFile(b"log", filename="run.txt"), caption="x")
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == ("run.txt", "text/plain")
    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await bot.send_video(UID, InputFile(b"", filename="empty.mp4"))
    with pytest.raises(BadRequest, match=r"(?i)type of file mismatch"):
        await bot.send_video(UID, photo.photo[-1].file_id)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(UID, photo.photo[-1].file_id, caption="c" * 1025)
    edited = await bot.edit_message_caption(
        UID,
        document.message_id,
        caption="y",
        caption_entities=[MessageEntity(MessageEntity.ITALIC, 0, 1)],
        reply_markup=KEYBOARD,
    )
    assert edited.caption == "y"  # type: ignore[union-attr]
    assert tg.message(UID, document.message_id)["caption_entities"][0]["type"] == "italic"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(UID, document.message_id, reply_markup=KEYBOARD)
    await bot.edit_message_reply_markup(UID, document.message_id)
    assert "reply_markup" not in tg.message(UID, document.message_id)
    text = await bot.send_message(UID, "plain")
    with pytest.raises(BadRequest, match=r"(?i)there is no caption"):
        await bot.edit_message_caption(UID, text.message_id, caption="x")


async def test_privacy_mode_and_negative_offset(tg: FakeTelegram, bot: Bot) -> None:
    tg.privacy_mode = True
    bob = tg.user(7, "Bob")
    group = tg.group(-100900)
    tg.send_text(bob, "just chatting", chat=group)
    tg.send_text(bob, "/video@kling_test_bot a fox", chat=group)
    tg.send_text(bob, "hey @kling_test_bot", chat=group)
    tg.send_text(bob, "private words")
    texts = [u.message.text for u in await bot.get_updates() if u.message]
    assert texts == ["/video@kling_test_bot a fox", "hey @kling_test_bot", "private words"]
    assert tg.messages(-100900)[0]["text"] == "just chatting"
    [last] = await bot.get_updates(offset=-1)
    assert last.message is not None and last.message.text == "private words"
    assert len(tg.pending_updates) == 1

"""Photos become image-to-video jobs: caption, question and reply, reply with /video."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from bot.jobs import JobKind
from tests.e2e.conftest import jpeg, polls_later
from tests.fakes.telegram.calls import text_of


async def test_photo_with_caption_animates_it(telegram, apiframe, public_settings, start_bot):
    settings = public_settings()
    bot = await start_bot(settings)
    alice = telegram.user(1001)
    photo = jpeg(800, 600, "teal")
    request = telegram.send_photo(alice, photo, caption="she turns and smiles")

    task = await apiframe.wait_for_task()
    assert task.request["generation_type"] == "image2video"
    assert task.request["prompt"] == "she turns and smiles"
    image_url = task.request["image_url"]
    assert image_url.startswith(f"{settings.public_url}/media/")
    token = urlsplit(image_url).path.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 random bits, base64url
    assert task.fetched_image == photo  # the provider downloaded the photo from our link
    assert task.fetched_image_type == "image/jpeg"

    await apiframe.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    job = await bot.job(1)
    assert job.kind is JobKind.IMAGE


async def test_media_link_expires(telegram, apiframe, public_settings, start_bot):
    """The link lasts `MEDIA_LINK_TTL` from when it was made, and not a moment past it. No
    wall clock: the link's expiry is read from the store and moved to the edge of "now"."""
    bot = await start_bot(public_settings(media_link_ttl=600))
    made_after = time.time()
    telegram.send_photo(telegram.user(1001), jpeg(), caption="zoom in")
    task = await apiframe.wait_for_task()
    made_before = time.time()
    assert task.fetched_image is not None
    token = task.request["image_url"].rsplit("/", 1)[1]
    db = bot.parts.store._db
    expires = await db.fetchval("SELECT expires_at FROM media_links WHERE token = ?", token)
    assert made_after + 600 <= expires <= made_before + 600
    async with httpx.AsyncClient() as client:
        await db.execute("UPDATE media_links SET expires_at = ?", time.time() + 60)
        assert (await client.get(task.request["image_url"])).status_code == 200  # a minute left
        await db.execute("UPDATE media_links SET expires_at = ?", time.time())
        response = await client.get(task.request["image_url"])
        assert response.status_code == 404  # expired just now
        unknown = task.request["image_url"].rsplit("/", 1)[0] + "/not-a-token"
        assert (await client.get(unknown)).status_code == 404


async def test_photo_without_caption_asks_and_reply_starts_job(
    telegram, apiframe, public_settings, start_bot
):
    await start_bot(public_settings())
    alice = telegram.user(1001)
    photo = jpeg(700, 700, "purple")
    telegram.send_photo(alice, photo)
    question = await telegram.wait_for("sendMessage")
    assert "What should happen" in question.params["text"]
    assert question.params["reply_markup"]["force_reply"] is True
    assert apiframe.tasks == {}

    answer = telegram.send_text(
        alice, "the cat jumps", reply_to=question.response["result"]["message_id"]
    )
    task = await apiframe.wait_for_task()
    assert task.request["prompt"] == "the cat jumps"
    assert task.fetched_image == photo
    await apiframe.finish(task.task_id)
    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == answer["message_id"]


async def test_text_reply_to_a_photo_starts_job(telegram, apiframe, public_settings, start_bot):
    await start_bot(public_settings())
    alice = telegram.user(1001)
    photo = jpeg(640, 480, "red")
    sent = telegram.send_photo(alice, photo)
    await telegram.wait_for("sendMessage")  # the question; the user replies to the photo instead
    telegram.send_text(alice, "fireworks above it", reply_to=sent["message_id"])
    task = await apiframe.wait_for_task()
    assert task.request["prompt"] == "fireworks above it"
    assert task.fetched_image == photo


async def test_video_command_replying_to_a_photo_animates_it(
    telegram, apiframe, public_settings, start_bot
):
    await start_bot(public_settings())
    alice, bob = telegram.user(1001), telegram.user(1002, "Bob")
    photo = jpeg(900, 600, "green")
    sent = telegram.send_photo(bob, photo, caption="look at this", chat=telegram.group(-100500))
    telegram.send_text(
        alice, "/video camera pulls back", chat=telegram.group(-100500), reply_to=sent["message_id"]
    )
    task = await apiframe.wait_for_task()
    assert task.request["prompt"] == "camera pulls back"
    assert task.fetched_image == photo


async def test_photos_refused_without_public_url(telegram, apiframe, apiframe_settings, start_bot):
    bot = await start_bot(apiframe_settings())
    telegram.send_photo(telegram.user(1001), jpeg(), caption="animate me")
    answer = await telegram.wait_for("sendMessage")
    assert "public web address" in answer.params["text"]
    assert apiframe.tasks == {}
    assert await bot.job(1) is None


async def test_sandbox_animates_photos_without_public_url(telegram, make_settings, start_bot):
    bot = await start_bot(make_settings())
    telegram.send_photo(telegram.user(1001), jpeg(), caption="wave")
    await telegram.wait_for("sendVideo")
    assert (await bot.job(1)).kind is JobKind.IMAGE


async def test_only_the_photos_sender_answers_its_question_in_a_group(
    telegram, make_settings, start_bot
):
    bot = await start_bot(make_settings())
    group = telegram.group(-100300, "Pets")
    alice, bob = telegram.user(1001, "Alice"), telegram.user(1002, "Bob")
    telegram.send_photo(alice, jpeg(), caption="/video@kling_test_bot", chat=group)
    question = await telegram.wait_for("sendMessage")
    assert "What should happen" in question.params["text"]
    asked = question.response["result"]["message_id"]
    telegram.send_text(bob, "bob's idea", chat=group, reply_to=asked)
    telegram.send_text(alice, "the cat jumps", chat=group, reply_to=asked)
    await telegram.wait_for("sendMessage", lambda c: str(c.params["text"]).startswith("🎬"))
    job = await bot.job(1)
    assert job.prompt == "the cat jumps" and job.requester.user_id == alice["id"]
    assert job.kind is JobKind.IMAGE
    await telegram.wait_for("sendVideo")
    assert await bot.job(2) is None  # Bob's reply made nothing
    assert not any("bob" in str(c.params["text"]) for c in telegram.calls_to("sendMessage"))


async def test_expired_media_links_and_unanswered_questions_are_purged(
    telegram, apiframe, public_settings, start_bot
):
    """The poll loop deletes expired `/media/` rows and questions past their lifetime (both
    made immediate here): the link answers 404, its row is gone, the question is forgotten."""
    settings = public_settings(callback_poll_interval=0.05)
    bot = await start_bot(settings, purge_interval=0.0, question_lifetime=0.0)
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video waves")  # a job in progress keeps the poll loop busy
    await apiframe.wait_for_task()
    await bot.parts.store.add_media_link("expired-link", 1, "file-1", time.time() - 1)
    telegram.send_photo(alice, jpeg())
    question = await telegram.wait_for("sendMessage", lambda c: "What should" in text_of(c))

    await polls_later(apiframe, 3)  # a whole poll cycle began and ended after both were made
    assert await bot.parts.store.media_file_id("expired-link", now=0.0) is None
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{settings.public_url}/media/expired-link")).status_code == 404
    telegram.send_text(alice, "too late", reply_to=question.response["result"]["message_id"])
    hint = await telegram.wait_for("sendMessage", lambda c: "Send /video" in text_of(c))
    assert hint.params["chat_id"] == alice["id"]
    assert len(apiframe.tasks) == 1 and await bot.job(2) is None

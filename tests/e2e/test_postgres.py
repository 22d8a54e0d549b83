"""The whole bot on PostgreSQL (`DATABASE_URL=postgresql://...`), restart included."""

from __future__ import annotations

from bot.jobs import JobState
from bot.store import PostgresStore
from tests.e2e.conftest import DATABASE_PASSWORD, ask_for_video
from tests.stores import postgres_schema


async def test_video_job_on_postgres_survives_a_restart(
    telegram, apiframe, apiframe_settings, start_bot
):
    async with postgres_schema() as (url, schema):
        separator = "&" if "?" in url else "?"
        settings = apiframe_settings(database_url=f"{url}{separator}search_path={schema}")
        first = await start_bot(settings)
        assert isinstance(first.parts.store, PostgresStore)
        task = await ask_for_video(telegram, apiframe, "/video stored in postgres")
        await telegram.wait_for("sendMessage")
        await first.stop()
        await apiframe.finish(task.task_id)
        second = await start_bot(settings)
        await telegram.wait_for("sendVideo")
        await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
        assert (await second.job(1)).state is JobState.DELIVERED
        await second.stop()


async def test_database_password_apart_from_the_url(telegram, make_settings, start_bot):
    """DATABASE_PASSWORD keeps a password with "/", "@", "#" or "+" out of DATABASE_URL, where
    unescaped it would point the bot at another host; it is masked like every secret. (The
    test server trusts local users, so it accepts any password: what is checked here is that
    the URL stays whole and the bot runs on it.)"""
    password = DATABASE_PASSWORD
    async with postgres_schema() as (url, schema):
        separator = "&" if "?" in url else "?"
        settings = make_settings(
            database_url=f"{url}{separator}search_path={schema}", database_password=password
        )
        assert password in settings.secrets()
        bot = await start_bot(settings)
        assert isinstance(bot.parts.store, PostgresStore)
        telegram.send_text(telegram.user(1001), "/video a password apart")
        await telegram.wait_for("sendVideo")
        await bot.stop()

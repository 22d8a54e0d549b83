"""The whole bot on PostgreSQL (`DATABASE_URL=postgresql://...`), restart included."""

from __future__ import annotations

from bot.jobs import JobState
from bot.store import PostgresStore
from tests.stores import postgres_schema


async def test_video_job_on_postgres_survives_a_restart(
    telegram, apiframe, apiframe_settings, start_bot
):
    async with postgres_schema() as (url, schema):
        separator = "&" if "?" in url else "?"
        settings = apiframe_settings(database_url=f"{url}{separator}search_path={schema}")
        first = await start_bot(settings)
        assert isinstance(first.parts.store, PostgresStore)
        telegram.send_text(telegram.user(1001), "/video stored in postgres")
        task = await apiframe.wait_for_task()
        await telegram.wait_for("sendMessage")
        await first.stop()
        await apiframe.finish(task.task_id)
        second = await start_bot(settings)
        await telegram.wait_for("sendVideo")
        await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
        assert (await second.job(1)).state is JobState.DELIVERED
        await second.stop()

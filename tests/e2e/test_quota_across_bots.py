"""Per-user limits held by the database, not by a process: two bots (two replicas, two whole
Applications) on one PostgreSQL schema, and a bot restarted on it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from bot.jobs import JobState
from tests.e2e.conftest import WEBHOOK_SECRET, ask_for_video
from tests.fakes.telegram.calls import text_of
from tests.stores import postgres_schema


def on_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


def webhook_of(bot: Any) -> str:
    return f"{bot.settings.public_url}{bot.settings.telegram_webhook_path}"


def meet_before_creating(store: Any, barrier: asyncio.Barrier) -> None:
    """Hold each job creation of this bot at `barrier` until the other bot's reached it too:
    both requests have passed every check made before the creating statement."""
    for name in ("create_job", "create_job_within"):
        create = getattr(store, name)

        async def held(*args: Any, create: Any = create) -> Any:
            await barrier.wait()
            return await create(*args)

        setattr(store, name, held)


async def test_two_bots_on_one_database_never_pass_a_users_limit(
    telegram, apiframe, public_settings, start_bot
):
    """One user one job under the limit; a request pushed to each bot at the same moment.
    Both see one open job, both go on to create theirs, and the database lets exactly one
    through: the other bot refuses with the limit."""
    async with postgres_schema() as (url, schema):
        database = on_schema(url, schema)
        limits = {"max_active_jobs_per_user": 2, "callback_poll_interval": 3600}
        first = await start_bot(public_settings(database_url=database, replica_id="a", **limits))
        second = await start_bot(public_settings(database_url=database, replica_id="b", **limits))
        await ask_for_video(telegram, apiframe, "/video the one in progress")
        await telegram.wait_for("sendMessage", lambda c: "Video #1" in text_of(c))

        # Telegram stops pushing (as if the updates went to a load balancer instead): the
        # next two messages are pushed by the test, one to each bot, at the same time.
        async with httpx.AsyncClient() as client:
            await client.post(f"{telegram.url}/bot{telegram.token}/deleteWebhook")
        # Alice asks in her private chat and in a group: the limit is hers wherever she asks,
        # and each bot answers in its own chat (replicas pace their messages separately).
        alice, group = telegram.user(1001), telegram.group(-100400)
        telegram.send_text(alice, "/video to the first bot")
        telegram.send_text(alice, "/video@kling_test_bot to the second bot", chat=group)
        updates = telegram.pending_updates[-2:]
        barrier = asyncio.Barrier(2)
        for bot in (first, second):
            meet_before_creating(bot.parts.store, barrier)
        statuses = await asyncio.gather(
            *(
                telegram.push_raw(update, secret=WEBHOOK_SECRET, url=webhook_of(bot))
                for update, bot in zip(updates, (first, second), strict=True)
            )
        )
        assert statuses == [200, 200]
        await telegram.wait_for("sendMessage", lambda c: "the limit is 2" in text_of(c))
        await telegram.wait_for("sendMessage", lambda c: "Video #2" in text_of(c))
        assert barrier.n_waiting == 0
        assert await first.parts.store.count_open_jobs(1001) == 2
        made = [await first.job(n) for n in (1, 2, 3)]
        assert [job is not None for job in made] == [True, True, False]


async def test_the_daily_limit_holds_across_a_restart(telegram, make_settings, start_bot):
    """Two videos today, a restart, a third request: refused, with when to come back."""
    async with postgres_schema() as (url, schema):
        settings = make_settings(database_url=on_schema(url, schema), daily_jobs_per_user=2)
        before = await start_bot(settings)
        alice = telegram.user(1001)
        for prompt in ("a fox", "a cat"):
            telegram.send_text(alice, f"/video {prompt}")
            await telegram.wait_for("sendVideo", lambda c, p=prompt: c.params["caption"] == p)
        await before.stop()

        after = await start_bot(settings)
        telegram.send_text(alice, "/video a third today")
        refusal = await telegram.wait_for("sendMessage", lambda c: "daily limit" in text_of(c))
        assert re.search(r"the daily limit\. Try again in 2[34] h \d+ min\.$", text_of(refusal))
        assert await after.job(3) is None
        assert (await after.job(2)).state is JobState.DELIVERED

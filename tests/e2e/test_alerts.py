"""Alerts to `ADMIN_USER_IDS` through the whole bot: one message when a condition arises,
one when it clears, and nothing for anyone else."""

from __future__ import annotations

from typing import Any

from bot.jobs import JobState
from tests.e2e.conftest import wait_settled
from tests.fakes.telegram import FakeTelegram

ADMIN = 9001
ALICE = 1001


def to(chat_id: int, *words: str) -> Any:
    """A predicate for calls to `chat_id` whose text holds all of `words`."""
    return lambda c: (
        c.params.get("chat_id") == chat_id and all(w in c.params.get("text", "") for w in words)
    )


def alerts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """The alert texts sent to `chat_id` (alerts start with a warning or a check mark)."""
    return [
        c.params["text"]
        for c in telegram.calls_to("sendMessage")
        if c.params.get("chat_id") == chat_id and c.params["text"].startswith(("⚠️", "✅"))
    ]


async def test_a_provider_failing_every_submit_raises_one_alert_then_recovers(
    telegram, apiframe, apiframe_settings, start_bot
):
    telegram.user(ADMIN, "Admin")
    alice = telegram.user(ALICE)
    settings = apiframe_settings(admin_user_ids=frozenset({ADMIN}), submit_attempts=1)
    bot = await start_bot(settings, alert_submit_outage=0.0)
    apiframe.fail_next("/kling-imagine", status=503, times=3)
    for n in range(3):
        telegram.send_text(alice, f"/video attempt {n}")
    await telegram.wait_for_count("sendMessage", 3, to(ALICE, "failed"))
    alert = await telegram.wait_for("sendMessage", to(ADMIN, "apiframe", "failed every submit"))
    assert "kling-bot check" in alert.params["text"]

    telegram.send_text(alice, "/video it works again")
    task = await apiframe.wait_for_task()
    await telegram.wait_for("sendMessage", to(ADMIN, "apiframe", "accepts videos again"))
    await apiframe.finish(task.task_id)
    await wait_settled(telegram, 1)  # "Done", or deleted if the chat was still busy
    assert (await bot.job(4)).state is JobState.DELIVERED
    assert len(alerts_to(telegram, ADMIN)) == 2  # one alert for three failed jobs, one recovery
    assert alerts_to(telegram, ALICE) == []


async def test_a_low_balance_raises_once_and_clears_when_topped_up(
    telegram, apiframe, apiframe_settings, start_bot
):
    telegram.user(ADMIN, "Admin")
    telegram.user(ALICE)
    apiframe.account["credits"] = 40
    settings = apiframe_settings(admin_user_ids=frozenset({ADMIN}), low_balance_alert=100)
    await start_bot(settings, alert_balance_interval=0.02)
    low = await telegram.wait_for("sendMessage", to(ADMIN, "apiframe balance is low", "40"))
    assert "LOW_BALANCE_ALERT" in low.params["text"]
    checks = len(apiframe.requests)
    await apiframe.wait_for(
        "/account", lambda _: sum(r.path == "/account" for r in apiframe.requests[checks:]) >= 3
    )
    assert len(alerts_to(telegram, ADMIN)) == 1  # checked again, still low: told once

    apiframe.account["credits"] = 1000
    await telegram.wait_for("sendMessage", to(ADMIN, "apiframe balance is back", "1000"))
    assert len(alerts_to(telegram, ADMIN)) == 2
    assert alerts_to(telegram, ALICE) == []


async def test_no_balance_alerts_without_a_threshold(
    telegram, apiframe, apiframe_settings, start_bot
):
    telegram.user(ADMIN, "Admin")
    apiframe.account["credits"] = 0
    await start_bot(
        apiframe_settings(admin_user_ids=frozenset({ADMIN})), alert_balance_interval=0.02
    )
    telegram.send_text(telegram.user(ALICE), "/video a quiet day")
    await apiframe.finish((await apiframe.wait_for_task()).task_id)
    await telegram.wait_for("sendVideo")
    assert [r for r in apiframe.requests if r.path == "/account"] == []
    assert alerts_to(telegram, ADMIN) == []


async def test_repeated_delivery_failures_raise_once(
    telegram, apiframe, apiframe_settings, start_bot
):
    telegram.user(ADMIN, "Admin")
    alice = telegram.user(ALICE)
    await start_bot(apiframe_settings(admin_user_ids=frozenset({ADMIN})))
    tasks = []
    for n in range(6):
        telegram.send_text(alice, f"/video clip {n}")
        tasks.append(await apiframe.wait_for_task())
    telegram.fail_next("sendVideo", error_code=500, description="Internal Server Error", times=6)
    for task in tasks:
        await apiframe.finish(task.task_id)
    await telegram.wait_for_count("sendVideo", 6)  # six failed attempts; retries are 5 s away
    alert = await telegram.wait_for("sendMessage", to(ADMIN, "attempts to send a video"))
    assert "failed" in alert.params["text"]
    # The retries go through: one "delivered again", and still one alert for six failures.
    await telegram.wait_for("sendMessage", to(ADMIN, "delivered again"), timeout=20)
    assert len(alerts_to(telegram, ADMIN)) == 2
    assert alerts_to(telegram, ALICE) == []

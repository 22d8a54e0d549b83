"""With Telegram's real message limits enforced by the fake, a job's messages never get a 429."""

from __future__ import annotations

import pytest

from bot.jobs import JobState


@pytest.mark.telegram_limits
async def test_a_whole_job_in_one_chat_stays_under_telegrams_limits(
    telegram, make_settings, start_bot
):
    telegram.enforce_rate_limits = True  # 1 message a second per chat (+1 burst), as Telegram
    bot = await start_bot(make_settings())
    alice = telegram.user(1001)
    telegram.send_text(alice, "/video a corgi surfing at sunset")
    telegram.send_text(alice, "/jobs")

    await telegram.wait_for("sendVideo")
    await telegram.wait_for("editMessageText", lambda c: "Done" in str(c.params["text"]))
    assert (await bot.job(1)).state is JobState.DELIVERED
    paced = [c for c in telegram.calls if c.method.startswith(("send", "edit"))]
    assert len(paced) >= 4
    assert telegram.rate_limited_responses == 0

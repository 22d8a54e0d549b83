"""The status message's outlook through the real Application: how long this provider and
model usually take (after enough delivered videos), and the place in line of a user's videos."""

from __future__ import annotations

from tests.fakes.telegram.calls import text_of


def statuses(telegram) -> list[str]:
    return [text_of(c) for c in telegram.calls_to("sendMessage") if text_of(c).startswith("🎬")]


async def test_after_three_videos_the_status_says_how_long_it_usually_takes(
    telegram, make_settings, start_bot
):
    await start_bot(make_settings(sandbox_delay=0.05))
    user = telegram.user(1001)
    for count in (1, 2, 3):
        telegram.send_text(user, f"/video fox {count}")
        await telegram.wait_for_count("sendVideo", count)
        await telegram.wait_for_count("editMessageText", count, lambda c: "✅" in text_of(c))
    assert not any("⌛" in text for text in statuses(telegram))  # too few to say before
    telegram.send_text(user, "/video fox 4")
    await telegram.wait_for_count("sendMessage", 4, lambda c: text_of(c).startswith("🎬"))
    assert "⌛ usually ready in under a minute" in statuses(telegram)[-1]


async def test_a_users_second_waiting_video_shows_its_place_in_line(
    telegram, make_settings, start_bot
):
    await start_bot(make_settings(sandbox_delay=600))
    user = telegram.user(1001)
    telegram.send_text(user, "/video first")
    await telegram.wait_for_count("sendMessage", 1, lambda c: text_of(c).startswith("🎬"))
    assert "🔢" not in statuses(telegram)[0]  # alone, no line to stand in
    telegram.send_text(user, "/video second")
    await telegram.wait_for_count("sendMessage", 2, lambda c: text_of(c).startswith("🎬"))
    assert "🔢 2 of your 2 videos in progress" in statuses(telegram)[1]

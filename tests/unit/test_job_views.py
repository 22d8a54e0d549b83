"""The `/jobs` and `/cancel` screens, built from a real SQLite store's queries."""

from __future__ import annotations

from dataclasses import replace

from bot.jobs import JobKind, JobState, NewJob, Requester
from bot.lifecycle import Cancelled
from bot.store import SqliteStore
from handlers.job_views import JobViews, cancel_answer, cancel_choice_screen
from tests.unit.test_submission import job

GROUP = -100


async def views_with_jobs(tmp_path, chats: list[int]) -> tuple[JobViews, SqliteStore]:
    """User 1's jobs, one per entry of `chats` (the chat it was made in), ids from 1."""
    store = await SqliteStore.open(tmp_path / "bot.db")
    for n, chat_id in enumerate(chats):
        await store.create_job(
            NewJob(Requester(1, chat_id, n + 1), JobKind.TEXT, f"prompt {n + 1}", "sandbox")
        )
    return JobViews(store), store


def buttons(screen) -> list[str]:
    rows = screen.markup.inline_keyboard if screen.markup else ()
    return [button.callback_data for row in rows for button in row]


async def test_pages_show_the_newest_first_five_at_a_time(tmp_path):
    views, store = await views_with_jobs(tmp_path, [1] * 7)
    first = await views.jobs_page(1)
    assert "Page 1 of 2" in first.text
    assert buttons(first) == [f"job:1:{n}:1" for n in (7, 6, 5, 4, 3)] + ["jobs:1:2"]
    last = await views.jobs_page(1, page=9)  # past the end: the last page
    assert "Page 2 of 2" in last.text
    assert buttons(last) == ["job:1:2:2", "job:1:1:2", "jobs:1:1"]
    await store.close()


async def test_a_group_lists_only_the_videos_made_there(tmp_path):
    views, store = await views_with_jobs(tmp_path, [1, GROUP, 1])
    screen = await views.jobs_page(1, chat_id=GROUP)
    assert buttons(screen) == ["job:1:2:1"]
    assert (await views.jobs_page(2)).text.startswith("You have no videos yet")
    assert [j.id for j in await views.open_jobs(1, chat_id=GROUP)] == [2]
    assert [j.id for j in await views.open_jobs(1)] == [3, 2, 1]
    await store.close()


async def test_details_only_for_the_owner_and_in_the_chat_it_was_made(tmp_path):
    views, store = await views_with_jobs(tmp_path, [1, GROUP])
    details = await views.job_view(1, 1, 3, "en")
    assert details is not None and "Video #1" in details.text
    assert buttons(details) == ["cancel:1", "jobs:1:3"]
    assert await views.job_view(2, 1, 1, "en") is None  # someone else's
    assert await views.job_view(1, 1, 1, "en", chat_id=GROUP) is None  # made elsewhere
    assert await views.job_view(1, 99, 1, "en") is None
    await store.close()


def test_cancel_choice_offers_a_button_per_job_or_says_there_is_none():
    none = cancel_choice_screen([], "en")
    assert none.text == "You have no video in progress." and none.markup is None
    jobs = [replace(job(), id=4), replace(job(), id=3)]
    several = cancel_choice_screen(jobs, "en")
    assert "Which one" in several.text and buttons(several) == ["cancel:4", "cancel:3"]


def test_cancel_answers_say_what_happened():
    cancelled = replace(job(), state=JobState.CANCELLED)
    assert cancel_answer(7, None, "en") == "Video #7 is not one of your videos in progress."
    assert cancel_answer(7, Cancelled(cancelled), "en").startswith("🚫 Video #7 cancelled.")
    still = cancel_answer(7, Cancelled(cancelled, may_finish_within=600), "en")
    assert "may still be making it" in still and "10 min" in still

"""The screens of `/jobs` and `/cancel`: pages of the user's videos, one video in detail, the
choice of which job to cancel and the answer to a cancel. Built from the store's plain queries
and the lifecycle's outcome; nothing here changes a job."""

from __future__ import annotations

import math

from bot import texts
from bot.access import duration
from bot.i18n import messages
from bot.jobs import Job
from bot.keyboards import Screen, cancel_choice, job_keyboard, jobs_keyboard
from bot.lifecycle import Cancelled
from bot.sharing import video_link
from bot.store import JobStore

JOBS_PER_PAGE = 5
JOBS_LISTED = 50  # /jobs pages through this many of the newest jobs


class JobViews:
    def __init__(self, store: JobStore) -> None:
        self._store = store

    async def jobs_page(
        self, user_id: int, page: int = 1, *, chat_id: int | None = None, lang: str = "en"
    ) -> Screen:
        """A page of the user's recent videos (in a group, only those made there)."""
        jobs = _made_in(await self._store.recent_jobs(user_id, limit=JOBS_LISTED), chat_id)
        if not jobs:
            return Screen(messages(lang).no_jobs)
        pages = math.ceil(len(jobs) / JOBS_PER_PAGE)
        page = min(max(page, 1), pages)
        shown = jobs[(page - 1) * JOBS_PER_PAGE : page * JOBS_PER_PAGE]
        return Screen(
            texts.job_list(shown, lang=lang, page=page, pages=pages),
            jobs_keyboard(user_id, shown, page, pages, lang),
        )

    async def job_view(
        self,
        user_id: int,
        job_id: int,
        page: int,
        lang: str,
        *,
        chat_id: int | None = None,
        bot_username: str | None = None,
    ) -> Screen | None:
        """One of the user's videos in detail; None if it is not theirs (or, with `chat_id`,
        was not made in that chat: a group sees only its own videos). A delivered video shows
        its `?start=v<number>` link (with `bot_username`)."""
        job = await self._store.get_job(job_id)
        if job is None or job.requester.user_id != user_id:
            return None
        if chat_id is not None and job.requester.chat_id != chat_id:
            return None
        link = None
        if bot_username and job.delivered_file is not None:
            link = video_link(bot_username, job.id)
        return Screen(
            texts.job_details(job, lang=lang, link=link), job_keyboard(job, user_id, page, lang)
        )

    async def open_jobs(self, user_id: int, *, chat_id: int | None = None) -> list[Job]:
        """The user's jobs that can still be cancelled, newest first (in a group, only those
        made there: the cancel buttons show their prompts)."""
        return _made_in(await self._store.open_jobs(user_id), chat_id)


def cancel_choice_screen(open_jobs: list[Job], lang: str) -> Screen:
    """`/cancel` with several jobs in progress: a button per job; with none, says so."""
    if not open_jobs:
        return Screen(messages(lang).nothing_to_cancel)
    return Screen(messages(lang).cancel_which, cancel_choice(open_jobs, lang))


def cancel_answer(job_id: int, outcome: Cancelled | None, lang: str) -> str:
    """What a cancel did, for the user: cancelled, cancelled but the provider may still make
    it (for how long at most), or not cancelled."""
    if outcome is None:
        return texts.cannot_cancel(job_id, lang)
    money = texts.price_line(outcome.job)  # "your N credits are back"
    if outcome.may_finish_within is not None:
        wait = duration(outcome.may_finish_within, lang)
        answer = texts.cancelled_stopping(outcome.job.id, wait, lang)
    else:
        answer = texts.cancelled(outcome.job.id, lang)
    return f"{answer}\n{money}" if money else answer


def _made_in(jobs: list[Job], chat_id: int | None) -> list[Job]:
    if chat_id is None:
        return jobs
    return [job for job in jobs if job.requester.chat_id == chat_id]

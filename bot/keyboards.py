"""Inline keyboards under the bot's messages, and the callback data their buttons carry.

Callback data is `verb:arg:arg`, ASCII and far below Telegram's 64-byte limit: job and user ids
are at most 20 characters each, model names under 20.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import messages
from bot.jobs import Job, JobState

STOP = "stop"  # stop:<job>  the status message's Cancel: the status edit is the answer
CANCEL = "cancel"  # cancel:<job>  a Cancel in a list: the pressed message shows the answer
AGAIN = "again"  # again:<job>
SETTINGS = "settings"  # settings  opens the settings of the chat
JOBS = "jobs"  # jobs:<user>:<page>
JOB = "job"  # job:<user>:<job>:<page>

CALLBACK_LIMIT = 64  # bytes


@dataclass(frozen=True)
class Screen:
    """A message to send or to edit in place: its text and its buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def data(*parts: object) -> str:
    text = ":".join(str(part) for part in parts)
    assert len(text.encode()) <= CALLBACK_LIMIT, text
    return text


def status_keyboard(job: Job) -> InlineKeyboardMarkup | None:
    """Cancel, while the job can still be cancelled."""
    if job.state not in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
        return None
    m = messages(_lang(job))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(m.button_cancel, callback_data=data(STOP, job.id))]]
    )


def result_keyboard(job: Job) -> InlineKeyboardMarkup:
    """Again (the same request as a new job) and Settings, under a delivered video."""
    m = messages(_lang(job))
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(m.button_again, callback_data=data(AGAIN, job.id)),
                InlineKeyboardButton(m.button_settings, callback_data=SETTINGS),
            ]
        ]
    )


def cancel_choice(jobs: Sequence[Job], lang: str) -> InlineKeyboardMarkup:
    """One Cancel button per job in progress."""
    m = messages(lang)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{m.button_cancel} #{job.id} · {_short(job.prompt)}",
                    callback_data=data(CANCEL, job.id),
                )
            ]
            for job in jobs
        ]
    )


def jobs_keyboard(
    user_id: int, jobs: Sequence[Job], page: int, pages: int, lang: str
) -> InlineKeyboardMarkup | None:
    """A details button per job, then Newer and Older."""
    m = messages(lang)
    rows = [
        [
            InlineKeyboardButton(
                f"#{job.id} · {_short(job.prompt)}", callback_data=data(JOB, user_id, job.id, page)
            )
        ]
        for job in jobs
    ]
    paging = []
    if page > 1:
        paging.append(
            InlineKeyboardButton(m.button_newer, callback_data=data(JOBS, user_id, page - 1))
        )
    if page < pages:
        paging.append(
            InlineKeyboardButton(m.button_older, callback_data=data(JOBS, user_id, page + 1))
        )
    if paging:
        rows.append(paging)
    return InlineKeyboardMarkup(rows) if rows else None


def job_keyboard(job: Job, user_id: int, page: int, lang: str) -> InlineKeyboardMarkup:
    """Under a job's details: Cancel or Again, and back to the list."""
    m = messages(lang)
    row = []
    if job.state in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
        row.append(InlineKeyboardButton(m.button_cancel, callback_data=data(CANCEL, job.id)))
    else:
        row.append(InlineKeyboardButton(m.button_again, callback_data=data(AGAIN, job.id)))
    row.append(InlineKeyboardButton(m.button_back, callback_data=data(JOBS, user_id, page)))
    return InlineKeyboardMarkup([row])


def _lang(job: Job) -> str:
    return str(job.params.get("lang") or "en")


def _short(text: str, limit: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Inline keyboards under the bot's messages, and the callback data their buttons carry.

Callback data is `verb:arg:arg`, ASCII and far below Telegram's 64-byte limit: job and user ids
are at most 20 characters each, model names under 20.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, SwitchInlineQueryChosenChat

from bot.i18n import messages
from bot.jobs import Job, JobState

STOP = "stop"  # stop:<job>  the status message's Cancel: the status edit is the answer
CANCEL = "cancel"  # cancel:<job>  a Cancel in a list: the pressed message shows the answer
AGAIN = "again"  # again:<job>
SETTINGS = "settings"  # settings  opens the settings of the chat
JOBS = "jobs"  # jobs:<user>:<page>
JOB = "job"  # job:<user>:<job>:<page>
RESEND = "resend"  # resend:<job>  Send again: the kept file, into the pressed message's chat
BUY = "buy"  # buy  the packs for sale; buy:<credits>:<stars>  an invoice for that pack
EFFECT = "fx"  # fx:<scene>  /effect's list: what to send for that effect
EXTEND = "extend"  # extend:<job>  under a delivered video its provider can make longer

CALLBACK_LIMIT = 64  # bytes

#: How many numbers each job button carries after its verb.
_SHAPES = {STOP: 1, CANCEL: 1, AGAIN: 1, EXTEND: 1, JOBS: 2, JOB: 3, RESEND: 1}
_NUMBER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: int() takes "٣" and refuses "²"
_INT64 = 2**63  # ids and pages the databases can hold


@dataclass(frozen=True)
class Screen:
    """A message to send or to edit in place: its text and its buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def data(*parts: object) -> str:
    text = ":".join(str(part) for part in parts)
    assert len(text.encode()) <= CALLBACK_LIMIT, text
    return text


@dataclass(frozen=True)
class Pressed:
    """A job button's callback data, parsed: its verb and its numbers."""

    verb: str
    numbers: tuple[int, ...]


def parse(data: str | None) -> Pressed | None:
    """The job button `data` names, or None unless it has the exact shape the bot makes.

    Callback data is whatever the client sends: verbs, counts and numbers are all checked.
    """
    verb, *args = (data or "").split(":")
    if _SHAPES.get(verb) != len(args):
        return None
    numbers = tuple(number(arg) for arg in args)
    if None in numbers:
        return None
    return Pressed(verb, tuple(n for n in numbers if n is not None))


def number(text: str) -> int | None:
    """An id or page number written in ASCII digits that fits the database; else None."""
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if -_INT64 <= value < _INT64 else None


def offers(markup: InlineKeyboardMarkup | None, data: str | None) -> bool:
    """Whether `markup` has a button carrying `data`: the only callback data to trust is what
    the bot itself put on the message that was pressed."""
    if markup is None or data is None:
        return False
    return any(button.callback_data == data for row in markup.inline_keyboard for button in row)


def status_keyboard(job: Job) -> InlineKeyboardMarkup | None:
    """Cancel, while the job can still be cancelled."""
    if job.state not in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
        return None
    m = messages(_lang(job))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(m.button_cancel, callback_data=data(STOP, job.id))]]
    )


def result_keyboard(
    job: Job, *, share: bool = False, extendable: bool = False
) -> InlineKeyboardMarkup:
    """Again (the same request as a new job) and Settings under a delivered video; Extend too
    where its provider makes videos longer; and with `share` (inline mode on) a Share button:
    it opens the person's choice of chat with `@bot #<number>` typed, which lists this one
    video to post."""
    m = messages(_lang(job))
    row = [InlineKeyboardButton(m.button_again, callback_data=data(AGAIN, job.id))]
    if extendable:
        row.append(InlineKeyboardButton(m.button_extend, callback_data=data(EXTEND, job.id)))
    row.append(InlineKeyboardButton(m.button_settings, callback_data=SETTINGS))
    rows = [row]
    if share:
        rows.append([share_button(job.id, m.button_share)])
    return InlineKeyboardMarkup(rows)


def reference(job_id: int) -> str:
    """What the Share button types after the bot's name: `#12`, that one video (the inline
    query `bot.sharing` answers with it alone, for its owner)."""
    return f"#{job_id}"


def share_button(job_id: int, text: str) -> InlineKeyboardButton:
    """Opens a chat of the person's choice (people, groups, channels) in inline mode with the
    video's reference typed (`#12`: see `bot.sharing`)."""
    return InlineKeyboardButton(
        text,
        switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
            query=reference(job_id),
            allow_user_chats=True,
            allow_bot_chats=False,
            allow_group_chats=True,
            allow_channel_chats=True,
        ),
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
    """Under a job's details: Cancel while it runs; once over, Send again (a delivered
    video whose file Telegram keeps) and Same prompt again; and back to the list."""
    m = messages(lang)
    rows = []
    if job.state in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
        rows.append([InlineKeyboardButton(m.button_cancel, callback_data=data(CANCEL, job.id))])
    else:
        if job.delivered_file is not None:
            rows.append(
                [InlineKeyboardButton(m.button_send_again, callback_data=data(RESEND, job.id))]
            )
        rows.append([InlineKeyboardButton(m.button_same_prompt, callback_data=data(AGAIN, job.id))])
    rows.append([InlineKeyboardButton(m.button_back, callback_data=data(JOBS, user_id, page))])
    return InlineKeyboardMarkup(rows)


def _lang(job: Job) -> str:
    return str(job.params.get("lang") or "en")


def _short(text: str, limit: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def buy_keyboard(lang: str, link: str | None = None) -> InlineKeyboardMarkup:
    """The "Buy credits" button: the packs in a private chat, or (`link`, in groups, where
    invoices are not sent) a link that opens the private chat on them."""
    text = messages(lang).credits["buy_button"]
    if link is not None:
        return InlineKeyboardMarkup([[InlineKeyboardButton(text, url=link)]])
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=BUY)]])


def packs_keyboard(packs: Sequence[tuple[int, int]], lang: str) -> InlineKeyboardMarkup:
    """One button per pack, (credits, stars): pressing one sends its invoice."""
    template = messages(lang).credits["pack_button"]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    template.format(credits=credits, stars=stars),
                    callback_data=data(BUY, credits, stars),
                )
            ]
            for credits, stars in packs
        ]
    )


def parse_buy(data: str | None) -> tuple[int, int] | None:
    """(credits, stars) of a pack button's data, or None unless it has exactly that shape."""
    verb, *args = (data or "").split(":")
    if verb != BUY or len(args) != 2 or not all(re.fullmatch(r"[0-9]{1,7}", a) for a in args):
        return None
    return int(args[0]), int(args[1])


def effect_keyboard(names: Sequence[str]) -> InlineKeyboardMarkup:
    """/effect's list: one button per effect scene, three to a row."""
    buttons = [InlineKeyboardButton(name, callback_data=data(EFFECT, name)) for name in names]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])

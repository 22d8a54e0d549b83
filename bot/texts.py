"""Every user-facing text, composed from the message catalogue in `bot.i18n`.

Functions take the reader's language (`lang`); texts about a job use the language stored with
it, since they are sent long after the request. Reasons (refusals, failures) are kept as a
catalogue key and fields (`bot.i18n.Reason`) and rendered here, in the reader's language.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bot.i18n import Messages, messages
from bot.jobs import Job, JobState
from bot.options import OptionError
from bot.outlook import Outlook
from bot.params import PARAMS

CAPTION_LIMIT = 1024  # Telegram's caption limit, in characters
TEXT_LIMIT = 4096  # Telegram's message limit
BAR_CELLS = 10


def job_lang(job: Job) -> str:
    """The language of the person who asked for the job."""
    return str(job.params.get("lang") or "en")


# --- requests and refusals -----------------------------------------------------------------------


def commands(lang: str) -> dict[str, str]:
    return dict(messages(lang).commands)


def bad_option(error: OptionError, lang: str) -> str:
    """The answer to a wrong option: the option, the value and what would do."""
    m = messages(lang)
    if error.unknown:
        return m.unknown_option.format(option=error.option, known=", ".join(error.allowed))
    allowed = getattr(m, error.wording) if error.wording else ", ".join(error.allowed)
    if error.value is None or error.value == "":
        return m.missing_option_value.format(option=error.option, allowed=allowed)
    return m.bad_option_value.format(option=error.option, value=error.value, allowed=allowed)


def unsupported_media(kind: str, lang: str) -> str:
    m = messages(lang)
    return m.unsupported_media.format(kind=m.media_kinds.get(kind, m.media_kinds["document"]))


def end_frame_refusal(provider: str, others: tuple[str, ...], lang: str) -> str:
    m = messages(lang)
    if not others:
        return m.end_frame_nowhere
    return m.end_frame_elsewhere.format(provider=provider, others=", ".join(others))


# --- the status message --------------------------------------------------------------------------


def status(
    job: Job, note: str | None = None, *, now: float | None = None, outlook: Outlook | None = None
) -> str:
    """The status message under the request: state, progress, time taken, the outlook (how
    long it usually takes, its place among the user's videos) and settings."""
    m = messages(job_lang(job))
    line = m.states[job.state.value]
    lines = [m.status_header.format(job_id=job.id, provider=job.provider)]
    if job.state is JobState.RUNNING and job.progress is not None:
        lines += [f"{line}: {job.progress}%", progress_bar(job.progress)]
    else:
        lines.append(line)
    end = (time.time() if now is None else now) if job.is_generating else job.updated_at
    lines.append(m.elapsed.format(time=clock(end - job.created_at)))
    if outlook is not None and job.is_generating:
        lines += _outlook_lines(outlook, end - job.created_at, m)
    settings = settings_line(job.params, m, full=True)
    if settings:
        lines.append(settings)
    money = price_line(job)
    if money:
        lines.append(money)
    if note:
        lines.append(f"({note})")
    return "\n".join(lines)


def price_line(job: Job, lang: str | None = None) -> str:
    """What the video costs the requester: reserved while it is made, charged once it
    arrived, back when it failed or was cancelled; "" for a free video. In `lang`, or the
    requester's language."""
    if job.price <= 0:
        return ""
    m = messages(lang or job_lang(job)).credits
    if job.state is JobState.DELIVERED:
        return m["charged_line"].format(price=job.price)
    if job.state in (JobState.FAILED, JobState.CANCELLED):
        return m["released_line"].format(price=job.price)
    return m["price_line"].format(price=job.price)


def _outlook_lines(outlook: Outlook, elapsed: float, m: Messages) -> list[str]:
    lines = []
    if outlook.usual is not None:
        left = outlook.usual - elapsed
        if left >= 60:
            lines.append(m.usually_ready.format(time=m.minutes_about.format(n=round(left / 60))))
        elif left > 0:
            lines.append(m.usually_ready.format(time=m.under_a_minute))
        else:
            usual = max(1, round(outlook.usual / 60))
            lines.append(m.longer_than_usual.format(time=m.minutes_about.format(n=usual)))
    if outlook.place is not None and outlook.waiting is not None:
        lines.append(m.place_in_line.format(place=outlook.place, waiting=outlook.waiting))
    return lines


def progress_bar(percent: int) -> str:
    filled = max(0, min(BAR_CELLS, round(percent * BAR_CELLS / 100)))
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def settings_line(params: Mapping[str, Any], m: Messages, *, full: bool) -> str:
    """The key settings of a job: model · 10 s · 9:16 (with mode, cfg and the rest if `full`)."""
    shown = ("caption", "status") if full else ("caption",)
    parts = [
        param.in_line(value, m)
        for param in PARAMS
        if param.shown in shown
        and (value := params.get(param.name)) is not None
        and value is not False
        and value != ""
    ]
    return " · ".join(parts)


def moved(from_provider: str, to_provider: str, lang: str = "en") -> str:
    return messages(lang).moved.format(from_provider=from_provider, to_provider=to_provider)


def confirming(provider: str, lang: str = "en") -> str:
    """The status note while the bot finds out whether a provider took an unanswered job."""
    return messages(lang).confirming.format(provider=provider)


def failed(job: Job) -> str:
    m = messages(job_lang(job))
    text = m.failed.format(job_id=job.id, reason=failure_reason(job, m))
    money = price_line(job)
    return f"{text}\n{money}" if money else text


def failure_reason(job: Job, m: Messages) -> str:
    """Why the job failed, in the language of `m` (a job failed by an older version of the
    bot kept only the English words)."""
    if job.reason is not None:
        return job.reason.text(m)
    return job.error or m.no_reason


def too_large(job: Job, url: str) -> str:
    return messages(job_lang(job)).too_large_for_telegram.format(job_id=job.id, url=url)


# --- cancelling and listing ----------------------------------------------------------------------


def cancelled(job_id: int, lang: str = "en") -> str:
    return messages(lang).cancelled.format(job_id=job_id)


def cancelled_stopping(job_id: int, wait: str, lang: str = "en") -> str:
    """A cancel the provider cannot hear: the job counts as active until it stops."""
    return messages(lang).cancelled_stopping.format(job_id=job_id, wait=wait)


def cannot_cancel(job_id: int, lang: str = "en") -> str:
    return messages(lang).cannot_cancel.format(job_id=job_id)


def job_list(
    jobs: list[Job],
    now: float | None = None,
    lang: str = "en",
    *,
    page: int = 1,
    pages: int = 1,
) -> str:
    m = messages(lang)
    now = time.time() if now is None else now
    lines = [m.jobs_header]
    for job in jobs:
        state = m.state_words[job.state.value]
        lines.append(
            f"#{job.id} · {state} · {age(now - job.created_at, lang)} · {cut(job.prompt, 40)}"
        )
    if pages > 1:
        lines += ["", m.jobs_page.format(page=page, pages=pages)]
    return "\n".join(lines)


def job_details(
    job: Job, now: float | None = None, lang: str = "en", *, link: str | None = None
) -> str:
    """A job in detail; `link`: where its owner can have the video sent again."""
    m = messages(lang)
    now = time.time() if now is None else now
    settings = settings_line(job.params, m, full=True)
    text = m.job_details.format(
        job_id=job.id,
        state=m.states[job.state.value],
        provider=job.provider,
        age=age(now - job.created_at, lang),
        prompt=cut(job.prompt, 3000),
        settings=f"\n{settings}" if settings else "",
    )
    money = price_line(job, lang)
    if money:
        text += f"\n{money}"
    if job.state is JobState.FAILED and (job.reason or job.error):
        text += m.job_error.format(reason=failure_reason(job, m))
    if link:
        text = cut(text, TEXT_LIMIT - 200) + m.job_link.format(link=link)
    return text[:TEXT_LIMIT]


def age(seconds: float, lang: str = "en") -> str:
    ages = messages(lang).ages
    if seconds < 60:
        return ages["now"]
    if seconds < 3600:
        return ages["minutes"].format(n=int(seconds // 60))
    if seconds < 86400:
        return ages["hours"].format(n=int(seconds // 3600))
    return ages["days"].format(n=int(seconds // 86400))


# --- results -------------------------------------------------------------------------------------


def caption(job: Job) -> str:
    """The video's caption: the prompt (the requester named in groups) and key settings.

    The prompt is cut so the whole caption fits Telegram's 1024 characters.
    """
    m = messages(job_lang(job))
    footer = settings_line(job.params, m, full=False)
    if job.price > 0:  # sent as it is delivered, which charges it
        charged = m.credits["charged_line"].format(price=job.price)
        footer = f"{footer}\n{charged}" if footer else charged
    footer = f"\n\n{footer}" if footer else ""
    head = f"{job.requester.mention}: " if job.requester.mention else ""
    room = CAPTION_LIMIT - len(head) - len(footer)
    return head + cut(job.prompt, room) + footer


def shared_caption(job: Job, credit: str = "") -> str:
    """The caption of a video someone shares into another chat: the prompt alone (no name,
    no settings, no buttons), and `credit` ("made with @bot") below it when given."""
    footer = f"\n\n{credit}" if credit else ""
    return cut(job.prompt, CAPTION_LIMIT - len(footer)) + footer


def inline_description(job: Job, now: float, lang: str) -> str:
    """The line under a video's title in the inline list: its number, age and settings."""
    m = messages(lang)
    settings = settings_line(job.params, m, full=False)
    line = m.inline_description.format(job_id=job.id, age=age(now - job.created_at, lang))
    return f"{line} · {settings}" if settings else line


def cut(text: str, limit: int) -> str:
    """`text`, or its start and "…" when longer than `limit` characters."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"

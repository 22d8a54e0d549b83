"""Sharing finished videos: inline mode (`@bot words` in any chat lists the person's own
videos), Send again from `/jobs`, and `t.me/<bot>?start=v<number>` deep links.

Everything goes by the `file_id` Telegram keeps of a delivered video (`Job.delivered_file`),
so nothing here downloads a file or asks a provider: the provider's link may be long gone
(Kling deletes results after about 30 days). Every lookup is the asker's own videos only:
inline answers are `is_personal`, so Telegram never hands one person's list to another.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InlineQueryResultCachedDocument,
    InlineQueryResultCachedVideo,
    InlineQueryResultsButton,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import texts
from bot.i18n import messages
from bot.jobs import DOCUMENT, Job, JobState, Requester
from bot.keyboards import number, result_keyboard
from bot.metrics import Metrics
from bot.store import JobStore

log = logging.getLogger(__name__)

INLINE_PAGE = 20  # results per inline answer (Telegram takes up to 50)
SCAN_BATCH = 100  # rows read at a time while filtering by the words typed
SCAN_LIMIT = 2000  # rows read for one inline answer at most; the next page goes on from there
#: Seconds Telegram may keep an answer (per person: `is_personal`): short, so a video
#: delivered a moment ago shows the next time the list is opened.
CACHE_TIME = 10
MAX_REFERENCES = 5  # `#12 #13` in one query: a handful, not a scan of guessed numbers
TITLE_LIMIT = 100
#: A video's reference in inline queries (`#12`, `keyboards.reference`), and in deep links
#: (`v12`).
_REFERENCE = re.compile(r"#([0-9]{1,19})")
_PAYLOAD = re.compile(r"v([0-9]{1,19})")
_RESULT_ID = re.compile(r"v[0-9]{1,19}")
_FIRST_PAGE = 2**63 - 1  # "before this id": every job


def deep_link_payload(job_id: int) -> str:
    """The `start` parameter that sends video 12 to its owner: `v12`."""
    return f"v{job_id}"


def video_link(bot_username: str, job_id: int) -> str:
    """The link that sends video `job_id` to its owner in their chat with the bot."""
    return f"https://t.me/{bot_username}?start={deep_link_payload(job_id)}"


def job_of_payload(payload: str) -> int | None:
    """The video number a `/start` payload names (`v12`), or None if it names none."""
    match = _PAYLOAD.fullmatch(payload)
    return number(match.group(1)) if match else None


def inline_mode(bot: Bot) -> bool:
    """Whether the operator turned inline mode on in BotFather (`getMe`, read at start).
    Off, the bot shows no Share button: it would open an inline mode that answers nothing."""
    try:
        return bool(bot.supports_inline_queries)
    except RuntimeError:  # not initialised yet: no getMe answer to go by
        return False


@dataclass(frozen=True)
class Wanted:
    """What an inline query asks for: references (`#12`) and words, all to be matched."""

    ids: frozenset[int]
    words: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Wanted:
        ids: set[int] = set()
        words: list[str] = []
        for token in text.split():
            match = _REFERENCE.fullmatch(token)
            job_id = number(match.group(1)) if match else None
            if job_id is not None:
                ids.add(job_id)
            else:
                words.append(token.casefold())
        return cls(frozenset(ids), tuple(words))

    def matches(self, job: Job) -> bool:
        if self.ids and job.id not in self.ids:
            return False
        prompt = job.prompt.casefold()
        return all(word in prompt for word in self.words)


@dataclass(frozen=True)
class InlineAnswer:
    """The parameters of `answerInlineQuery`, as `Sharing.inline_answer` chooses them."""

    results: list[InlineQueryResultCachedVideo | InlineQueryResultCachedDocument]
    next_offset: str
    button: InlineQueryResultsButton | None
    cache_time: int = CACHE_TIME
    is_personal: bool = True  # never `False`: the list is the asker's alone


@dataclass(frozen=True)
class SharePage:
    """One inline answer: the videos to list and the offset of the next page ("" at the end)."""

    jobs: list[Job]
    next_offset: str


class Sharing:
    """The person's own delivered videos: listed inline, sent again, opened by a link."""

    def __init__(
        self,
        store: JobStore,
        metrics: Metrics,
        *,
        credit: bool = False,
        page_size: int = INLINE_PAGE,
    ) -> None:
        """`credit`: end shared captions with "made with @bot" (`SHARE_CREDIT`)."""
        self._store = store
        self._metrics = metrics
        self._credit = credit
        self._page_size = page_size

    # --- inline mode -----------------------------------------------------------------------

    async def page(self, user_id: int, query: str, offset: str) -> SharePage:
        """The user's videos matching `query`, newest first, from `offset` (the id below which
        to go on, as our last answer said; anything else is a forged offset: nothing)."""
        wanted = Wanted.parse(query)
        if wanted.ids:
            return SharePage(await self._referenced(user_id, wanted), "")
        before = _FIRST_PAGE if offset == "" else number(offset)
        if before is None or before <= 0:
            return SharePage([], "")
        found: list[Job] = []
        scanned = 0
        while scanned < SCAN_LIMIT:
            batch = await self._store.shareable_videos(user_id, before, SCAN_BATCH)
            for job in batch:
                before = job.id
                if wanted.matches(job):
                    found.append(job)
                    if len(found) == self._page_size:
                        return SharePage(found, str(before))
            scanned += len(batch)
            if len(batch) < SCAN_BATCH:
                return SharePage(found, "")
        return SharePage(found, str(before))  # read enough for one answer: go on next time

    async def _referenced(self, user_id: int, wanted: Wanted) -> list[Job]:
        jobs = []
        for job_id in sorted(wanted.ids, reverse=True)[:MAX_REFERENCES]:
            job = await self._store.get_job(job_id)
            if (
                job
                and job.requester.user_id == user_id
                and job.delivered_file
                and wanted.matches(job)
            ):
                jobs.append(job)
        return jobs

    def inline_answer(
        self, page: SharePage, *, lang: str, bot_username: str, first_page: bool
    ) -> InlineAnswer:
        """The answer to an inline query for `page`: cached videos (or files) with clean
        captions, personal, briefly cached; an empty first page offers a button to the private
        chat to make a video."""
        m = messages(lang)
        results: list[InlineQueryResultCachedVideo | InlineQueryResultCachedDocument] = []
        now = time.time()
        for job in page.jobs:
            delivered = job.delivered_file
            assert delivered is not None  # `shareable_videos` and `_referenced` see to it
            title = texts.cut(" ".join(job.prompt.split()), TITLE_LIMIT)
            description = texts.inline_description(job, now, lang)
            caption = self.shared_caption(job, lang, bot_username)
            result_id = deep_link_payload(job.id)
            if delivered.kind == DOCUMENT:
                results.append(
                    InlineQueryResultCachedDocument(
                        result_id, title, delivered.file_id, description, caption
                    )
                )
            else:
                results.append(
                    InlineQueryResultCachedVideo(
                        result_id, delivered.file_id, title, description, caption
                    )
                )
        button = None
        if not results and first_page:
            button = InlineQueryResultsButton(m.inline_make_one, start_parameter="help")
        return InlineAnswer(results, page.next_offset, button)

    def shared_caption(self, job: Job, lang: str, bot_username: str) -> str:
        """What others read under a shared video: the prompt, and the credit if it is on."""
        credit = messages(lang).made_with.format(bot=bot_username) if self._credit else ""
        return texts.shared_caption(job, credit)

    def chosen(self, result_id: str) -> None:
        """Someone posted one of their videos through inline mode (inline feedback on)."""
        if _RESULT_ID.fullmatch(result_id):
            self._metrics.shares.inc()

    # --- sending again ---------------------------------------------------------------------

    async def own_video(self, user_id: int, job_id: int, lang: str) -> Job | str:
        """The user's delivered video `job_id`, or why it cannot be sent (in `lang`)."""
        m = messages(lang)
        job = await self._store.get_job(job_id)
        if job is None:
            return m.video_not_found.format(job_id=job_id)
        if job.requester.user_id != user_id:
            return m.video_not_yours
        if job.delivered_file is None:
            if job.state is JobState.DELIVERED:  # it went out as a link: no file to send
                return m.resend_no_file.format(job_id=job_id)
            return m.video_not_found.format(job_id=job_id)
        return job

    async def send_again(
        self, bot: Bot, job: Job, to: Requester, *, share: bool, lang: str
    ) -> str | None:
        """Post the video `job` into `to`'s chat by its file_id, with its caption and buttons
        (in another chat than it was made in, without naming the requester); returns why not
        (in `lang`), or None when sent."""
        delivered = job.delivered_file
        assert delivered is not None
        shown = job if to.chat_id == job.requester.chat_id else _unnamed(job)
        markup: InlineKeyboardMarkup = result_keyboard(shown, share=share)
        reply = ReplyParameters(message_id=to.message_id, allow_sending_without_reply=True)
        try:
            if delivered.kind == DOCUMENT:
                await bot.send_document(
                    to.chat_id,
                    delivered.file_id,
                    caption=texts.caption(shown),
                    message_thread_id=to.thread_id,
                    reply_parameters=reply,
                    reply_markup=markup,
                )
            else:
                await bot.send_video(
                    to.chat_id,
                    delivered.file_id,
                    caption=texts.caption(shown),
                    supports_streaming=True,
                    message_thread_id=to.thread_id,
                    reply_parameters=reply,
                    reply_markup=markup,
                )
        except (BadRequest, Forbidden) as exc:
            log.warning("job %s: Telegram refused to send it again: %s", job.id, exc.message)
            return messages(lang).resend_refused
        except TelegramError as exc:  # a passing fault: the person can press again
            log.warning("job %s: could not send it again: %s", job.id, exc.message)
            return messages(lang).resend_refused
        return None


def _unnamed(job: Job) -> Job:
    """The job as shown outside the chat it was made in: no "@ann:" before the prompt."""
    return replace(job, requester=replace(job.requester, mention=None))

"""What the chat sees of a job while it runs: replies, the status message, failure notices.

Status edits are sent in the background, one at a time per job, newest wins: the paced edit
(it waits behind the chat's videos, see `bot.pacing`) never holds up the poll loop or a
delivery, and a status superseded while it waited is never sent. Progress-only edits are
sent at most every `status_edit_interval` seconds.

Under load, statuses give way (issue 16: every message saved is a video sent sooner): a
progress edit, or the first "generating" one, is left out whenever the pacer says the chat,
its group or Telegram's overall budget is busy (`PacingRateLimiter.busy`); "ready, sending the
video" is never sent on its own, since the delivery starts at once and its own edit ("done",
or the failure) replaces it; and once the video is delivered into a busy chat the status
message is deleted rather than edited to "done" (the video, a reply to the request, says it
all, and a deletion is not a message Telegram's limits count). So a job in a busy chat costs
two messages and three calls: the status message, the video and the deletion; a quiet chat
still sees live progress and "done". Notes (a provider change), failures and cancellations
are always shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot import texts
from bot.background import Background
from bot.jobs import Job, JobState, Requester
from bot.keyboards import status_keyboard
from bot.metrics import Metrics
from bot.outlook import Outlooks

log = logging.getLogger(__name__)


class ChatStatus:
    def __init__(
        self,
        bot: Bot,
        background: Background,
        metrics: Metrics,
        *,
        status_edit_interval: float = 3.0,
        outlooks: Outlooks | None = None,
        busy: Callable[[int], bool] | None = None,
        give_way: bool = True,
    ) -> None:
        """`outlooks`: how long videos usually take and the user's place in line, for the
        status message; None leaves both out. `busy(chat_id)`: the pacer's view of a chat
        (None: never busy). `give_way=False` sends every status as the bot did before issue
        16 (a benchmark's baseline)."""
        self._outlooks = outlooks
        self._bot = bot
        self._busy = busy
        self._give_way = give_way
        self._background = background
        self._metrics = metrics
        self._interval = status_edit_interval
        self._last_edit: dict[int, float] = {}
        self._wanted: dict[int, tuple[Job, str | None]] = {}  # newest edit not yet sent
        self._editing: set[int] = set()  # jobs whose status editor is running

    async def reply(
        self, requester: Requester, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> int:
        """Answer the request (in its forum topic, if any); returns the new message's id."""
        message = await self._bot.send_message(
            chat_id=requester.chat_id,
            text=text,
            reply_markup=markup,
            message_thread_id=requester.thread_id,
            reply_parameters=ReplyParameters(
                message_id=requester.message_id, allow_sending_without_reply=True
            ),
        )
        return message.message_id

    def start_link(self, payload: str) -> str:
        """A t.me link that opens the bot's private chat with /start `payload`."""
        return f"https://t.me/{self._bot.username}?start={payload}"

    async def status_text(self, job: Job, note: str | None = None) -> str:
        """The job's status message, with its outlook; without it if the store cannot say
        (the outlook is a courtesy: it never holds back the status)."""
        outlook = None
        if self._outlooks is not None:
            try:
                outlook = await self._outlooks.of(job)
            except Exception as exc:
                log.warning("job %s: no outlook for the status message: %r", job.id, exc)
        return texts.status(job, note, outlook=outlook)

    def show(self, job: Job, *, force: bool, note: str | None = None) -> None:
        """Edit the job's status message to show `job` (with `note` under it), in the
        background; without `force`, skipped if the last edit was within the interval."""
        if job.status_message_id is None or self._gives_way(job, note):
            return
        now = time.monotonic()
        last = self._last_edit.get(job.id)
        if not force and last is not None and now - last < self._interval:
            return
        self._last_edit[job.id] = now
        if not job.is_generating:
            self._last_edit.pop(job.id, None)
        self._wanted[job.id] = (job, note)
        if job.id not in self._editing:
            self._editing.add(job.id)
            self._background.spawn(job.id, self._edit(job.id))

    def notify_failure(self, job: Job) -> None:
        """Tell the requester why the job failed, in the background: a paced message must not
        hold up the poll loop (other chats)."""
        self._background.spawn(job.id, self._send_failure(job))

    async def _edit(self, job_id: int) -> None:
        """Send the job's newest wanted status until none is left."""
        try:
            while (wanted := self._wanted.pop(job_id, None)) is not None:
                job, note = wanted
                if self._gives_way(job, note):  # the chat may have got busy meanwhile
                    continue
                if self._clears(job, note) and await self._delete_message(job):
                    continue
                await self._edit_message(job, note)
        finally:  # no await since the last look: a status wanted from now on starts a new editor
            self._editing.discard(job_id)

    def _gives_way(self, job: Job, note: str | None) -> bool:
        """Whether this status is left out: one the job moves past anyway, while busy."""
        if not self._give_way or note is not None:
            return False
        if job.state is JobState.SUCCEEDED:
            return True  # the delivery has started; its own edit follows
        if not job.is_generating:
            return False  # done, failed, cancelled: the status the message keeps
        return self._busy is not None and self._busy(job.requester.chat_id)

    def _clears(self, job: Job, note: str | None) -> bool:
        """Whether the status message of a delivered job is deleted instead of edited: the
        video is in the chat, and the chat or Telegram's budget is busy."""
        return (
            self._give_way
            and note is None
            and job.state is JobState.DELIVERED
            and self._busy is not None
            and self._busy(job.requester.chat_id)
        )

    async def _delete_message(self, job: Job) -> bool:
        """Delete the job's status message; False if Telegram would not (it is then edited)."""
        assert job.status_message_id is not None
        try:
            await self._bot.delete_message(job.requester.chat_id, job.status_message_id)
        except TelegramError as exc:  # too old to delete, or already gone: edit it instead
            self._metrics.telegram_errors.labels(kind=type(exc).__name__).inc()
            log.debug("job %s: status message not deleted: %s", job.id, exc)
            return False
        return True

    async def _edit_message(self, job: Job, note: str | None) -> None:
        assert job.status_message_id is not None
        try:
            await self._bot.edit_message_text(
                chat_id=job.requester.chat_id,
                message_id=job.status_message_id,
                text=await self.status_text(job, note),
                reply_markup=status_keyboard(job),
            )
        except BadRequest as exc:  # not modified, or the user deleted the message: harmless
            self._metrics.telegram_errors.labels(kind="BadRequest").inc()
            log.debug("job %s: status edit skipped: %s", job.id, exc)
        except TelegramError as exc:
            self._metrics.telegram_errors.labels(kind=type(exc).__name__).inc()
            log.warning("job %s: status edit failed: %s", job.id, exc)

    async def _send_failure(self, job: Job) -> None:
        try:
            await self.reply(job.requester, texts.failed(job))
        except TelegramError as exc:
            log.warning("job %s: could not tell the user about the failure: %s", job.id, exc)

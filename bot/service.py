"""The video service: everything that happens to a job, from request to delivered video.

Handlers call `request_from_text` (options over settings), `again`, `cancel` and the listing
calls; the tracker feeds provider reports into `apply_update` and asks for due work with
`resume`. Each job change goes through the store's state machine first and is only acted on
(status edit, delivery, failure notice) if it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import routing, texts
from bot.access import Gatekeeper, duration
from bot.config import default_replica_id
from bot.delivery import Delivery, DeliveryError
from bot.i18n import Messages, Reason, messages
from bot.images import TELEGRAM_DOWNLOAD_LIMIT, ImageRejected, PreparedImage
from bot.jobs import Job, JobKind, JobState, NewJob, Requester
from bot.keyboards import Screen, cancel_choice, job_keyboard, jobs_keyboard, status_keyboard
from bot.metrics import Metrics
from bot.options import OptionError, OptionSpace, parse_request
from bot.preferences import LANG, PROVIDER, effective, preference_store
from bot.providers.base import MB, Capabilities, TaskUpdate
from bot.store import JobStore, PreferenceStore, StoreWatch
from bot.submission import SubmitFailed, Submitter, SubmitUnconfirmed
from bot.validation import control_characters
from bot.web import ProviderCallback

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5
DELIVERY_RETRY_BASE = 5.0  # seconds; doubles with each failed attempt
CONCURRENT_SUBMITS = 16  # submits in flight at once, all providers together
CONCURRENT_DELIVERIES = 16  # videos being sent at once
ORPHAN_AFTER = 300.0  # seconds a queued job may wait for its first submit before a retry
JOBS_PER_PAGE = 5
JOBS_LISTED = 50  # /jobs pages through this many of the newest jobs


@dataclass(frozen=True)
class ServiceOptions:
    status_edit_interval: float = 3.0
    job_timeout: float = 1800.0
    replica_id: str = field(default_factory=default_replica_id)  # this process, in job leases
    lease_seconds: float = 60.0  # a lease lapses unless renewed within this


class VideoService:
    def __init__(
        self,
        *,
        store: JobStore,
        bot: Bot,
        delivery: Delivery,
        submitter: Submitter,
        metrics: Metrics,
        options: ServiceOptions,
        gatekeeper: Gatekeeper | None = None,
        watch: StoreWatch | None = None,
    ) -> None:
        """`gatekeeper`: per-user limits and cooldown for new jobs; None means no limits.
        `watch`: tells a database outage from a bug when background work fails."""
        self._gate = gatekeeper
        self._watch = watch
        self._metrics = metrics
        self._store = store
        self._submitter = submitter
        self._bot = bot
        self._delivery = delivery
        self._options = options
        self._tasks: set[asyncio.Task[None]] = set()
        # A burst of new or finished jobs waits here rather than piling up on the providers'
        # and Telegram's connection pools, where every queued request costs CPU.
        self._submit_slots = asyncio.Semaphore(CONCURRENT_SUBMITS)
        self._delivery_slots = asyncio.Semaphore(CONCURRENT_DELIVERIES)
        self._submitting: set[int] = set()
        self._delivering: set[int] = set()
        self._last_status_edit: dict[int, float] = {}
        self._status_wanted: dict[int, tuple[Job, str | None]] = {}  # newest edit not yet sent
        self._status_editing: set[int] = set()  # jobs whose status editor is running
        self._preferences = preference_store(store)

    # --- requests from chats ------------------------------------------------------------------

    @property
    def settings_store(self) -> PreferenceStore:
        """Where settings live (the job store, or memory if it has no settings tables)."""
        return self._preferences

    def capabilities(self) -> dict[str, Capabilities]:
        """What each configured provider offers, in failover order."""
        return provider_capabilities(self._submitter)

    async def request_from_text(
        self,
        requester: Requester,
        text: str,
        image_file_ids: Sequence[str] = (),
        *,
        lang: str = "en",
    ) -> Job | None:
        """A request as the user wrote it: options in `text` over the chat's settings."""
        try:
            parsed = parse_request(text, OptionSpace.of(self.capabilities()))
        except OptionError as exc:
            await self.reply(requester, texts.bad_option(exc, lang))
            return None
        prefs = await effective(
            self._preferences,
            user_id=requester.user_id,
            chat_id=requester.chat_id,
            private=_is_private(requester),
        )
        params = {**prefs.job_params(), **parsed.params}
        return await self.request_video(
            requester,
            parsed.prompt,
            image_file_ids,
            params,
            lang=lang,
            preferred_provider=parsed.provider or prefs.provider,
        )

    async def request_video(
        self,
        requester: Requester,
        prompt: str,
        image_file_ids: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        *,
        lang: str = "en",
        preferred_provider: str | None = None,
    ) -> Job | None:
        """Create a job and answer with its status message; None if refused (user told why).

        Two images are a start and an end frame. `preferred_provider` goes first when it can
        serve the request; the operator's order decides the rest.
        """
        kind = JobKind.IMAGE if image_file_ids else JobKind.TEXT
        prompt = prompt.strip()
        params = {**dict(params or {}), LANG: lang}
        if preferred_provider:
            params[PROVIDER] = preferred_provider
        m = messages(lang)
        if not prompt:
            usage = m.video_usage if _is_private(requester) else m.video_usage_short
            await self.reply(requester, usage)
            return None
        problem = _typing_problem(prompt, params, m)
        if problem is not None:
            await self.reply(requester, problem)
            return None
        unservable = self._submitter.refusal(kind, params, prompt)
        if unservable is not None:
            await self.reply(requester, unservable.text(m))
            return None
        route = routing.order(
            self._submitter.candidates(kind, params, prompt),
            self.capabilities(),
            preferred=preferred_provider,
            end_frame=len(image_file_ids) > 1,
        )
        if isinstance(route, routing.NoEndFrame):
            await self.reply(requester, texts.end_frame_refusal(route.provider, route.others, lang))
            return None
        if self._gate is not None:
            refused = await self._gate.refuse_new_job(requester.user_id, lang)
            if refused is not None:
                if refused.answer:  # else the user was told the same a moment ago
                    await self.reply(requester, refused.text)
                return None
        prepared: list[PreparedImage] = []
        if image_file_ids:
            checked = await self._prepare_images(image_file_ids, route[0], m)
            if isinstance(checked, str):
                await self.reply(requester, checked)
                return None
            prepared = checked
        new = NewJob(
            requester=requester,
            kind=kind,
            prompt=prompt,
            provider=route[0],
            params=params,
            input_file_ids=tuple(image_file_ids),
            callback_token=secrets.token_urlsafe(24),
        )
        gate = self._gate
        quota = gate.quota(requester.user_id) if gate is not None else None
        if gate is None or quota is None:
            job = await self._store.create_job(new)
        else:
            created = await self._store.create_job_within(new, quota)
            if created is None:  # a concurrent request (maybe on another replica) came first
                refusal = await gate.over_limit(requester.user_id, lang)
                await self.reply(requester, refusal or m.sorry)
                return None
            job = created
        for frame, image in enumerate(prepared):  # before the submit, which sends these bytes
            await self._store.put_job_image(
                job.id, frame, image.file_id, image.data, image.mime_type
            )
        log.info("job %s: created (%s on %s)", job.id, kind.value, job.provider)
        try:
            message_id = await self.reply(requester, texts.status(job), status_keyboard(job))
        except Forbidden as exc:  # blocked, or removed from the group: nobody to make it for
            log.warning("job %s: cannot write to the chat (%s); not submitting it", job.id, exc)
            await self._store.transition(
                job.id, JobState.FAILED, error=Reason.of("chat_unwritable")
            )
            return None
        except TelegramError as exc:  # the video still comes; only its status message is lost
            log.warning("job %s: status message failed (%s); submitting anyway", job.id, exc)
        else:
            try:
                await self._store.set_status_message(job.id, message_id)
            except Exception as exc:  # the job exists: failing here would make it twice
                log.warning("job %s: could not record its status message: %r", job.id, exc)
        self._start_submit(job.id)
        return job

    def oversized_image(self, declared_sizes: Sequence[int | None], lang: str) -> str | None:
        """The answer when Telegram declares an image file larger than any provider takes (or
        than bots may download), so it is refused before any download; None otherwise."""
        largest = max(caps.image_max_bytes for caps in self.capabilities().values())
        limit = min(TELEGRAM_DOWNLOAD_LIMIT, largest)
        if any(size is not None and size > limit for size in declared_sizes):
            return messages(lang).image_too_big.format(limit=limit // MB)
        return None

    async def _prepare_images(
        self, file_ids: Sequence[str], provider: str, m: Messages
    ) -> list[PreparedImage] | str:
        """The request's images as its job will send them (downloaded and converted once), or
        the answer when one cannot be used or fetched."""
        try:
            return await self._submitter.prepare_images(file_ids, provider)
        except ImageRejected as exc:
            return exc.text(m)
        except TelegramError as exc:
            log.warning("could not download a photo to check it: %s", exc)
            return m.photo_download_failed

    async def again(self, job_id: int, user_id: int, requester: Requester) -> str | None:
        """The same request as a new job; returns why not (for the button's answer) or None."""
        job = await self._store.get_job(job_id)
        lang = str(job.params.get(LANG) or "en") if job else "en"
        if job is None:
            return messages(lang).job_gone
        if job.requester.user_id != user_id:
            return messages(lang).not_yours
        if job.requester.chat_id != requester.chat_id:  # never repost a prompt elsewhere
            return messages(lang).button_stale
        provider = job.params.get(PROVIDER)
        await self.request_video(
            requester,
            job.prompt,
            job.input_file_ids,
            job.params,
            lang=lang,
            preferred_provider=provider if isinstance(provider, str) else None,
        )
        return None

    async def cancel(self, user_id: int, job_id: int | None = None, lang: str = "en") -> str:
        """Stop the user's latest open job, or the given one; returns the answer to show."""
        open_jobs = await self._store.open_jobs(user_id)
        if job_id is None:
            if not open_jobs:
                return messages(lang).nothing_to_cancel
            job_id = open_jobs[0].id
        return (await self.try_cancel(user_id, job_id, lang))[0]

    async def try_cancel(self, user_id: int, job_id: int, lang: str = "en") -> tuple[str, bool]:
        """Stop one of the user's open jobs: (the answer to show, whether it was stopped)."""
        if job_id not in {job.id for job in await self._store.open_jobs(user_id)}:
            return texts.cannot_cancel(job_id, lang), False
        job = await self._store.transition(job_id, JobState.CANCELLED)
        if job is None:
            return texts.cannot_cancel(job_id, lang), False
        log.info("job %s: cancelled by user %s", job.id, user_id)
        await self._show_status(job, force=True)
        caps = self.capabilities().get(job.provider)
        if job.stopping and job.provider_task_id and caps is not None and caps.stops_on_cancel:
            await self._store.provider_stopped(job.id, job.provider_task_id)
        elif job.stopping:  # no remote provider can be told to stop: it may finish the video
            left = job.created_at + self._options.job_timeout - time.time()
            wait = duration(max(0.0, left), lang)
            return texts.cancelled_stopping(job.id, wait, lang), True
        return texts.cancelled(job.id, lang), True

    async def cancel_or_choose(
        self, user_id: int, lang: str, *, chat_id: int | None = None
    ) -> Screen:
        """`/cancel`: stops the one job in progress, or offers a button per job if several.

        With `chat_id` (a group), only the jobs made there: the buttons show their prompts.
        """
        open_jobs = await self._store.open_jobs(user_id)
        if chat_id is not None:
            open_jobs = [job for job in open_jobs if job.requester.chat_id == chat_id]
        if len(open_jobs) > 1:
            return Screen(messages(lang).cancel_which, cancel_choice(open_jobs, lang))
        if not open_jobs:
            return Screen(messages(lang).nothing_to_cancel)
        return Screen(await self.cancel(user_id, open_jobs[0].id, lang))

    async def jobs_page(
        self, user_id: int, page: int = 1, *, chat_id: int | None = None, lang: str = "en"
    ) -> Screen:
        """A page of the user's recent videos (in a group, only those made there)."""
        jobs = await self._recent(user_id, chat_id)
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
        self, user_id: int, job_id: int, page: int, lang: str, *, chat_id: int | None = None
    ) -> Screen | None:
        """One of the user's videos in detail; None if it is not theirs (or, with `chat_id`,
        was not made in that chat: a group sees only its own videos)."""
        job = await self._store.get_job(job_id)
        if job is None or job.requester.user_id != user_id:
            return None
        if chat_id is not None and job.requester.chat_id != chat_id:
            return None
        return Screen(texts.job_details(job, lang=lang), job_keyboard(job, user_id, page, lang))

    async def _recent(self, user_id: int, chat_id: int | None) -> list[Job]:
        jobs = await self._store.recent_jobs(user_id, limit=JOBS_LISTED)
        if chat_id is None:
            return jobs
        return [job for job in jobs if job.requester.chat_id == chat_id]

    # --- provider reports ----------------------------------------------------------------------

    async def apply_update(self, job_id: int, update: TaskUpdate) -> None:
        """Act on a provider's report, once: repeated or late reports change nothing."""
        if update.state is JobState.SUCCEEDED and update.video_url:
            update = await self._refuse_bad_link(job_id, update)
        reason = update.error
        if isinstance(reason, str):  # the provider's own words, shown as they are
            reason = Reason.of("provider_said", message=reason) if reason else None
        job = await self._store.transition(
            job_id,
            update.state,
            progress=update.progress,
            result_url=update.video_url,
            error=reason,
        )
        if job is None:
            await self._maybe_stopped(job_id, update)
            return
        log.info("job %s: %s (%s%%)", job.id, job.state.value, job.progress)
        if job.state is JobState.SUCCEEDED:
            self._start_delivery(job.id)  # before the status edit: the video is what counts
        await self._show_status(job, force=job.state is not JobState.RUNNING)
        if job.state is JobState.FAILED:
            # In the background: a paced message must not hold up the poll loop (other chats).
            self._spawn(job.id, self._notify_failure(job))

    async def _refuse_bad_link(self, job_id: int, update: TaskUpdate) -> TaskUpdate:
        """A "finished" report whose video link the bot will not use (not https, a private
        address) fails the job now, with the reason, instead of going on to delivery."""
        job = await self._store.get_job(job_id)
        if job is None or not job.is_generating or not update.video_url:
            return update  # a late report: the state machine ignores it anyway
        refusal = self._delivery.link_refusal(job.provider, update.video_url)
        if refusal is None:
            return update
        log.warning("job %s: the provider's video link is refused: %s", job.id, refusal)
        error = Reason.of("could_not_send", reason=refusal)
        return replace(update, state=JobState.FAILED, video_url=None, error=error)

    async def _maybe_stopped(self, job_id: int, update: TaskUpdate) -> None:
        """A provider finished the task of a job cancelled meanwhile: never deliver it, but
        stop counting it against the user's limit (see `Job.stopping`)."""
        if update.state not in (JobState.SUCCEEDED, JobState.FAILED) or not update.task_id:
            return
        if await self._store.provider_stopped(job_id, update.task_id):
            log.info("job %s: the provider stopped the cancelled job; its slot is free", job_id)

    async def on_callback(self, callback: ProviderCallback, context: object) -> None:
        """A provider callback from the update queue (see `bot.web`): same path as a poll."""
        await self.apply_update(callback.job_id, callback.update)

    async def expire(self, job: Job) -> None:
        """Fail a job that ran past the timeout."""
        await self._fail(job, Reason.of("timed_out", minutes=round(self._options.job_timeout / 60)))

    async def resume(self, now: float, *, startup: bool = False) -> None:
        """Start what is due: unsubmitted jobs and deliveries whose retry time has come.

        At start-up that is every unsubmitted job and every pending delivery (a restart is
        when interrupted work resumes). While running, a job is only picked up here once it
        has waited `ORPHAN_AFTER` seconds without a task id: younger ones are still being
        submitted by the request that created them.
        """
        submit_before = now if startup else now - ORPHAN_AFTER
        for job in await self._store.jobs_to_submit(created_before=submit_before):
            self._start_submit(job.id)
        due = math.inf if startup else now
        owner, seconds = self._options.replica_id, self._options.lease_seconds
        for job in await self._store.claim_deliveries(owner, seconds, due):
            self._start_delivery(job.id)

    async def aclose(self, grace: float = 10.0) -> None:
        """Wait for in-flight work up to `grace` seconds, then cancel the rest, and hand this
        replica's leases to the others (or to the next start) at once."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self._store.release_leases(self._options.replica_id)
        except Exception:
            if self._watch is not None and await self._watch.failed():
                log.warning("database unreachable: this replica's leases lapse on their own")
            else:
                log.exception("could not release this replica's leases; they lapse on their own")

    # --- submission ----------------------------------------------------------------------------

    def _start_submit(self, job_id: int) -> None:
        if job_id not in self._submitting:
            work = _in_slot(self._submit_slots, self._submit(job_id))
            self._spawn(job_id, work, self._submitting, again=self._start_submit)

    async def _submit(self, job_id: int) -> None:
        # The lease keeps other replicas (one starting up resumes unsubmitted jobs) off the job
        # while it is submitted; afterwards this replica's poll loop keeps renewing it.
        job = await self._claim(job_id)
        if job is None or job.state is not JobState.QUEUED or job.provider_task_id:
            return

        async def on_failover(from_provider: str, to_provider: str) -> None:
            moving = replace(job, provider=to_provider)
            note = texts.moved(from_provider, to_provider, texts.job_lang(job))
            await self._show_status(moving, force=True, note=note)

        try:
            async with self._lease_kept(job.id):
                submitted = await self._submitter.submit(job, on_failover)
        except SubmitFailed as exc:
            await self._fail(job, exc.reason)
            return
        except SubmitUnconfirmed as exc:
            # Not failed, not resent: the tracker's reconciliation pass (or a callback) finds
            # out which task the provider made, within the reconcile timeout.
            log.warning("job %s: %s may have taken it; reconciling", job.id, exc.provider)
            await self._store.mark_unconfirmed(job.id)
            note = texts.confirming(exc.provider, texts.job_lang(job))
            await self._show_status(replace(job, provider=exc.provider), force=True, note=note)
            return
        except TelegramError as exc:
            log.warning("job %s: could not fetch the input photo: %s", job.id, exc)
            await self._fail(job, Reason.of("photo_download_failed"))
            return
        # The status message already names the new provider if the job moved (on_failover).
        await self._store.record_submission(job.id, submitted.provider, submitted.task_id)

    async def adopt(self, job: Job, update: TaskUpdate) -> None:
        """Take the task a provider was found to have made for an unconfirmed job, then act
        on its report like a poll's; a job adopted meanwhile (a callback) is left alone."""
        adopted = await self._store.adopt_task(job.id, job.provider, update.task_id)
        if adopted is None:
            return
        log.info("job %s: reconciled with %s task %s", job.id, job.provider, update.task_id)
        await self.apply_update(job.id, update)

    async def give_up_reconciling(self, job: Job) -> None:
        """Fail a job whose provider never confirmed it in time, with the plain message."""
        log.warning("job %s: %s never confirmed it; failing it", job.id, job.provider)
        await self._fail(job, Reason.of("no_answer"))

    async def _fail(self, job: Job, reason: Reason) -> None:
        await self.apply_update(
            job.id, TaskUpdate(job.provider_task_id or "", JobState.FAILED, error=reason)
        )

    # --- delivery ------------------------------------------------------------------------------

    def _start_delivery(self, job_id: int) -> None:
        if job_id not in self._delivering:
            work = _in_slot(self._delivery_slots, self._deliver(job_id))
            self._spawn(job_id, work, self._delivering, again=self._start_delivery)

    async def _deliver(self, job_id: int) -> None:
        """Send the video while holding the job's lease, so no other replica sends it too."""
        job = await self._claim(job_id)
        if job is None:  # finished, or another replica is delivering it
            return
        try:
            if job.state is JobState.SUCCEEDED:
                await self._send_video(job)
        finally:
            # Delivered: nothing left to lease. Postponed: the retry may go to any replica.
            await self._store.release_job(job.id, self._options.replica_id)

    async def _send_video(self, job: Job) -> None:
        try:
            async with self._lease_kept(job.id):
                file_id = await self._delivery.send(job)
        except DeliveryError as exc:
            await self._delivery_failed(job, exc)
            return
        except Exception:  # a bug or a file nobody foresaw: still an attempt, never a loop
            log.exception("job %s: delivery failed unexpectedly", job.id)
            await self._delivery_failed(
                job, DeliveryError(Reason.of("delivery_crashed"), permanent=False)
            )
            return
        delivered = await self._store.transition(
            job.id, JobState.DELIVERED, video_file_id=file_id, lease_owner=self._options.replica_id
        )
        if delivered is None:  # cancelled while uploading (or the lease was lost meanwhile)
            log.warning("job %s: delivered but state changed meanwhile", job.id)
            return
        log.info("job %s: delivered", job.id)
        self._metrics.delivery_latency.observe(max(0.0, time.time() - job.updated_at))
        await self._show_status(delivered, force=True)

    async def _delivery_failed(self, job: Job, exc: DeliveryError) -> None:
        attempts = job.delivery_attempts + 1
        if exc.permanent or attempts >= MAX_DELIVERY_ATTEMPTS:
            log.error(
                "job %s: delivery failed for good after %d attempts: %s",
                job.id,
                attempts,
                exc.reason,
            )
            await self._fail(job, Reason.of("could_not_send", reason=exc.reason))
            return
        delay = DELIVERY_RETRY_BASE * 2 ** (attempts - 1)
        log.warning(
            "job %s: delivery attempt %d failed (%s); retrying in %.0fs",
            job.id,
            attempts,
            exc.reason,
            delay,
        )
        await self._store.postpone_delivery(job.id, time.time() + delay)

    # --- leases -------------------------------------------------------------------------------

    async def _claim(self, job_id: int) -> Job | None:
        """Lease the job to this replica (renewing its own lease); None if another holds it."""
        options = self._options
        return await self._store.claim_job(job_id, options.replica_id, options.lease_seconds)

    @contextlib.asynccontextmanager
    async def _lease_kept(self, job_id: int) -> AsyncIterator[None]:
        """Renew the job's lease every third of its length while the block runs: an upload or
        a submit with retries can outlast one lease."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._options.lease_seconds / 3)
                try:
                    if await self._claim(job_id) is None:
                        log.warning("job %s: lease lost (finished or taken over)", job_id)
                        return
                except Exception:
                    log.exception("job %s: renewing the lease failed; trying again", job_id)

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    # --- chat messages -------------------------------------------------------------------------

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

    async def _show_status(self, job: Job, *, force: bool, note: str | None = None) -> None:
        """Edit the status message; progress-only edits at most every few seconds.

        The edit is sent in the background, one at a time per job, newest wins: the paced edit
        (it waits behind the chat's videos, see `bot.pacing`) never holds up the poll loop or a
        delivery, and a status superseded while it waited is never sent.
        """
        if job.status_message_id is None:
            return
        now = time.monotonic()
        last = self._last_status_edit.get(job.id)
        if not force and last is not None and now - last < self._options.status_edit_interval:
            return
        self._last_status_edit[job.id] = now
        if not job.is_generating:
            self._last_status_edit.pop(job.id, None)
        self._status_wanted[job.id] = (job, note)
        if job.id not in self._status_editing:
            self._status_editing.add(job.id)
            self._spawn(job.id, self._edit_status(job.id))

    async def _edit_status(self, job_id: int) -> None:
        """Send the job's newest wanted status until none is left."""
        try:
            while (wanted := self._status_wanted.pop(job_id, None)) is not None:
                await self._edit_status_message(*wanted)
        finally:  # no await since the last look: a status wanted from now on starts a new editor
            self._status_editing.discard(job_id)

    async def _edit_status_message(self, job: Job, note: str | None) -> None:
        assert job.status_message_id is not None
        try:
            await self._bot.edit_message_text(
                chat_id=job.requester.chat_id,
                message_id=job.status_message_id,
                text=texts.status(job, note),
                reply_markup=status_keyboard(job),
            )
        except BadRequest as exc:  # not modified, or the user deleted the message: harmless
            self._metrics.telegram_errors.labels(kind="BadRequest").inc()
            log.debug("job %s: status edit skipped: %s", job.id, exc)
        except TelegramError as exc:
            self._metrics.telegram_errors.labels(kind=type(exc).__name__).inc()
            log.warning("job %s: status edit failed: %s", job.id, exc)

    async def _notify_failure(self, job: Job) -> None:
        try:
            await self.reply(job.requester, texts.failed(job))
        except TelegramError as exc:
            log.warning("job %s: could not tell the user about the failure: %s", job.id, exc)

    # --- background work -----------------------------------------------------------------------

    def _spawn(
        self,
        job_id: int,
        work: Coroutine[Any, Any, None],
        in_flight: set[int] | None = None,
        *,
        again: Callable[[int], None] | None = None,
    ) -> None:
        """Run `work` for a job in the background; `in_flight` holds the job id meanwhile.
        `again` starts the same work anew after a database outage interrupted it (None: work
        not worth repeating, such as a status edit)."""
        if in_flight is not None:
            in_flight.add(job_id)
        task = asyncio.create_task(self._guarded(job_id, work, again))
        self._tasks.add(task)

        def finished(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if in_flight is not None:
                in_flight.discard(job_id)
            work.close()  # a no-op once run; if cancelled before it started, no warning

        task.add_done_callback(finished)

    async def _guarded(
        self, job_id: int, work: Coroutine[Any, Any, None], again: Callable[[int], None] | None
    ) -> None:
        """Run a job's background work; a database outage ends it with one line instead of
        a traceback, and the work starts again once the database answers."""
        try:
            await work
        except Exception:
            if self._watch is not None and await self._watch.failed():
                log.info("job %s: interrupted by the database outage", job_id)
                if again is not None:
                    self._watch.after_outage(_call(again, job_id))
            else:
                log.exception("job %s: background work failed", job_id)


async def _call(function: Callable[[int], None], job_id: int) -> None:
    function(job_id)


async def _in_slot(slots: asyncio.Semaphore, work: Coroutine[Any, Any, None]) -> None:
    """Run `work` once a slot is free; the job's lease is only claimed inside it, so waiting
    for a slot can never outlast a lease."""
    try:
        async with slots:
            await work
    finally:
        work.close()  # a no-op once run; if cancelled while waiting, no "never awaited"


def _typing_problem(prompt: str, params: Mapping[str, Any], m: Messages) -> str | None:
    """Invisible control characters in the prompt or negative prompt (lengths are checked
    against each provider's limits by the submitter)."""
    codes = control_characters(prompt)
    if codes:
        return m.prompt_control_chars.format(codes=codes)
    codes = control_characters(str(params.get("negative_prompt") or ""))
    if codes:
        return m.negative_control_chars.format(codes=codes)
    return None


def _is_private(requester: Requester) -> bool:
    """A private chat's id is the user's id; groups have their own (negative) ids."""
    return requester.chat_id == requester.user_id


def provider_capabilities(submitter: Submitter) -> dict[str, Capabilities]:
    """The declared capabilities of the submitter's providers, in failover order.

    The submitter owns the providers and offers no accessor; their `capabilities` are static
    declarations, so reading them here calls nothing.
    """
    return {name: p.capabilities for name, p in submitter._providers.items()}

"""A job's life after it is created: submitted, tracked, delivered, failed or cancelled.

The tracker feeds provider reports into `apply_update` (a provider callback from the web server
takes the same path, `on_callback`), asks for due work with `resume`, and hands over the jobs
it reconciles or times out. Each job change goes through the store's state machine first and
is only acted on (status edit, delivery, failure notice) if it took.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace

from telegram.error import TelegramError

from bot import texts
from bot.alerts import Alerts
from bot.background import Background, JobQueue
from bot.chat_status import ChatStatus
from bot.delivery import Delivery, DeliveryError
from bot.i18n import Reason
from bot.jobs import Job, JobState, ProviderCallback, TaskUpdate
from bot.leases import Leases
from bot.metrics import Metrics
from bot.store import JobStore
from bot.submission import SubmitFailed, Submitter, SubmitUnconfirmed

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5
DELIVERY_RETRY_BASE = 5.0  # seconds; doubles with each failed attempt
CONCURRENT_SUBMITS = 16  # submits in flight at once, all providers together
CONCURRENT_DELIVERIES = 16  # videos being sent at once
#: Of them, to one chat: a chat whose videos wait for their turn (a group at its 20 a minute)
#: holds at most half, and the other half keeps serving every other chat.
DELIVERIES_PER_CHAT = CONCURRENT_DELIVERIES // 2
ORPHAN_AFTER = 300.0  # seconds a queued job may wait for its first submit before a retry


@dataclass(frozen=True)
class Cancelled:
    """A job the user cancelled. `may_finish_within`: seconds its provider, which cannot be
    told to stop, may still spend making it (None: nothing is left running)."""

    job: Job
    may_finish_within: float | None = None


class JobLifecycle:
    def __init__(
        self,
        *,
        store: JobStore,
        submitter: Submitter,
        delivery: Delivery,
        status: ChatStatus,
        leases: Leases,
        background: Background,
        metrics: Metrics,
        job_timeout: float = 1800.0,
        alerts: Alerts | None = None,
    ) -> None:
        self._alerts = alerts if alerts is not None else Alerts(None, ())
        self._store = store
        self._submitter = submitter
        self._delivery = delivery
        self._status = status
        self._leases = leases
        self._background = background
        self._metrics = metrics
        self._job_timeout = job_timeout
        self._submits = JobQueue(background, self._submit, slots=CONCURRENT_SUBMITS)
        self._deliveries = JobQueue(
            background, self._deliver, slots=CONCURRENT_DELIVERIES, per_lane=DELIVERIES_PER_CHAT
        )

    def submit(self, job_id: int) -> None:
        """Submit a newly created job in the background."""
        self._submits.start(job_id)

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
            # before the status edit: the video is what counts
            self._deliveries.start(job.id, job.requester.chat_id)
        self._status.show(job, force=job.state is not JobState.RUNNING)
        if job.state is JobState.FAILED:
            self._status.notify_failure(job)

    async def on_callback(self, callback: ProviderCallback, context: object) -> None:
        """A provider callback from the update queue (see `bot.web`): same path as a poll."""
        await self.apply_update(callback.job_id, callback.update)

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

    # --- the tracker's verdicts ----------------------------------------------------------------

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

    async def expire(self, job: Job) -> None:
        """Fail a job that ran past the timeout."""
        await self._fail(job, Reason.of("timed_out", minutes=round(self._job_timeout / 60)))

    async def resume(self, now: float, *, startup: bool = False) -> None:
        """Start what is due: unsubmitted jobs and deliveries whose retry time has come.

        At start-up that is every unsubmitted job and every pending delivery (a restart is
        when interrupted work resumes). While running, a job is only picked up here once it
        has waited `ORPHAN_AFTER` seconds without a task id: younger ones are still being
        submitted by the request that created them.
        """
        submit_before = now if startup else now - ORPHAN_AFTER
        for job in await self._store.jobs_to_submit(created_before=submit_before):
            self._submits.start(job.id)
        due = math.inf if startup else now
        leases = self._leases
        for job in await self._store.claim_deliveries(leases.owner, leases.seconds, due):
            self._deliveries.start(job.id, job.requester.chat_id)

    async def _fail(self, job: Job, reason: Reason) -> None:
        await self.apply_update(
            job.id, TaskUpdate(job.provider_task_id or "", JobState.FAILED, error=reason)
        )

    # --- the user's cancel ---------------------------------------------------------------------

    async def cancel(self, user_id: int, job_id: int) -> Cancelled | None:
        """Stop one of the user's open jobs; None if it is not theirs or no longer open."""
        if job_id not in {job.id for job in await self._store.open_jobs(user_id)}:
            return None
        job = await self._store.transition(job_id, JobState.CANCELLED)
        if job is None:
            return None
        log.info("job %s: cancelled by user %s", job.id, user_id)
        self._status.show(job, force=True)
        caps = self._submitter.capabilities().get(job.provider)
        if job.stopping and job.provider_task_id and caps is not None and caps.stops_on_cancel:
            await self._store.provider_stopped(job.id, job.provider_task_id)
        elif job.stopping:  # no remote provider can be told to stop: it may finish the video
            left = job.created_at + self._job_timeout - time.time()
            return Cancelled(job, may_finish_within=max(0.0, left))
        return Cancelled(job)

    # --- submission ----------------------------------------------------------------------------

    async def _submit(self, job_id: int) -> None:
        # The lease keeps other replicas (one starting up resumes unsubmitted jobs) off the job
        # while it is submitted; afterwards this replica's poll loop keeps renewing it.
        job = await self._leases.claim(job_id)
        if job is None or job.state is not JobState.QUEUED or job.provider_task_id:
            return

        async def on_failover(from_provider: str, to_provider: str) -> None:
            moving = replace(job, provider=to_provider)
            note = texts.moved(from_provider, to_provider, texts.job_lang(job))
            self._status.show(moving, force=True, note=note)

        try:
            async with self._leases.kept(job.id):
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
            self._status.show(replace(job, provider=exc.provider), force=True, note=note)
            return
        except TelegramError as exc:
            log.warning("job %s: could not fetch the input photo: %s", job.id, exc)
            await self._fail(job, Reason.of("photo_download_failed"))
            return
        # The status message already names the new provider if the job moved (on_failover).
        await self._store.record_submission(job.id, submitted.provider, submitted.task_id)

    # --- delivery ------------------------------------------------------------------------------

    async def _deliver(self, job_id: int) -> None:
        """Send the video while holding the job's lease, so no other replica sends it too."""
        job = await self._leases.claim(job_id)
        if job is None:  # finished, or another replica is delivering it
            return
        try:
            if job.state is JobState.SUCCEEDED:
                await self._send_video(job)
        finally:
            # Delivered: nothing left to lease. Postponed: the retry may go to any replica.
            await self._leases.release(job.id)

    async def _send_video(self, job: Job) -> None:
        try:
            async with self._leases.kept(job.id):
                sent = await self._delivery.send(job)
        except DeliveryError as exc:
            if not exc.permanent:  # blocked by the user, chat gone: nothing the bot can fix
                self._alerts.delivery_failed()
            await self._delivery_failed(job, exc)
            return
        except Exception:  # a bug or a file nobody foresaw: still an attempt, never a loop
            log.exception("job %s: delivery failed unexpectedly", job.id)
            self._alerts.delivery_failed()
            await self._delivery_failed(
                job, DeliveryError(Reason.of("delivery_crashed"), permanent=False)
            )
            return
        self._alerts.delivery_succeeded()
        delivered = await self._store.transition(
            job.id,
            JobState.DELIVERED,
            video_file_id=sent.file_id if sent else None,
            video_file_kind=sent.kind if sent else None,
            lease_owner=self._leases.owner,
        )
        if delivered is None:  # cancelled while uploading (or the lease was lost meanwhile)
            log.warning("job %s: delivered but state changed meanwhile", job.id)
            return
        log.info("job %s: delivered", job.id)
        self._metrics.delivery_latency.observe(max(0.0, time.time() - job.updated_at))
        self._status.show(delivered, force=True)

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

    # --- shutdown ------------------------------------------------------------------------------

    async def aclose(self, grace: float = 10.0) -> None:
        """Wait for in-flight work (status edits too) up to `grace` seconds, then cancel the
        rest, and hand this replica's leases to the others (or to the next start) at once."""
        await self._background.aclose(grace)
        await self._leases.release_all()

"""What the bot asks of its job store, each method documented once, whichever database is used.

`JobStore` is everything; the narrower protocols are what one collaborator needs, so a test can
pass in a small offline double instead of a database (`Submitter` takes a `SubmitStore`,
`StoreWatch` anything that `Pings`, the settings code a `PreferenceStore`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from bot.i18n import Reason
from bot.jobs import Job, JobState, NewJob, Quota
from bot.store.credits import Balance, Entry, Purchase, RefundOutcome


class Pings(Protocol):
    """What `StoreWatch` needs to tell an outage."""

    async def ping(self) -> bool:
        """Whether the database answers, within seconds: the health check must not hang."""
        ...


class SubmitStore(Protocol):
    """What a submit reads and writes: the moment a request leaves, and the prepared images."""

    async def mark_submit_started(self, job_id: int, provider: str, callback_secret: str) -> bool:
        """Note, before the request leaves, that `provider` may soon hold a paid task for it,
        and the secret its callbacks will carry (kept from the first request on).

        False if the job is no longer queued (cancelled meanwhile): then it must not be sent.
        One statement with the cancel's, so a cancel either sees this mark (and keeps tracking
        the provider's task) or comes first (and nothing is sent).
        """
        ...

    async def provider_stopped(self, job_id: int, task_id: str | None) -> bool:
        """The provider finished (or failed) the task of a cancelled job, or (`task_id` None)
        no provider got it: it no longer counts against the user's limit and is no longer
        polled. False if it was not stopping with that task."""
        ...

    async def put_job_image(
        self, job_id: int, frame: int, file_id: str, data: bytes, mime_type: str
    ) -> None:
        """Keep the prepared image of a job's frame (replacing it); not for finished jobs."""
        ...

    async def job_image(self, job_id: int, frame: int) -> tuple[bytes, str] | None:
        """The prepared image (bytes, MIME type) of a job's frame, if kept."""
        ...

    async def add_media_link(
        self, token: str, job_id: int, file_id: str, expires_at: float
    ) -> None: ...


class OutlookStore(Protocol):
    """What the status message's outlook reads: how long recent videos took, and which of a
    user's videos are still in progress."""

    async def delivered_durations(self, provider: str, limit: int) -> list[tuple[Any, float]]:
        """The newest `limit` delivered jobs of `provider`, newest first, as (the job's
        `model` parameter or None, seconds from request to delivery)."""
        ...

    async def open_jobs(self, user_id: int) -> list[Job]:
        """The user's jobs that can still be cancelled (unfinished), newest first."""
        ...


@runtime_checkable
class PreferenceStore(Protocol):
    """The part of the job store that keeps settings and the questions asked for them."""

    async def get_preferences(self, owner_id: int) -> dict[str, Any]:
        """The stored settings of a user (positive id) or a group (negative id); {} if none."""
        ...

    async def put_preferences(self, owner_id: int, data: dict[str, Any]) -> None:
        """Replace the owner's settings (an empty dict forgets them)."""
        ...

    async def save_settings_question(
        self,
        chat_id: int,
        prompt_message_id: int,
        *,
        user_id: int,
        owner_id: int,
        panel_message_id: int | None,
    ) -> None:
        """Remember the bot's "reply with a negative prompt" question and whose answer counts."""
        ...

    async def take_settings_question(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> tuple[int, int | None] | None:
        """(owner id, settings message id) of the question this user answered, taken once."""
        ...


class JobStore(Pings, SubmitStore, PreferenceStore, OutlookStore, Protocol):
    """The job store: SQLite for one process, PostgreSQL for replicas, the same contract
    (`tests/unit/test_store.py` runs it against both).

    Every state change goes through `transition`, a compare-and-set on the current state
    guarded by `bot.jobs.can_transition`, so concurrent or repeated reports cannot race past
    each other. Leases (`claim_*`) name the replica submitting, polling or delivering a job.
    """

    #: Whether several processes (replicas) may use this database at once.
    SHARED: ClassVar[bool]

    async def close(self) -> None: ...

    async def schema_version(self) -> int: ...

    async def migrate(self) -> None:
        """Apply every migration above the database's version, each atomically."""
        ...

    async def release_orphaned_leases(self) -> None:
        """At start: give up the leases no live process can hold, so that work resumes at once
        instead of when they lapse (SQLite: every lease, one process per file; PostgreSQL:
        none, other replicas hold theirs)."""
        ...

    # --- jobs -------------------------------------------------------------------------------

    async def create_job(self, new: NewJob) -> Job:
        """Create a job with no limits and no price."""
        ...

    async def create_job_within(self, new: NewJob, quota: Quota | None) -> Job | None:
        """Create the job only if the user stays within `quota` (None: no limits) and holds its
        price (`NewJob.price`) in credits, reserved in the same transaction; None if not. The
        counts, the insert and the reservation cannot interleave with another request of the
        same user."""
        ...

    async def get_job(self, job_id: int) -> Job | None: ...

    async def job_by_callback_token(self, token: str) -> Job | None: ...

    async def count_jobs(self) -> dict[tuple[str, str], int]:
        """Jobs by (state, provider), for metrics."""
        ...

    async def set_status_message(self, job_id: int, message_id: int) -> None: ...

    async def mark_unconfirmed(self, job_id: int) -> None:
        """The submit's answer was lost: the job waits for its task to be found or adopted."""
        ...

    async def adopt_task(self, job_id: int, provider: str, task_id: str) -> Job | None:
        """Take `task_id` as the job's task, only if the job was sent to `provider` and has
        none yet; None otherwise (so a first adoption can never be overwritten)."""
        ...

    async def record_submission(self, job_id: int, provider: str, task_id: str) -> Job | None:
        """Remember which provider task serves the job: while it is queued, or cancelled while
        it was being sent (then the task is tracked until the provider stops, never delivered).
        """
        ...

    async def transition(
        self,
        job_id: int,
        new_state: JobState,
        *,
        progress: int | None = None,
        result_url: str | None = None,
        error: Reason | None = None,
        video_file_id: str | None = None,
        video_file_kind: str | None = None,
        lease_owner: str | None = None,
    ) -> Job | None:
        """Move a job to `new_state`; returns the updated job, or None if nothing changed.

        Refused (None): an illegal transition, or running -> running with no new progress.
        The UPDATE only matches the state we read, so a concurrent change makes us re-read.
        With `lease_owner`, only while that replica holds the job's lease: a delivery whose
        lease passed to another replica is not recorded as done. A job that stops generating
        loses its lease: the poller's work is over, and a delivery claims the job afresh.
        `error` is stored twice: in English (`error`) and as its key (`error_reason`).
        A transition that finishes the job settles its reserved price in the same
        transaction: charged when delivered, released when failed or cancelled.
        """
        ...

    async def postpone_delivery(self, job_id: int, next_attempt_at: float) -> None:
        """Count a failed delivery attempt and say when to try again."""
        ...

    async def jobs_to_submit(self, created_before: float) -> list[Job]:
        """Queued jobs with no provider task yet (the process stopped before submitting)."""
        ...

    async def recent_jobs(self, user_id: int, limit: int = 10) -> list[Job]: ...

    async def shareable_videos(self, user_id: int, before_id: int, limit: int) -> list[Job]:
        """The user's delivered videos whose file Telegram keeps (`video_file_id`), with ids
        below `before_id`, newest first, at most `limit`: what inline mode offers them."""
        ...

    # --- leases (which replica works on a job) ----------------------------------------------
    #
    # A lease is free when it has lapsed (`lease_until` 0 after a release, or in the past, on
    # the database's clock); its owner may renew it.

    async def claim_jobs_to_poll(
        self, owner: str, seconds: float, *, after_id: int = 0, limit: int | None = None
    ) -> list[Job]:
        """Generating jobs with a provider task that no other replica holds, leased to `owner`
        for `seconds` (renewing the ones it holds), oldest first: at most `limit` of them with
        ids above `after_id`, so a poll cycle can page through ten thousand jobs."""
        ...

    async def claim_jobs_to_reconcile(self, owner: str, seconds: float) -> list[Job]:
        """Jobs whose submit went unanswered (see `mark_unconfirmed`) that no other replica
        holds, leased to `owner`, oldest first."""
        ...

    async def claim_deliveries(self, owner: str, seconds: float, due: float) -> list[Job]:
        """Finished videos not yet in the chat, next attempt due by `due`, that nobody is
        sending, leased to `owner`, oldest first. A delivery `owner` is sending itself is left
        out: its upload renews that lease."""
        ...

    async def claim_job(self, job_id: int, owner: str, seconds: float) -> Job | None:
        """Lease one unfinished job to `owner` (or renew its lease); None if another replica
        holds it or it is finished. A concurrent claim of the row is waited for, then the
        lease re-checked, so exactly one wins."""
        ...

    async def release_job(self, job_id: int, owner: str) -> None:
        """Give up `owner`'s lease on the job, so any replica may take it at once."""
        ...

    async def release_leases(self, owner: str | None = None) -> None:
        """Give up every lease of `owner` (a replica shutting down), or of everyone (None)."""
        ...

    # --- limits and bans --------------------------------------------------------------------

    async def count_open_jobs(self, user_id: int) -> int:
        """Jobs of the user not yet finished (generating, or waiting for delivery), and
        cancelled ones the provider may still be making."""
        ...

    async def expire_stopping(self, created_before: float) -> int:
        """Stop waiting for the providers of cancelled jobs created before `created_before`
        (the job timeout): they no longer count or get polled. Returns how many."""
        ...

    async def job_times_since(self, user_id: int, since: float) -> list[float]:
        """When the user's jobs since `since` were created, oldest first."""
        ...

    async def ban(self, user_id: int, banned_by: int) -> None: ...

    async def unban(self, user_id: int) -> bool:
        """Whether the user was banned."""
        ...

    async def is_banned(self, user_id: int) -> bool: ...

    async def job_stats(self, since: float) -> list[tuple[str, str, str, int]]:
        """(day, provider, state, count) for jobs created since `since`, newest day first."""
        ...

    # --- media links and photo questions ----------------------------------------------------

    async def media_file_id(self, token: str, now: float) -> str | None:
        """The Telegram file behind a media link, if the link exists and has not expired."""
        ...

    async def media_image(self, token: str, now: float) -> tuple[bytes, str] | None:
        """The prepared image behind a media link, if the link is valid and the job unfinished."""
        ...

    async def purge_expired(self, now: float, questions_before: float) -> int:
        """Delete media links expired by `now`, and photo and settings questions asked before
        `questions_before` and never answered; returns how many rows went. Also forgets update
        ids older than a day, quiet times that ended and albums older than an hour."""
        ...

    # --- what replicas share (so that several behave like one bot) --------------------------

    async def claim_update(self, update_id: int, owner: str, now: float) -> bool:
        """Whether `owner` may handle this Telegram update: True the first time any replica
        claims it (and again for `owner` itself, whose claim may have been cut off before it
        heard the answer); False once another replica has it."""
        ...

    async def heartbeat(self, replica_id: str, started_at: float) -> None:
        """Record that the replica is alive now (on the database's clock)."""
        ...

    async def live_replicas(self, within: float) -> list[tuple[str, float, float]]:
        """(replica id, started at, seconds since its last heartbeat) of each replica heard
        from within `within` seconds, by id."""
        ...

    async def forget_replicas(
        self, stale: float, *, silent: float | None = None, replica_id: str | None = None
    ) -> list[str]:
        """Remove the replicas not heard from for `stale` seconds, those silent for `silent`
        seconds whose process is gone (its identity lock is free: its session ended), and
        `replica_id` (one that says it leaves); release their leases so their jobs are taken
        over at once. Their ids."""
        ...

    async def lock_identity(self, replica_id: str) -> bool:
        """Hold the replica's identity lock for as long as this process lives (PostgreSQL: a
        session lock, dropped by the server when the process dies); False if a live process
        holds it already. SQLite: always True (one process per file)."""
        ...

    async def keep_identity(self) -> bool:
        """Take the identity lock again if a database outage ended its session; False if
        another process took it meanwhile."""
        ...

    async def add_album_part(
        self, chat_id: int, media_group_id: str, message_id: int, message: str
    ) -> bool:
        """Keep one part of an album (`message`: its JSON) and restart the album's quiet
        time; False if the album was already handed over (a part too late to count)."""
        ...

    async def take_album(
        self, chat_id: int, media_group_id: str, quiet: float
    ) -> list[str] | float | None:
        """Hand the album over if no part came for `quiet` seconds: its parts' JSON in
        message order, to exactly one caller. Otherwise the seconds left to wait, or None if
        the album is gone or another caller took it."""
        ...

    async def take_quiet(
        self, user_id: int, kind: str, now: float, until: float
    ) -> tuple[bool, float]:
        """Start a quiet time of `kind` for the user until `until`, unless one runs at `now`:
        (True, until) if started, else (False, when the running one ends). Atomic, so across
        replicas exactly one of concurrent callers starts it."""
        ...

    async def give_back_quiet(self, user_id: int, kind: str, until: float) -> None:
        """Undo the quiet time started until `until` (if still that one): the one before
        it, if any, applies again."""
        ...

    async def save_photo_prompt(
        self, chat_id: int, prompt_message_id: int, file_id: str, *, user_id: int
    ) -> None:
        """Remember the photo behind the bot's "what should happen?" question, and who sent it:
        only their answer counts."""
        ...

    async def take_photo_prompt(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> str | None:
        """The photo a question was about, if `user_id` sent it; taken so it starts one job."""
        ...

    # --- credits (see `bot.store.credits`) --------------------------------------------------

    async def open_account(self, user_id: int, *, welcome: int = 0, daily: int = 0) -> None:
        """Make the user's account if there is none, with `welcome` credits; with `daily`, top
        it up to that many once a UTC day."""
        ...

    async def credit_balance(self, user_id: int) -> Balance: ...

    async def credit_entries(self, user_id: int, limit: int = 5) -> list[Entry]:
        """The user's latest ledger rows, newest first."""
        ...

    async def credit_purchase(
        self, user_id: int, credit_count: int, stars: int, charge_id: str
    ) -> bool:
        """Credit a Stars payment once by its charge id; False if it was credited before."""
        ...

    async def grant_credits(
        self, user_id: int, amount: int, key: str, actor_id: int, note: str | None = None
    ) -> bool | None:
        """An admin's grant (negative: a deduction) once by `key`, with the admin's `note` on
        why; False if done before, None if a deduction exceeds what the user holds."""
        ...

    async def purchase(self, charge_id: str) -> Purchase | None: ...

    async def take_back_purchase(self, charge_id: str, actor_id: int) -> RefundOutcome:
        """Take a purchase's credits back before its Stars are refunded (see
        `bot.store.credits.take_back_purchase`)."""
        ...

    async def undo_take_back(self, bought: Purchase, attempt: int, actor_id: int) -> None:
        """Give back the credits of a refund Telegram refused."""
        ...

    async def credit_totals(self) -> dict[str, tuple[int, int]]:
        """(credits, stars) by ledger kind, all time."""
        ...

    async def credit_stats(self, since: float) -> list[tuple[str, str, int, int]]:
        """(day, kind, credits, stars) of purchases, charges, refunds and grants since `since`."""
        ...

    async def audit_credits(self) -> list[str]:
        """Where the ledger and the accounts or jobs disagree; empty when they agree."""
        ...

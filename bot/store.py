"""Jobs in SQLite (aiosqlite, WAL), with versioned migrations tracked in `PRAGMA user_version`.

Every state change goes through `transition`, a compare-and-set on the current state guarded
by `bot.jobs.can_transition`, so concurrent or repeated reports cannot race past each other.
Leases (`claim_*`) name the replica submitting, polling or delivering a job; SQLite serves a
single process, so there they only matter across a restart (see `bot.app.assemble`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.i18n import Reason
from bot.jobs import (
    GENERATING,
    Job,
    JobKind,
    JobState,
    NewJob,
    Quota,
    Requester,
    can_transition,
)

#: Each entry upgrades the schema by one version. Never edit a released entry: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        request_message_id INTEGER NOT NULL,
        thread_id INTEGER,
        mention TEXT,
        kind TEXT NOT NULL,
        prompt TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        input_file_ids TEXT NOT NULL DEFAULT '[]',
        provider TEXT NOT NULL,
        provider_task_id TEXT,
        state TEXT NOT NULL,
        status_message_id INTEGER,
        progress INTEGER,
        result_url TEXT,
        error TEXT,
        delivery_attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        video_file_id TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX jobs_open ON jobs (state) WHERE state IN ('queued', 'running', 'succeeded');
    CREATE INDEX jobs_by_user ON jobs (user_id, id);
    CREATE TABLE media_links (
        token TEXT PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        file_id TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE photo_prompts (
        chat_id INTEGER NOT NULL,
        prompt_message_id INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, prompt_message_id)
    );
    """,
    """
    ALTER TABLE jobs ADD COLUMN callback_token TEXT;
    CREATE UNIQUE INDEX jobs_by_callback_token ON jobs (callback_token);
    """,
    """
    ALTER TABLE jobs ADD COLUMN submit_started_at REAL;
    """,
    """
    CREATE TABLE bans (
        user_id INTEGER PRIMARY KEY,
        banned_by INTEGER NOT NULL,
        banned_at REAL NOT NULL
    );
    CREATE INDEX jobs_by_user_time ON jobs (user_id, created_at);
    """,
    """
    CREATE TABLE preferences (
        owner_id INTEGER PRIMARY KEY,
        data TEXT NOT NULL DEFAULT '{}',
        updated_at REAL NOT NULL
    );
    CREATE TABLE settings_questions (
        chat_id INTEGER NOT NULL,
        prompt_message_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        owner_id INTEGER NOT NULL,
        panel_message_id INTEGER,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, prompt_message_id)
    );
    """,
    """
    ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
    CREATE INDEX jobs_by_lease_expiry ON jobs (state, lease_until)
        WHERE state IN ('queued', 'running', 'succeeded');
    CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner)
        WHERE state IN ('queued', 'running', 'succeeded');
    """,
    # The exact image bytes that passed the checks, per job and frame (0 start, 1 end), so the
    # submit and the /media/ link use them without asking Telegram again; dropped by the
    # trigger when the job finishes (and with the job).
    """
    CREATE TABLE job_images (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        frame INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (job_id, frame)
    );
    CREATE TRIGGER job_images_dropped AFTER UPDATE OF state ON jobs
        WHEN NEW.state IN ('delivered', 'failed', 'cancelled')
    BEGIN
        DELETE FROM job_images WHERE job_id = NEW.id;
    END;
    """,
    """
    ALTER TABLE jobs ADD COLUMN callback_secret TEXT;
    ALTER TABLE jobs ADD COLUMN reconcile_since REAL;
    CREATE INDEX jobs_to_reconcile ON jobs (id)
        WHERE state = 'queued' AND reconcile_since IS NOT NULL;
    """,
    """
    ALTER TABLE jobs ADD COLUMN stopping INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_stopping ON jobs (user_id) WHERE stopping = 1;
    """,
    # Who may answer a photo question (in a private chat, the chat's user; a group's old
    # questions had no owner and are dropped), and why a job failed as a catalogue key.
    """
    ALTER TABLE photo_prompts ADD COLUMN user_id INTEGER;
    UPDATE photo_prompts SET user_id = chat_id WHERE chat_id > 0;
    DELETE FROM photo_prompts WHERE user_id IS NULL;
    ALTER TABLE jobs ADD COLUMN error_reason TEXT;
    """,
)

INSERT_COLUMNS = (
    "user_id, chat_id, request_message_id, thread_id, mention, kind, prompt, params,"
    " input_file_ids, provider, state, created_at, updated_at, callback_token"
)


def insert_values(new: NewJob, now: float) -> tuple[Any, ...]:
    """A new job's row, in `INSERT_COLUMNS` order; both stores insert it."""
    r = new.requester
    return (
        r.user_id,
        r.chat_id,
        r.message_id,
        r.thread_id,
        r.mention,
        new.kind.value,
        new.prompt,
        json.dumps(new.params),
        json.dumps(list(new.input_file_ids)),
        new.provider,
        JobState.QUEUED.value,
        now,
        now,
        new.callback_token,
    )


JOB_COLUMNS = (
    "id, user_id, chat_id, request_message_id, thread_id, mention, kind, prompt, params,"
    " input_file_ids, provider, provider_task_id, state, status_message_id, progress, result_url,"
    " error, delivery_attempts, next_attempt_at, created_at, updated_at, callback_token,"
    " submit_started_at, lease_owner, lease_until, callback_secret, reconcile_since, stopping,"
    " error_reason"
)

#: Jobs that count against a user's limit of videos at once: unfinished ones, and cancelled
#: ones the provider may still be making (it cannot be told to stop, and would be paid).
ACTIVE = "(state IN ('queued', 'running', 'succeeded') OR stopping)"


def job_from_row(row: Any) -> Job:
    """A job from a row of `JOB_COLUMNS` (an aiosqlite Row or an asyncpg Record)."""
    return Job(
        id=row["id"],
        requester=Requester(
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            message_id=row["request_message_id"],
            thread_id=row["thread_id"],
            mention=row["mention"],
        ),
        kind=JobKind(row["kind"]),
        prompt=row["prompt"],
        provider=row["provider"],
        params=json.loads(row["params"]),
        input_file_ids=tuple(json.loads(row["input_file_ids"])),
        state=JobState(row["state"]),
        provider_task_id=row["provider_task_id"],
        status_message_id=row["status_message_id"],
        progress=row["progress"],
        result_url=row["result_url"],
        error=row["error"],
        delivery_attempts=row["delivery_attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        callback_token=row["callback_token"],
        submit_started_at=row["submit_started_at"],
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
        callback_secret=row["callback_secret"],
        reconcile_since=row["reconcile_since"],
        stopping=bool(row["stopping"]),
        reason=Reason.from_json(row["error_reason"]),
    )


class SqliteStore:
    """The job store. Open with `await SqliteStore.open(path)`; close with `close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path | str) -> SqliteStore:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # autocommit; explicit BEGINs
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA busy_timeout = 5000")
        store = cls(db)
        try:
            await store.migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> bool:
        """Whether the database answers; used by the health check."""
        try:
            await self._db.execute("SELECT 1")
        except Exception:
            return False
        return True

    # --- schema -----------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        """Apply every migration above the database's version, each atomically."""
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"database schema version {version} is newer than this bot ({len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(
                f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;"
            )

    # --- jobs -------------------------------------------------------------------------------

    async def create_job(self, new: NewJob) -> Job:
        job = await self._insert_job(new, "", ())
        assert job is not None
        return job

    async def create_job_within(self, new: NewJob, quota: Quota) -> Job | None:
        """Create the job only if the user stays within `quota`; None if it would not.

        One INSERT ... SELECT ... WHERE: SQLite runs a statement alone, so the counts and the
        insert cannot interleave with another request's.
        """
        user = new.requester.user_id
        condition = (
            f" WHERE (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {ACTIVE}) < ?"  # noqa: S608 - fixed SQL fragments only
            " AND (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created_at >= ?) < ?"
        )
        params = (user, quota.max_open, user, quota.since, quota.max_recent)
        return await self._insert_job(new, condition, params)

    async def _insert_job(
        self, new: NewJob, condition: str, condition_params: tuple[Any, ...]
    ) -> Job | None:
        cursor = await self._db.execute(
            f"INSERT INTO jobs ({INSERT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
            + condition,
            (*insert_values(new, time.time()), *condition_params),
        )
        if cursor.rowcount != 1 or cursor.lastrowid is None:
            return None
        return await self.get_job(cursor.lastrowid)

    async def get_job(self, job_id: int) -> Job | None:
        jobs = await self._select("WHERE id = ?", (job_id,))
        return jobs[0] if jobs else None

    async def job_by_callback_token(self, token: str) -> Job | None:
        jobs = await self._select("WHERE callback_token = ?", (token,))
        return jobs[0] if jobs else None

    async def count_jobs(self) -> dict[tuple[str, str], int]:
        """Jobs by (state, provider), for metrics."""
        async with self._db.execute(
            "SELECT state, provider, COUNT(*) FROM jobs GROUP BY state, provider"
        ) as cursor:
            return {(row[0], row[1]): int(row[2]) for row in await cursor.fetchall()}

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE jobs SET status_message_id = ? WHERE id = ?", (message_id, job_id)
        )

    async def mark_submit_started(self, job_id: int, provider: str, callback_secret: str) -> bool:
        """Note, before the request leaves, that `provider` may soon hold a paid task for it,
        and the secret its callbacks will carry (kept from the first request on).

        False if the job is no longer queued (cancelled meanwhile): then it must not be sent.
        One statement with the cancel's, so a cancel either sees this mark (and keeps tracking
        the provider's task) or comes first (and nothing is sent).
        """
        cursor = await self._db.execute(
            "UPDATE jobs SET submit_started_at = COALESCE(submit_started_at, ?), provider = ?,"
            " callback_secret = COALESCE(callback_secret, ?) WHERE id = ? AND state = 'queued'",
            (time.time(), provider, callback_secret, job_id),
        )
        return cursor.rowcount == 1

    async def mark_unconfirmed(self, job_id: int) -> None:
        """The submit's answer was lost: the job waits for its task to be found or adopted."""
        await self._db.execute(
            "UPDATE jobs SET reconcile_since = COALESCE(reconcile_since, ?)"
            " WHERE id = ? AND state = 'queued' AND provider_task_id IS NULL",
            (time.time(), job_id),
        )

    async def adopt_task(self, job_id: int, provider: str, task_id: str) -> Job | None:
        """Take `task_id` as the job's task, only if the job was sent to `provider` and has
        none yet; None otherwise (so a first adoption can never be overwritten)."""
        cursor = await self._db.execute(
            "UPDATE jobs SET provider_task_id = ?, reconcile_since = NULL, updated_at = ?"
            " WHERE id = ? AND provider = ? AND state = 'queued' AND provider_task_id IS NULL"
            " AND submit_started_at IS NOT NULL",
            (task_id, time.time(), job_id, provider),
        )
        return await self.get_job(job_id) if cursor.rowcount == 1 else None

    async def record_submission(self, job_id: int, provider: str, task_id: str) -> Job | None:
        """Remember which provider task serves the job: while it is queued, or cancelled while
        it was being sent (then the task is tracked until the provider stops, never delivered).
        """
        await self._db.execute(
            "UPDATE jobs SET provider = ?, provider_task_id = ?, updated_at = ?"
            " WHERE id = ? AND (state = 'queued' OR stopping)",
            (provider, task_id, time.time(), job_id),
        )
        return await self.get_job(job_id)

    async def transition(
        self,
        job_id: int,
        new_state: JobState,
        *,
        progress: int | None = None,
        result_url: str | None = None,
        error: Reason | None = None,
        video_file_id: str | None = None,
        lease_owner: str | None = None,
    ) -> Job | None:
        """Move a job to `new_state`; returns the updated job, or None if nothing changed.

        Refused (None): an illegal transition, or running -> running with no new progress.
        The UPDATE only matches the state we read, so a concurrent change makes us re-read.
        With `lease_owner`, only while that replica holds the job's lease: a delivery whose
        lease passed to another replica is not recorded as done. A job that stops generating
        loses its lease: the poller's work is over, and a delivery claims the job afresh.
        `error` is stored twice: in English (`error`) and as its key (`error_reason`).
        """
        keep_lease = new_state in GENERATING
        cancelling = new_state is JobState.CANCELLED
        while True:
            job = await self.get_job(job_id)
            if job is None or not can_transition(job.state, new_state):
                return None
            if lease_owner is not None and job.lease_owner != lease_owner:
                return None
            if new_state == job.state and (progress is None or progress == job.progress):
                return None
            cursor = await self._db.execute(
                "UPDATE jobs SET state = ?, progress = COALESCE(?, progress),"
                " result_url = COALESCE(?, result_url), error = COALESCE(?, error),"
                " error_reason = COALESCE(?, error_reason),"
                " video_file_id = COALESCE(?, video_file_id), next_attempt_at = NULL,"
                " lease_owner = CASE WHEN ? THEN lease_owner END,"
                " lease_until = CASE WHEN ? THEN lease_until ELSE 0 END,"
                # A cancel of a job a provider may hold keeps tracking its task (see `Job`).
                " stopping = (? AND state IN ('queued', 'running')"
                " AND submit_started_at IS NOT NULL),"
                " updated_at = ? WHERE id = ? AND state = ? AND (? IS NULL OR lease_owner = ?)",
                (
                    new_state.value,
                    progress,
                    result_url,
                    None if error is None else str(error),
                    None if error is None else error.to_json(),
                    video_file_id,
                    keep_lease,
                    keep_lease,
                    cancelling,
                    time.time(),
                    job_id,
                    job.state.value,
                    lease_owner,
                    lease_owner,
                ),
            )
            if cursor.rowcount == 1:
                return await self.get_job(job_id)

    async def postpone_delivery(self, job_id: int, next_attempt_at: float) -> None:
        """Count a failed delivery attempt and say when to try again."""
        await self._db.execute(
            "UPDATE jobs SET delivery_attempts = delivery_attempts + 1, next_attempt_at = ?,"
            " updated_at = ? WHERE id = ? AND state = ?",
            (next_attempt_at, time.time(), job_id, JobState.SUCCEEDED.value),
        )

    async def jobs_to_submit(self, created_before: float) -> list[Job]:
        """Queued jobs with no provider task yet (the process stopped before submitting)."""
        return await self._select(
            "WHERE state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NULL"
            " AND created_at <= ? ORDER BY id",
            (created_before,),
        )

    async def recent_jobs(self, user_id: int, limit: int = 10) -> list[Job]:
        return await self._select("WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit))

    async def open_jobs(self, user_id: int) -> list[Job]:
        """The user's jobs that can still be cancelled, newest first."""
        return await self._select(
            "WHERE user_id = ? AND state IN ('queued', 'running', 'succeeded') ORDER BY id DESC",
            (user_id,),
        )

    async def _select(self, where: str, params: Iterable[Any] = ()) -> list[Job]:
        async with self._db.execute(f"SELECT {JOB_COLUMNS} FROM jobs {where}", params) as cur:  # noqa: S608 - fixed SQL fragments only
            return [job_from_row(row) for row in await cur.fetchall()]

    # --- leases (which replica works on a job) ----------------------------------------------
    #
    # A lease is free when it has lapsed (`lease_until` 0 after a release, or in the past);
    # its owner may renew it. Each claim is one UPDATE, which SQLite runs alone.

    async def claim_jobs_to_poll(
        self, owner: str, seconds: float, *, after_id: int = 0, limit: int | None = None
    ) -> list[Job]:
        """Generating jobs with a provider task that no other replica holds, leased to `owner`
        for `seconds` (renewing the ones it holds), oldest first: at most `limit` of them with
        ids above `after_id`, so a poll cycle can page through ten thousand jobs."""
        return await self._claim(
            "(state IN ('queued', 'running') OR stopping) AND provider_task_id IS NOT NULL",
            (),
            owner,
            seconds,
            page=(after_id, -1 if limit is None else limit),
        )

    async def claim_jobs_to_reconcile(self, owner: str, seconds: float) -> list[Job]:
        """Jobs whose submit went unanswered (see `mark_unconfirmed`) that no other replica
        holds, leased to `owner`, oldest first."""
        return await self._claim(
            "state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NOT NULL",
            (),
            owner,
            seconds,
        )

    async def claim_deliveries(self, owner: str, seconds: float, due: float) -> list[Job]:
        """Finished videos not yet in the chat, next attempt due by `due`, that nobody is
        sending, leased to `owner`, oldest first. A delivery `owner` is sending itself is left
        out: its upload renews that lease."""
        return await self._claim(
            "state = 'succeeded' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
            (due,),
            owner,
            seconds,
            renew=False,
        )

    async def claim_job(self, job_id: int, owner: str, seconds: float) -> Job | None:
        """Lease one unfinished job to `owner` (or renew its lease); None if another replica
        holds it or it is finished."""
        jobs = await self._claim(
            "id = ? AND state IN ('queued', 'running', 'succeeded')", (job_id,), owner, seconds
        )
        return jobs[0] if jobs else None

    async def release_job(self, job_id: int, owner: str) -> None:
        """Give up `owner`'s lease on the job, so any replica may take it at once."""
        await self._db.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?",
            (job_id, owner),
        )

    async def release_leases(self, owner: str | None = None) -> None:
        """Give up every lease of `owner` (a replica shutting down), or of everyone (None)."""
        await self._db.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until = 0"
            " WHERE state IN ('queued', 'running', 'succeeded') AND lease_owner IS NOT NULL"
            " AND (? IS NULL OR lease_owner = ?)",
            (owner, owner),
        )

    async def _claim(
        self,
        where: str,
        params: tuple[Any, ...],
        owner: str,
        seconds: float,
        *,
        renew: bool = True,
        page: tuple[int, int] | None = None,
    ) -> list[Job]:
        """Lease the jobs matching `where` whose lease is free (or `owner`'s, with `renew`);
        `page` = (after this id, at most this many; -1 for no limit)."""
        now = time.time()
        lease = "lease_until <= ?"
        lease_params: tuple[Any, ...] = (now,)
        if renew:
            lease, lease_params = "(lease_owner = ? OR lease_until <= ?)", (owner, now)
        matching, matching_params = f"{where} AND {lease}", (*params, *lease_params)
        if page is not None:
            matching = (
                f"id IN (SELECT id FROM jobs WHERE {matching} AND id > ? ORDER BY id LIMIT ?)"  # noqa: S608 - fixed SQL fragments only
            )
            matching_params = (*matching_params, *page)
        async with self._db.execute(
            f"UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE {matching}"  # noqa: S608 - fixed SQL fragments only
            f" RETURNING {JOB_COLUMNS}",
            (owner, now + seconds, *matching_params),
        ) as cursor:
            rows = await cursor.fetchall()
        return sorted((job_from_row(row) for row in rows), key=lambda job: job.id)

    # --- limits and bans ------------------------------------------------------------------

    async def count_open_jobs(self, user_id: int) -> int:
        """Jobs of the user not yet finished (generating, or waiting for delivery), and
        cancelled ones the provider may still be making."""
        async with self._db.execute(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {ACTIVE}",  # noqa: S608 - fixed SQL fragments only
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def provider_stopped(self, job_id: int, task_id: str | None) -> bool:
        """The provider finished (or failed) the task of a cancelled job, or (`task_id` None)
        no provider got it: it no longer counts against the user's limit and is no longer
        polled. False if it was not stopping with that task."""
        cursor = await self._db.execute(
            "UPDATE jobs SET stopping = 0, lease_owner = NULL, lease_until = 0"
            " WHERE id = ? AND stopping AND provider_task_id IS ?",
            (job_id, task_id),
        )
        return cursor.rowcount == 1

    async def expire_stopping(self, created_before: float) -> int:
        """Stop waiting for the providers of cancelled jobs created before `created_before`
        (the job timeout): they no longer count or get polled. Returns how many."""
        cursor = await self._db.execute(
            "UPDATE jobs SET stopping = 0, lease_owner = NULL, lease_until = 0"
            " WHERE stopping = 1 AND created_at < ?",  # `= 1`: so SQLite uses jobs_stopping
            (created_before,),
        )
        return cursor.rowcount

    async def job_times_since(self, user_id: int, since: float) -> list[float]:
        """When the user's jobs since `since` were created, oldest first."""
        async with self._db.execute(
            "SELECT created_at FROM jobs WHERE user_id = ? AND created_at >= ? ORDER BY created_at",
            (user_id, since),
        ) as cursor:
            return [float(row[0]) for row in await cursor.fetchall()]

    async def ban(self, user_id: int, banned_by: int) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO bans (user_id, banned_by, banned_at) VALUES (?, ?, ?)",
            (user_id, banned_by, time.time()),
        )

    async def unban(self, user_id: int) -> bool:
        cursor = await self._db.execute("DELETE FROM bans WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0

    async def is_banned(self, user_id: int) -> bool:
        async with self._db.execute("SELECT 1 FROM bans WHERE user_id = ?", (user_id,)) as cursor:
            return await cursor.fetchone() is not None

    async def job_stats(self, since: float) -> list[tuple[str, str, str, int]]:
        """(day, provider, state, count) for jobs created since `since`, newest day first."""
        async with self._db.execute(
            "SELECT date(created_at, 'unixepoch') AS day, provider, state, COUNT(*) FROM jobs"
            " WHERE created_at >= ? GROUP BY day, provider, state"
            " ORDER BY day DESC, provider, state",
            (since,),
        ) as cursor:
            return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in await cursor.fetchall()]

    # --- media links and photo prompts --------------------------------------------------------

    async def add_media_link(
        self, token: str, job_id: int, file_id: str, expires_at: float
    ) -> None:
        await self._db.execute(
            "INSERT INTO media_links (token, job_id, file_id, expires_at) VALUES (?, ?, ?, ?)",
            (token, job_id, file_id, expires_at),
        )

    async def media_file_id(self, token: str, now: float) -> str | None:
        """The Telegram file behind a media link, if the link exists and has not expired."""
        async with self._db.execute(
            "SELECT file_id FROM media_links WHERE token = ? AND expires_at > ?", (token, now)
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    async def purge_expired(self, now: float, questions_before: float) -> int:
        """Delete media links expired by `now`, and photo and settings questions asked before
        `questions_before` and never answered; returns how many rows went."""
        removed = 0
        for statement, moment in (
            ("DELETE FROM media_links WHERE expires_at <= ?", now),
            ("DELETE FROM photo_prompts WHERE created_at < ?", questions_before),
            ("DELETE FROM settings_questions WHERE created_at < ?", questions_before),
        ):
            cursor = await self._db.execute(statement, (moment,))
            removed += cursor.rowcount
        return removed

    async def put_job_image(
        self, job_id: int, frame: int, file_id: str, data: bytes, mime_type: str
    ) -> None:
        """Keep the prepared image of a job's frame (replacing it); not for finished jobs."""
        await self._db.execute(
            "INSERT INTO job_images (job_id, frame, file_id, mime_type, data)"
            " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND state IN"
            " ('queued', 'running', 'succeeded')) ON CONFLICT (job_id, frame) DO UPDATE SET"
            " file_id = excluded.file_id, mime_type = excluded.mime_type, data = excluded.data",
            (job_id, frame, file_id, mime_type, data, job_id),
        )

    async def job_image(self, job_id: int, frame: int) -> tuple[bytes, str] | None:
        """The prepared image (bytes, MIME type) of a job's frame, if kept."""
        async with self._db.execute(
            "SELECT data, mime_type FROM job_images WHERE job_id = ? AND frame = ?",
            (job_id, frame),
        ) as cursor:
            row = await cursor.fetchone()
        return (bytes(row[0]), str(row[1])) if row else None

    async def media_image(self, token: str, now: float) -> tuple[bytes, str] | None:
        """The prepared image behind a media link, if the link is valid and the job unfinished."""
        async with self._db.execute(
            "SELECT i.data, i.mime_type FROM media_links m JOIN job_images i"
            " ON i.job_id = m.job_id AND i.file_id = m.file_id"
            " WHERE m.token = ? AND m.expires_at > ? LIMIT 1",
            (token, now),
        ) as cursor:
            row = await cursor.fetchone()
        return (bytes(row[0]), str(row[1])) if row else None

    async def save_photo_prompt(
        self, chat_id: int, prompt_message_id: int, file_id: str, *, user_id: int
    ) -> None:
        """Remember the photo behind the bot's "what should happen?" question, and who sent it:
        only their answer counts."""
        await self._db.execute(
            "INSERT OR REPLACE INTO photo_prompts"
            " (chat_id, prompt_message_id, file_id, created_at, user_id) VALUES (?, ?, ?, ?, ?)",
            (chat_id, prompt_message_id, file_id, time.time(), user_id),
        )

    async def take_photo_prompt(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> str | None:
        """The photo a question was about, if `user_id` sent it; taken so it starts one job."""
        async with self._db.execute(
            "DELETE FROM photo_prompts WHERE chat_id = ? AND prompt_message_id = ?"
            " AND user_id = ? RETURNING file_id",
            (chat_id, prompt_message_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    # --- preferences (settings per user and per group) ---------------------------------------

    async def get_preferences(self, owner_id: int) -> dict[str, Any]:
        """The stored settings of a user (positive id) or a group (negative id); {} if none."""
        async with self._db.execute(
            "SELECT data FROM preferences WHERE owner_id = ?", (owner_id,)
        ) as cursor:
            row = await cursor.fetchone()
        data = json.loads(row[0]) if row else {}
        return data if isinstance(data, dict) else {}

    async def put_preferences(self, owner_id: int, data: dict[str, Any]) -> None:
        """Replace the owner's settings (an empty dict forgets them)."""
        await self._db.execute(
            "INSERT INTO preferences (owner_id, data, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (owner_id) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (owner_id, json.dumps(data), time.time()),
        )

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
        await self._db.execute(
            "INSERT OR REPLACE INTO settings_questions (chat_id, prompt_message_id, user_id,"
            " owner_id, panel_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (chat_id, prompt_message_id, user_id, owner_id, panel_message_id, time.time()),
        )

    async def take_settings_question(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> tuple[int, int | None] | None:
        """(owner id, settings message id) of the question this user answered, taken once."""
        async with self._db.execute(
            "DELETE FROM settings_questions WHERE chat_id = ? AND prompt_message_id = ?"
            " AND user_id = ? RETURNING owner_id, panel_message_id",
            (chat_id, prompt_message_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return (int(row[0]), row[1]) if row else None

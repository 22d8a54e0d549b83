"""Jobs in PostgreSQL (asyncpg), for several bot replicas sharing one source of truth.

The same interface and the same migration versions as `bot.store.SqliteStore`; each version
here is the PostgreSQL spelling of the SQLite migration with the same number. The version
lives in `schema_version`, and migrations run under an advisory lock so replicas starting
together apply each one once. Replicas share the work on jobs through leases (`claim_*`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.i18n import Reason
from bot.jobs import GENERATING, Job, JobState, NewJob, Quota, can_transition
from bot.store import ACTIVE, INSERT_COLUMNS, JOB_COLUMNS, insert_values, job_from_row

_MIGRATION_LOCK = 7_263_114  # pg_advisory_xact_lock key: "one replica migrates at a time"
_QUOTA_LOCK = 7_263_115  # with a user id hash: "one request of this user counts at a time"
#: Lease times use the database's clock, so replicas on machines whose clocks differ agree.
_DB_NOW = "EXTRACT(EPOCH FROM now())::double precision"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        user_id BIGINT NOT NULL,
        chat_id BIGINT NOT NULL,
        request_message_id BIGINT NOT NULL,
        thread_id BIGINT,
        mention TEXT,
        kind TEXT NOT NULL,
        prompt TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        input_file_ids TEXT NOT NULL DEFAULT '[]',
        provider TEXT NOT NULL,
        provider_task_id TEXT,
        state TEXT NOT NULL,
        status_message_id BIGINT,
        progress INTEGER,
        result_url TEXT,
        error TEXT,
        delivery_attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION,
        video_file_id TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX jobs_open ON jobs (state) WHERE state IN ('queued', 'running', 'succeeded');
    CREATE INDEX jobs_by_user ON jobs (user_id, id);
    CREATE TABLE media_links (
        token TEXT PRIMARY KEY,
        job_id BIGINT NOT NULL REFERENCES jobs (id),
        file_id TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE photo_prompts (
        chat_id BIGINT NOT NULL,
        prompt_message_id BIGINT NOT NULL,
        file_id TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (chat_id, prompt_message_id)
    );
    """,
    """
    ALTER TABLE jobs ADD COLUMN callback_token TEXT;
    CREATE UNIQUE INDEX jobs_by_callback_token ON jobs (callback_token);
    """,
    """
    ALTER TABLE jobs ADD COLUMN submit_started_at DOUBLE PRECISION;
    """,
    """
    CREATE TABLE bans (
        user_id BIGINT PRIMARY KEY,
        banned_by BIGINT NOT NULL,
        banned_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX jobs_by_user_time ON jobs (user_id, created_at);
    """,
    """
    CREATE TABLE preferences (
        owner_id BIGINT PRIMARY KEY,
        data TEXT NOT NULL DEFAULT '{}',
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE settings_questions (
        chat_id BIGINT NOT NULL,
        prompt_message_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        owner_id BIGINT NOT NULL,
        panel_message_id BIGINT,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (chat_id, prompt_message_id)
    );
    """,
    """
    ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION NOT NULL DEFAULT 0;
    CREATE INDEX jobs_by_lease_expiry ON jobs (state, lease_until)
        WHERE state IN ('queued', 'running', 'succeeded');
    CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner)
        WHERE state IN ('queued', 'running', 'succeeded');
    """,
    """
    CREATE TABLE job_images (
        job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        frame INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (job_id, frame)
    );
    CREATE FUNCTION drop_job_images() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM job_images WHERE job_id = NEW.id;
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER job_images_dropped AFTER UPDATE OF state ON jobs
        FOR EACH ROW WHEN (NEW.state IN ('delivered', 'failed', 'cancelled'))
        EXECUTE FUNCTION drop_job_images();
    """,
    """
    ALTER TABLE jobs ADD COLUMN callback_secret TEXT;
    ALTER TABLE jobs ADD COLUMN reconcile_since DOUBLE PRECISION;
    CREATE INDEX jobs_to_reconcile ON jobs (id)
        WHERE state = 'queued' AND reconcile_since IS NOT NULL;
    """,
    """
    ALTER TABLE jobs ADD COLUMN stopping BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX jobs_stopping ON jobs (user_id) WHERE stopping;
    """,
    """
    ALTER TABLE photo_prompts ADD COLUMN user_id BIGINT;
    UPDATE photo_prompts SET user_id = chat_id WHERE chat_id > 0;
    DELETE FROM photo_prompts WHERE user_id IS NULL;
    ALTER TABLE jobs ADD COLUMN error_reason TEXT;
    """,
)

_OPEN_STATES = ("queued", "running", "succeeded")


class PostgresStore:
    """The job store on PostgreSQL. Open with `await PostgresStore.open(url)`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> PostgresStore:
        """Connect (a pool) and migrate; `schema` confines every table to one schema."""
        settings = {"search_path": schema} if schema else None
        # No connection floor: asyncpg would keep reconnecting it through a database outage, with
        # a traceback each time; connections are made as needed, and `StoreWatch` notices.
        pool = await asyncpg.create_pool(url, min_size=0, max_size=10, server_settings=settings)
        store = cls(pool)
        try:
            await store.migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def ping(self) -> bool:
        """Whether the database answers, within seconds: the health check must not hang."""
        try:
            await self._pool.fetchval("SELECT 1", timeout=5)
        except Exception:
            return False
        return True

    # --- schema -----------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self._pool.acquire() as db:
            return await _version(db)

    async def migrate(self) -> None:
        async with self._pool.acquire() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = await _version(db)
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"database schema version {version} is newer than this bot ({len(MIGRATIONS)})"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                await db.execute(script)
                await db.execute("DELETE FROM schema_version")
                await db.execute("INSERT INTO schema_version (version) VALUES ($1)", number)

    # --- jobs -------------------------------------------------------------------------------

    async def create_job(self, new: NewJob) -> Job:
        async with self._pool.acquire() as db:
            job = await _insert_job(db, new, "", ())
        assert job is not None
        return job

    async def create_job_within(self, new: NewJob, quota: Quota) -> Job | None:
        """Create the job only if the user stays within `quota`; None if it would not.

        A per-user advisory lock serialises the count-and-insert of one user's requests
        across every replica; other users' requests do not wait.
        """
        user = new.requester.user_id
        condition = (
            f" WHERE (SELECT COUNT(*) FROM jobs WHERE user_id = $15 AND {ACTIVE}) < $16"  # noqa: S608 - fixed SQL fragments only
            " AND (SELECT COUNT(*) FROM jobs WHERE user_id = $15 AND created_at >= $17) < $18"
        )
        params = (user, quota.max_open, quota.since, quota.max_recent)
        async with self._pool.acquire() as db, db.transaction():
            await db.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", _QUOTA_LOCK, str(user)
            )
            return await _insert_job(db, new, condition, params)

    async def get_job(self, job_id: int) -> Job | None:
        jobs = await self._select("WHERE id = $1", (job_id,))
        return jobs[0] if jobs else None

    async def job_by_callback_token(self, token: str) -> Job | None:
        jobs = await self._select("WHERE callback_token = $1", (token,))
        return jobs[0] if jobs else None

    async def count_jobs(self) -> dict[tuple[str, str], int]:
        rows = await self._pool.fetch(
            "SELECT state, provider, COUNT(*) FROM jobs GROUP BY state, provider"
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        await self._pool.execute(
            "UPDATE jobs SET status_message_id = $1 WHERE id = $2", message_id, job_id
        )

    async def mark_submit_started(self, job_id: int, provider: str, callback_secret: str) -> bool:
        """As `SqliteStore.mark_submit_started`: the row lock orders it with a cancel."""
        row = await self._pool.fetchrow(
            "UPDATE jobs SET submit_started_at = COALESCE(submit_started_at, $1), provider = $2,"
            " callback_secret = COALESCE(callback_secret, $3) WHERE id = $4 AND state = 'queued'"
            " RETURNING id",
            time.time(),
            provider,
            callback_secret,
            job_id,
        )
        return row is not None

    async def mark_unconfirmed(self, job_id: int) -> None:
        await self._pool.execute(
            "UPDATE jobs SET reconcile_since = COALESCE(reconcile_since, $1)"
            " WHERE id = $2 AND state = 'queued' AND provider_task_id IS NULL",
            time.time(),
            job_id,
        )

    async def adopt_task(self, job_id: int, provider: str, task_id: str) -> Job | None:
        row = await self._pool.fetchrow(
            "UPDATE jobs SET provider_task_id = $1, reconcile_since = NULL, updated_at = $2"  # noqa: S608 - fixed columns
            " WHERE id = $3 AND provider = $4 AND state = 'queued' AND provider_task_id IS NULL"
            f" AND submit_started_at IS NOT NULL RETURNING {JOB_COLUMNS}",
            task_id,
            time.time(),
            job_id,
            provider,
        )
        return job_from_row(row) if row is not None else None

    async def record_submission(self, job_id: int, provider: str, task_id: str) -> Job | None:
        await self._pool.execute(
            "UPDATE jobs SET provider = $1, provider_task_id = $2, updated_at = $3"
            " WHERE id = $4 AND (state = 'queued' OR stopping)",
            provider,
            task_id,
            time.time(),
            job_id,
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
        """Compare-and-set on the state (and lease), exactly as `SqliteStore.transition`."""
        keep_lease = new_state in GENERATING
        while True:
            job = await self.get_job(job_id)
            if job is None or not can_transition(job.state, new_state):
                return None
            if lease_owner is not None and job.lease_owner != lease_owner:
                return None
            if new_state == job.state and (progress is None or progress == job.progress):
                return None
            row = await self._pool.fetchrow(
                "UPDATE jobs SET state = $1, progress = COALESCE($2, progress),"  # noqa: S608 - fixed columns
                " result_url = COALESCE($3, result_url), error = COALESCE($4, error),"
                " error_reason = COALESCE($11, error_reason),"
                " video_file_id = COALESCE($5, video_file_id), next_attempt_at = NULL,"
                " lease_owner = CASE WHEN $9::boolean THEN lease_owner END,"
                " lease_until = CASE WHEN $9::boolean THEN lease_until ELSE 0 END,"
                " stopping = ($12::boolean AND state IN ('queued', 'running')"
                " AND submit_started_at IS NOT NULL),"
                " updated_at = $6 WHERE id = $7 AND state = $8"
                f" AND ($10::text IS NULL OR lease_owner = $10) RETURNING {JOB_COLUMNS}",
                new_state.value,
                progress,
                result_url,
                None if error is None else str(error),
                video_file_id,
                time.time(),
                job_id,
                job.state.value,
                keep_lease,
                lease_owner,
                None if error is None else error.to_json(),
                new_state is JobState.CANCELLED,
            )
            if row is not None:
                return job_from_row(row)

    async def postpone_delivery(self, job_id: int, next_attempt_at: float) -> None:
        await self._pool.execute(
            "UPDATE jobs SET delivery_attempts = delivery_attempts + 1, next_attempt_at = $1,"
            " updated_at = $2 WHERE id = $3 AND state = $4",
            next_attempt_at,
            time.time(),
            job_id,
            JobState.SUCCEEDED.value,
        )

    async def jobs_to_submit(self, created_before: float) -> list[Job]:
        return await self._select(
            "WHERE state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NULL"
            " AND created_at <= $1 ORDER BY id",
            (created_before,),
        )

    async def recent_jobs(self, user_id: int, limit: int = 10) -> list[Job]:
        return await self._select("WHERE user_id = $1 ORDER BY id DESC LIMIT $2", (user_id, limit))

    async def open_jobs(self, user_id: int) -> list[Job]:
        return await self._select(
            "WHERE user_id = $1 AND state IN ('queued', 'running', 'succeeded') ORDER BY id DESC",
            (user_id,),
        )

    async def _select(self, where: str, params: Iterable[Any] = ()) -> list[Job]:
        rows = await self._pool.fetch(f"SELECT {JOB_COLUMNS} FROM jobs {where}", *params)  # noqa: S608 - fixed SQL fragments only
        return [job_from_row(row) for row in rows]

    # --- leases (which replica works on a job) ----------------------------------------------
    #
    # The same contract as `SqliteStore`. Batch claims lock candidate rows with
    # FOR UPDATE SKIP LOCKED, so replicas claiming at once split the jobs instead of waiting
    # on each other; a row another replica claimed meanwhile is re-checked and left out.

    async def claim_jobs_to_poll(
        self, owner: str, seconds: float, *, after_id: int = 0, limit: int | None = None
    ) -> list[Job]:
        return await self._claim_batch(
            "(state IN ('queued', 'running') OR stopping) AND provider_task_id IS NOT NULL"
            " AND id > $3",
            (after_id, limit),
            owner,
            seconds,
            tail=" ORDER BY id LIMIT $4",  # LIMIT NULL: no limit
        )

    async def claim_jobs_to_reconcile(self, owner: str, seconds: float) -> list[Job]:
        return await self._claim_batch(
            "state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NOT NULL",
            (),
            owner,
            seconds,
            tail=" ORDER BY id",
        )

    async def claim_deliveries(self, owner: str, seconds: float, due: float) -> list[Job]:
        return await self._claim_batch(
            "state = 'succeeded' AND (next_attempt_at IS NULL OR next_attempt_at <= $3)",
            (due,),
            owner,
            seconds,
            renew=False,
        )

    async def claim_job(self, job_id: int, owner: str, seconds: float) -> Job | None:
        """One job: waits for a concurrent claim of the row, then re-checks, so one wins."""
        row = await self._pool.fetchrow(
            f"UPDATE jobs SET lease_owner = $1, lease_until = {_DB_NOW} + $2::double precision"  # noqa: S608 - fixed SQL fragments only
            " WHERE id = $3 AND state IN ('queued', 'running', 'succeeded')"
            f" AND (lease_owner = $1 OR lease_until <= {_DB_NOW}) RETURNING {JOB_COLUMNS}",
            owner,
            seconds,
            job_id,
        )
        return job_from_row(row) if row is not None else None

    async def release_job(self, job_id: int, owner: str) -> None:
        await self._pool.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until = 0"
            " WHERE id = $1 AND lease_owner = $2",
            job_id,
            owner,
        )

    async def release_leases(self, owner: str | None = None) -> None:
        await self._pool.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until = 0"
            " WHERE state IN ('queued', 'running', 'succeeded') AND lease_owner IS NOT NULL"
            " AND ($1::text IS NULL OR lease_owner = $1)",
            owner,
        )

    async def _claim_batch(
        self,
        where: str,
        params: tuple[Any, ...],
        owner: str,
        seconds: float,
        *,
        renew: bool = True,
        tail: str = "",
    ) -> list[Job]:
        """Lease the jobs matching `where` whose lease is free (or `owner`'s, with `renew`);
        `tail` orders and limits the candidates (ORDER BY / LIMIT)."""
        lease = f"lease_until <= {_DB_NOW}"
        if renew:
            lease = f"(lease_owner = $1 OR {lease})"
        rows = await self._pool.fetch(
            f"UPDATE jobs SET lease_owner = $1, lease_until = {_DB_NOW} + $2::double precision"  # noqa: S608 - fixed SQL fragments only
            f" WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE {where}"
            f" AND {lease}{tail} FOR UPDATE SKIP LOCKED)) RETURNING {JOB_COLUMNS}",
            owner,
            seconds,
            *params,
        )
        return sorted((job_from_row(row) for row in rows), key=lambda job: job.id)

    # --- limits and bans ------------------------------------------------------------------

    async def count_open_jobs(self, user_id: int) -> int:
        count = await self._pool.fetchval(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND {ACTIVE}",  # noqa: S608 - fixed SQL fragments only
            user_id,
        )
        return int(count or 0)

    async def provider_stopped(self, job_id: int, task_id: str | None) -> bool:
        row = await self._pool.fetchrow(
            "UPDATE jobs SET stopping = FALSE, lease_owner = NULL, lease_until = 0"
            " WHERE id = $1 AND stopping AND provider_task_id IS NOT DISTINCT FROM $2"
            " RETURNING id",
            job_id,
            task_id,
        )
        return row is not None

    async def expire_stopping(self, created_before: float) -> int:
        rows = await self._pool.fetch(
            "UPDATE jobs SET stopping = FALSE, lease_owner = NULL, lease_until = 0"
            " WHERE stopping AND created_at < $1 RETURNING id",
            created_before,
        )
        return len(rows)

    async def job_times_since(self, user_id: int, since: float) -> list[float]:
        rows = await self._pool.fetch(
            "SELECT created_at FROM jobs WHERE user_id = $1 AND created_at >= $2"
            " ORDER BY created_at",
            user_id,
            since,
        )
        return [float(row[0]) for row in rows]

    async def ban(self, user_id: int, banned_by: int) -> None:
        await self._pool.execute(
            "INSERT INTO bans (user_id, banned_by, banned_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (user_id) DO UPDATE SET banned_by = $2, banned_at = $3",
            user_id,
            banned_by,
            time.time(),
        )

    async def unban(self, user_id: int) -> bool:
        result = await self._pool.execute("DELETE FROM bans WHERE user_id = $1", user_id)
        return result != "DELETE 0"

    async def is_banned(self, user_id: int) -> bool:
        return (
            await self._pool.fetchval("SELECT 1 FROM bans WHERE user_id = $1", user_id) is not None
        )

    async def job_stats(self, since: float) -> list[tuple[str, str, str, int]]:
        rows = await self._pool.fetch(
            "SELECT to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
            " provider, state, COUNT(*) FROM jobs WHERE created_at >= $1"
            " GROUP BY day, provider, state ORDER BY day DESC, provider, state",
            since,
        )
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    # --- media links and photo prompts --------------------------------------------------------

    async def add_media_link(
        self, token: str, job_id: int, file_id: str, expires_at: float
    ) -> None:
        await self._pool.execute(
            "INSERT INTO media_links (token, job_id, file_id, expires_at) VALUES ($1, $2, $3, $4)",
            token,
            job_id,
            file_id,
            expires_at,
        )

    async def media_file_id(self, token: str, now: float) -> str | None:
        value = await self._pool.fetchval(
            "SELECT file_id FROM media_links WHERE token = $1 AND expires_at > $2", token, now
        )
        return str(value) if value is not None else None

    async def purge_expired(self, now: float, questions_before: float) -> int:
        """Delete expired media links and unanswered old questions, as the SQLite store."""
        removed = 0
        for statement, moment in (
            ("DELETE FROM media_links WHERE expires_at <= $1", now),
            ("DELETE FROM photo_prompts WHERE created_at < $1", questions_before),
            ("DELETE FROM settings_questions WHERE created_at < $1", questions_before),
        ):
            status = await self._pool.execute(statement, moment)  # "DELETE <rows>"
            removed += int(status.split()[-1])
        return removed

    async def put_job_image(
        self, job_id: int, frame: int, file_id: str, data: bytes, mime_type: str
    ) -> None:
        await self._pool.execute(
            "INSERT INTO job_images (job_id, frame, file_id, mime_type, data)"
            " SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND state"
            " IN ('queued', 'running', 'succeeded')) ON CONFLICT (job_id, frame) DO UPDATE SET"
            " file_id = excluded.file_id, mime_type = excluded.mime_type, data = excluded.data",
            job_id,
            frame,
            file_id,
            mime_type,
            data,
        )

    async def job_image(self, job_id: int, frame: int) -> tuple[bytes, str] | None:
        row = await self._pool.fetchrow(
            "SELECT data, mime_type FROM job_images WHERE job_id = $1 AND frame = $2",
            job_id,
            frame,
        )
        return (bytes(row[0]), str(row[1])) if row else None

    async def media_image(self, token: str, now: float) -> tuple[bytes, str] | None:
        row = await self._pool.fetchrow(
            "SELECT i.data, i.mime_type FROM media_links m JOIN job_images i"
            " ON i.job_id = m.job_id AND i.file_id = m.file_id"
            " WHERE m.token = $1 AND m.expires_at > $2 LIMIT 1",
            token,
            now,
        )
        return (bytes(row[0]), str(row[1])) if row else None

    async def save_photo_prompt(
        self, chat_id: int, prompt_message_id: int, file_id: str, *, user_id: int
    ) -> None:
        await self._pool.execute(
            "INSERT INTO photo_prompts (chat_id, prompt_message_id, file_id, created_at, user_id)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chat_id, prompt_message_id)"
            " DO UPDATE SET file_id = $3, created_at = $4, user_id = $5",
            chat_id,
            prompt_message_id,
            file_id,
            time.time(),
            user_id,
        )

    async def take_photo_prompt(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> str | None:
        value = await self._pool.fetchval(
            "DELETE FROM photo_prompts WHERE chat_id = $1 AND prompt_message_id = $2"
            " AND user_id = $3 RETURNING file_id",
            chat_id,
            prompt_message_id,
            user_id,
        )
        return str(value) if value is not None else None

    # --- preferences (settings per user and per group) ---------------------------------------

    async def get_preferences(self, owner_id: int) -> dict[str, Any]:
        """The stored settings of a user (positive id) or a group (negative id); {} if none."""
        raw = await self._pool.fetchval(
            "SELECT data FROM preferences WHERE owner_id = $1", owner_id
        )
        data = json.loads(raw) if raw else {}
        return data if isinstance(data, dict) else {}

    async def put_preferences(self, owner_id: int, data: dict[str, Any]) -> None:
        """Replace the owner's settings (an empty dict forgets them)."""
        await self._pool.execute(
            "INSERT INTO preferences (owner_id, data, updated_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (owner_id) DO UPDATE SET data = EXCLUDED.data,"
            " updated_at = EXCLUDED.updated_at",
            owner_id,
            json.dumps(data),
            time.time(),
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
        await self._pool.execute(
            "INSERT INTO settings_questions (chat_id, prompt_message_id, user_id, owner_id,"
            " panel_message_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (chat_id, prompt_message_id) DO UPDATE SET user_id = EXCLUDED.user_id,"
            " owner_id = EXCLUDED.owner_id, panel_message_id = EXCLUDED.panel_message_id,"
            " created_at = EXCLUDED.created_at",
            chat_id,
            prompt_message_id,
            user_id,
            owner_id,
            panel_message_id,
            time.time(),
        )

    async def take_settings_question(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> tuple[int, int | None] | None:
        """(owner id, settings message id) of the question this user answered, taken once."""
        row = await self._pool.fetchrow(
            "DELETE FROM settings_questions WHERE chat_id = $1 AND prompt_message_id = $2"
            " AND user_id = $3 RETURNING owner_id, panel_message_id",
            chat_id,
            prompt_message_id,
            user_id,
        )
        if row is None:
            return None
        panel = row["panel_message_id"]
        return int(row["owner_id"]), int(panel) if panel is not None else None


async def _insert_job(
    db: asyncpg.Connection | PoolConnectionProxy,
    new: NewJob,
    condition: str,
    condition_params: tuple[Any, ...],
) -> Job | None:
    row = await db.fetchrow(
        f"INSERT INTO jobs ({INSERT_COLUMNS}) SELECT"
        " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14"
        f"{condition} RETURNING {JOB_COLUMNS}",
        *insert_values(new, time.time()),
        *condition_params,
    )
    return job_from_row(row) if row is not None else None


async def _version(db: asyncpg.Connection | PoolConnectionProxy) -> int:
    exists = await db.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await db.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

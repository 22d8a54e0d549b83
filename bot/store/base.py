"""Every query of the job store, written once over a `Driver` (see `bot.store.protocol` for
what each method means). A dialect subclass supplies only what its database spells otherwise:
connecting and migrating, the clock, the day of a timestamp, the lock a batch claim takes, and
(PostgreSQL) a lock around the create-within-limits.
"""

from __future__ import annotations

import abc
import asyncio
import json
import time
from typing import Any, ClassVar, Self

from bot.i18n import Reason
from bot.jobs import (
    FINISHED,
    GENERATING,
    Job,
    JobKind,
    JobState,
    NewJob,
    Quota,
    Requester,
    can_transition,
)
from bot.store import credits
from bot.store.credits import Balance, Entry, NotEnough, Purchase, RefundOutcome
from bot.store.driver import Driver, Row

INSERT_COLUMNS = (
    "user_id, chat_id, request_message_id, thread_id, mention, kind, prompt, params,"
    " input_file_ids, provider, state, created_at, updated_at, callback_token, price"
)

JOB_COLUMNS = (
    "id, user_id, chat_id, request_message_id, thread_id, mention, kind, prompt, params,"
    " input_file_ids, provider, provider_task_id, state, status_message_id, progress, result_url,"
    " error, delivery_attempts, next_attempt_at, created_at, updated_at, callback_token,"
    " submit_started_at, lease_owner, lease_until, callback_secret, reconcile_since, stopping,"
    " error_reason, video_file_id, video_file_kind, price"
)

#: Jobs that count against a user's limit of videos at once: unfinished ones, and cancelled
#: ones the provider may still be making (it cannot be told to stop, and would be paid).
ACTIVE = "(state IN ('queued', 'running', 'succeeded') OR stopping)"
UNFINISHED = "state IN ('queued', 'running', 'succeeded')"

#: Seconds a health check waits for the database before calling it down.
PING_TIMEOUT = 5.0
#: Seconds an update id is remembered, so one Telegram delivers again is not handled twice:
#: Telegram keeps an unacknowledged update for at most a day.
UPDATE_WINDOW = 86400.0
#: Seconds a finished album is remembered (late parts of it are dropped, not a new request).
ALBUM_WINDOW = 3600.0


def insert_values(new: NewJob, now: float) -> tuple[Any, ...]:
    """A new job's row, in `INSERT_COLUMNS` order."""
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
        new.price,
    )


def job_from_row(row: Row) -> Job:
    """A job from a row of `JOB_COLUMNS`."""
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
        video_file_id=row["video_file_id"],
        video_file_kind=row["video_file_kind"],
        price=int(row["price"]),
    )


class SqlStore(abc.ABC):
    """The `JobStore` contract in SQL both databases understand."""

    #: Now, in seconds since the epoch, on the database's clock: leases use it, so replicas
    #: whose clocks differ still agree on when one lapses.
    NOW: ClassVar[str]
    #: The UTC day (`YYYY-MM-DD`) a job was created, for `/stats`.
    DAY: ClassVar[str]
    #: "A cancelled job a provider may still hold", spelled as the `jobs_stopping` index's
    #: condition so that the index is used.
    STOPPING: ClassVar[str]
    #: Whether a create-within-limits needs a transaction with `_lock_user` even for a free
    #: job (PostgreSQL, where replicas' statements interleave; SQLite runs one at a time).
    QUOTA_NEEDS_LOCK: ClassVar[bool] = False
    #: Whether several processes (replicas) may use this database at once: they then pace
    #: together and each holds an identity lock (PostgreSQL; a SQLite file is one process's).
    SHARED: ClassVar[bool] = False

    def __init__(self, db: Driver) -> None:
        self._db = db

    @abc.abstractmethod
    def _claimable(self, candidates: str) -> str:
        """The WHERE condition of a batch claim, given the SELECT of the candidates' ids."""

    def _holder_gone(self, replica_id: str) -> str:
        """A condition true when no live process holds the identity lock of the replica whose
        id is the SQL expression `replica_id` (SQLite: no such locks, one process per file)."""
        return "TRUE"

    async def lock_identity(self, replica_id: str) -> bool:
        """Nothing to lock by default: one process per database file."""
        return True

    async def keep_identity(self) -> bool:
        return True

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    @abc.abstractmethod
    async def migrate(self) -> None: ...

    async def _migrated(self) -> Self:
        """This store, migrated to the latest version; closed if that fails."""
        try:
            await self.migrate()
        except BaseException:
            await self.close()
            raise
        return self

    async def release_orphaned_leases(self) -> None:
        """Nothing by default: with replicas, a lease found at start is another one's."""
        return None

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self._db.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    # --- jobs -------------------------------------------------------------------------------

    async def create_job(self, new: NewJob) -> Job:
        assert new.price == 0, "a job with a price is created by create_job_within"
        job = await self._insert_job(self._db, new, None)
        assert job is not None
        return job

    async def create_job_within(self, new: NewJob, quota: Quota | None) -> Job | None:
        """One INSERT ... SELECT ... WHERE: the counts and the insert are one statement; the
        price is reserved in the same transaction."""
        return await self._create(new, quota)

    async def _create(self, new: NewJob, quota: Quota | None) -> Job | None:
        if new.price <= 0 and (quota is None or not self.QUOTA_NEEDS_LOCK):
            return await self._insert_job(self._db, new, quota)  # one statement is enough
        try:
            async with self._db.transaction() as db:
                await self._lock_user(db, new.requester.user_id)
                job = await self._insert_job(db, new, quota)
                if job is not None and new.price > 0:
                    await credits.reserve(db, job.requester.user_id, job.id, new.price)
                return job
        except NotEnough:  # rolled back: no job without its reservation
            return None

    async def _lock_user(self, db: Driver, user_id: int) -> None:
        """Nothing by default: a SQLite transaction already runs alone."""
        return None

    async def _insert_job(self, db: Driver, new: NewJob, quota: Quota | None) -> Job | None:
        condition = "TRUE"  # no quota: `create_job`
        params: tuple[Any, ...] = ()
        if quota is not None:
            user = new.requester.user_id
            condition = (
                f"(SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {ACTIVE}) < ?"  # noqa: S608 - fixed SQL fragments only
                " AND (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created_at >= ?) < ?"
            )
            params = (user, quota.max_open, user, quota.since, quota.max_recent)
        values = ", ".join("?" for _ in INSERT_COLUMNS.split(","))
        row = await db.fetchrow(
            f"INSERT INTO jobs ({INSERT_COLUMNS}) SELECT {values}"
            f" WHERE {condition} RETURNING {JOB_COLUMNS}",
            *insert_values(new, time.time()),
            *params,
        )
        return job_from_row(row) if row is not None else None

    async def get_job(self, job_id: int) -> Job | None:
        jobs = await self._select("WHERE id = ?", job_id)
        return jobs[0] if jobs else None

    async def job_by_callback_token(self, token: str) -> Job | None:
        jobs = await self._select("WHERE callback_token = ?", token)
        return jobs[0] if jobs else None

    async def count_jobs(self) -> dict[tuple[str, str], int]:
        rows = await self._db.fetch(
            "SELECT state, provider, COUNT(*) FROM jobs GROUP BY state, provider"
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE jobs SET status_message_id = ? WHERE id = ?", message_id, job_id
        )

    async def mark_submit_started(self, job_id: int, provider: str, callback_secret: str) -> bool:
        changed = await self._db.execute(
            "UPDATE jobs SET submit_started_at = COALESCE(submit_started_at, ?), provider = ?,"
            " callback_secret = COALESCE(callback_secret, ?) WHERE id = ? AND state = 'queued'",
            time.time(),
            provider,
            callback_secret,
            job_id,
        )
        return changed == 1

    async def mark_unconfirmed(self, job_id: int) -> None:
        await self._db.execute(
            "UPDATE jobs SET reconcile_since = COALESCE(reconcile_since, ?)"
            " WHERE id = ? AND state = 'queued' AND provider_task_id IS NULL",
            time.time(),
            job_id,
        )

    async def adopt_task(self, job_id: int, provider: str, task_id: str) -> Job | None:
        row = await self._db.fetchrow(
            "UPDATE jobs SET provider_task_id = ?, reconcile_since = NULL, updated_at = ?"  # noqa: S608 - fixed columns
            " WHERE id = ? AND provider = ? AND state = 'queued' AND provider_task_id IS NULL"
            f" AND submit_started_at IS NOT NULL RETURNING {JOB_COLUMNS}",
            task_id,
            time.time(),
            job_id,
            provider,
        )
        return job_from_row(row) if row is not None else None

    async def record_submission(self, job_id: int, provider: str, task_id: str) -> Job | None:
        await self._db.execute(
            "UPDATE jobs SET provider = ?, provider_task_id = ?, updated_at = ?"
            " WHERE id = ? AND (state = 'queued' OR stopping)",
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
        video_file_kind: str | None = None,
        lease_owner: str | None = None,
    ) -> Job | None:
        keep_lease = new_state in GENERATING
        while True:
            job = await self.get_job(job_id)
            if job is None or not can_transition(job.state, new_state):
                return None
            if lease_owner is not None and job.lease_owner != lease_owner:
                return None
            if new_state == job.state and (progress is None or progress == job.progress):
                return None
            row = await self._update_state(
                new_state,
                job.price > 0,
                "UPDATE jobs SET state = ?, progress = COALESCE(?, progress),"  # noqa: S608 - fixed columns
                " result_url = COALESCE(?, result_url), error = COALESCE(?, error),"
                " error_reason = COALESCE(?, error_reason),"
                " video_file_id = COALESCE(?, video_file_id),"
                " video_file_kind = COALESCE(?, video_file_kind), next_attempt_at = NULL,"
                " lease_owner = CASE WHEN CAST(? AS BOOLEAN) THEN lease_owner END,"
                " lease_until = CASE WHEN CAST(? AS BOOLEAN) THEN lease_until ELSE 0 END,"
                # A cancel of a job a provider may hold keeps tracking its task (see `Job`).
                " stopping = (CAST(? AS BOOLEAN) AND state IN ('queued', 'running')"
                " AND submit_started_at IS NOT NULL),"
                " updated_at = ? WHERE id = ? AND state = ?"
                f" AND (CAST(? AS TEXT) IS NULL OR lease_owner = ?) RETURNING {JOB_COLUMNS}",
                new_state.value,
                progress,
                result_url,
                None if error is None else str(error),
                None if error is None else error.to_json(),
                video_file_id,
                video_file_kind,
                keep_lease,
                keep_lease,
                new_state is JobState.CANCELLED,
                time.time(),
                job_id,
                job.state.value,
                lease_owner,
                lease_owner,
            )
            if row is not None:
                return job_from_row(row)

    async def _update_state(
        self, new_state: JobState, priced: bool, sql: str, *args: Any
    ) -> Row | None:
        """Run a transition's UPDATE; one that finishes a `priced` job settles its reservation
        in the same transaction: charged when delivered, released otherwise. (A job's price
        never changes, so a free one has nothing to settle.)"""
        if new_state not in FINISHED or not priced:
            return await self._db.fetchrow(sql, *args)
        async with self._db.transaction() as db:
            row = await db.fetchrow(sql, *args)
            if row is not None:
                await credits.settle(db, int(row["id"]), charge=new_state is JobState.DELIVERED)
            return row

    async def postpone_delivery(self, job_id: int, next_attempt_at: float) -> None:
        await self._db.execute(
            "UPDATE jobs SET delivery_attempts = delivery_attempts + 1, next_attempt_at = ?,"
            " updated_at = ? WHERE id = ? AND state = ?",
            next_attempt_at,
            time.time(),
            job_id,
            JobState.SUCCEEDED.value,
        )

    async def jobs_to_submit(self, created_before: float) -> list[Job]:
        return await self._select(
            "WHERE state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NULL"
            " AND created_at <= ? ORDER BY id",
            created_before,
        )

    async def recent_jobs(self, user_id: int, limit: int = 10) -> list[Job]:
        return await self._select("WHERE user_id = ? ORDER BY id DESC LIMIT ?", user_id, limit)

    async def shareable_videos(self, user_id: int, before_id: int, limit: int) -> list[Job]:
        return await self._select(
            "WHERE user_id = ? AND video_file_id IS NOT NULL AND state = 'delivered'"
            " AND id < ? ORDER BY id DESC LIMIT ?",
            user_id,
            before_id,
            limit,
        )

    async def open_jobs(self, user_id: int) -> list[Job]:
        return await self._select(f"WHERE user_id = ? AND {UNFINISHED} ORDER BY id DESC", user_id)

    async def _select(self, where: str, *params: Any) -> list[Job]:
        rows = await self._db.fetch(f"SELECT {JOB_COLUMNS} FROM jobs {where}", *params)  # noqa: S608 - fixed SQL fragments only
        return [job_from_row(row) for row in rows]

    # --- leases (which replica works on a job) ----------------------------------------------

    async def claim_jobs_to_poll(
        self, owner: str, seconds: float, *, after_id: int = 0, limit: int | None = None
    ) -> list[Job]:
        return await self._claim(
            "(state IN ('queued', 'running') OR stopping) AND provider_task_id IS NOT NULL",
            (),
            owner,
            seconds,
            after_id=after_id,
            limit=limit,
        )

    async def claim_jobs_to_reconcile(self, owner: str, seconds: float) -> list[Job]:
        return await self._claim(
            "state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NOT NULL",
            (),
            owner,
            seconds,
        )

    async def claim_deliveries(self, owner: str, seconds: float, due: float) -> list[Job]:
        return await self._claim(
            "state = 'succeeded' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
            (due,),
            owner,
            seconds,
            renew=False,
        )

    async def claim_job(self, job_id: int, owner: str, seconds: float) -> Job | None:
        row = await self._db.fetchrow(
            f"UPDATE jobs SET lease_owner = ?, lease_until = {self.NOW} + ?"  # noqa: S608 - fixed SQL fragments only
            f" WHERE id = ? AND {UNFINISHED} AND (lease_owner = ? OR lease_until <= {self.NOW})"
            f" RETURNING {JOB_COLUMNS}",
            owner,
            seconds,
            job_id,
            owner,
        )
        return job_from_row(row) if row is not None else None

    async def release_job(self, job_id: int, owner: str) -> None:
        await self._db.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?",
            job_id,
            owner,
        )

    async def release_leases(self, owner: str | None = None) -> None:
        await self._db.execute(
            f"UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE {UNFINISHED}"  # noqa: S608 - fixed SQL fragments only
            " AND lease_owner IS NOT NULL AND (CAST(? AS TEXT) IS NULL OR lease_owner = ?)",
            owner,
            owner,
        )

    async def _claim(
        self,
        where: str,
        params: tuple[Any, ...],
        owner: str,
        seconds: float,
        *,
        renew: bool = True,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Lease the jobs matching `where` whose lease is free (or `owner`'s, with `renew`),
        at most `limit` of them (oldest first) with ids above `after_id`, in one statement."""
        lease = f"lease_until <= {self.NOW}"
        lease_params: tuple[str, ...] = ()
        if renew:
            lease, lease_params = f"(lease_owner = ? OR {lease})", (owner,)
        candidates = f"SELECT id FROM jobs WHERE {where} AND {lease}"  # noqa: S608 - fixed SQL fragments only
        page: tuple[int, ...] = ()
        if after_id is not None:
            candidates, page = f"{candidates} AND id > ?", (after_id,)
        candidates += " ORDER BY id"
        if limit is not None:
            candidates, page = f"{candidates} LIMIT ?", (*page, limit)
        rows = await self._db.fetch(
            f"UPDATE jobs SET lease_owner = ?, lease_until = {self.NOW} + ?"  # noqa: S608 - fixed SQL fragments only
            f" WHERE {self._claimable(candidates)} RETURNING {JOB_COLUMNS}",
            owner,
            seconds,
            *params,
            *lease_params,
            *page,
        )
        return sorted((job_from_row(row) for row in rows), key=lambda job: job.id)

    # --- what replicas share: updates seen, heartbeats, albums, quiet times -----------------

    async def claim_update(self, update_id: int, owner: str, now: float) -> bool:
        row = await self._db.fetchrow(
            "INSERT INTO updates_seen (update_id, owner, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (update_id) DO UPDATE SET seen_at = updates_seen.seen_at"
            " WHERE updates_seen.owner = excluded.owner RETURNING update_id",
            update_id,
            owner,
            now,
        )
        return row is not None

    async def heartbeat(self, replica_id: str, started_at: float) -> None:
        await self._db.execute(
            f"INSERT INTO replicas (replica_id, started_at, seen_at) VALUES (?, ?, {self.NOW})"  # noqa: S608 - fixed SQL fragments only
            f" ON CONFLICT (replica_id) DO UPDATE SET seen_at = {self.NOW},"
            " started_at = excluded.started_at",
            replica_id,
            started_at,
        )

    async def live_replicas(self, within: float) -> list[tuple[str, float, float]]:
        rows = await self._db.fetch(
            f"SELECT replica_id, started_at, {self.NOW} - seen_at FROM replicas"  # noqa: S608 - fixed SQL fragments only
            f" WHERE seen_at > {self.NOW} - ? ORDER BY replica_id",
            within,
        )
        return [(str(r[0]), float(r[1]), float(r[2])) for r in rows]

    async def forget_replicas(
        self, stale: float, *, silent: float | None = None, replica_id: str | None = None
    ) -> list[str]:
        holder_gone = self._holder_gone("replicas.replica_id")
        rows = await self._db.fetch(
            f"DELETE FROM replicas WHERE seen_at <= {self.NOW} - ?"  # noqa: S608 - fixed SQL fragments only
            f" OR (CAST(? AS DOUBLE PRECISION) IS NOT NULL AND seen_at <= {self.NOW} - ?"
            f" AND {holder_gone}) OR replica_id = ? RETURNING replica_id",
            stale,
            silent,
            silent,
            replica_id,
        )
        gone = [str(row[0]) for row in rows]
        for owner in gone:
            await self.release_leases(owner)
        return gone

    async def add_album_part(
        self, chat_id: int, media_group_id: str, message_id: int, message: str
    ) -> bool:
        await self._db.execute(
            "INSERT INTO album_parts (chat_id, media_group_id, message_id, message)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, media_group_id, message_id) DO NOTHING",
            chat_id,
            media_group_id,
            message_id,
            message,
        )
        row = await self._db.fetchrow(
            f"INSERT INTO albums (chat_id, media_group_id, last_part_at) VALUES (?, ?, {self.NOW})"  # noqa: S608 - fixed SQL fragments only
            f" ON CONFLICT (chat_id, media_group_id) DO UPDATE SET last_part_at = {self.NOW}"
            " WHERE NOT albums.taken RETURNING chat_id",
            chat_id,
            media_group_id,
        )
        return row is not None

    async def take_album(
        self, chat_id: int, media_group_id: str, quiet: float
    ) -> list[str] | float | None:
        taken = await self._db.fetchrow(
            "UPDATE albums SET taken = TRUE WHERE chat_id = ? AND media_group_id = ?"  # noqa: S608 - fixed SQL fragments only
            f" AND NOT taken AND last_part_at <= {self.NOW} - ? RETURNING chat_id",
            chat_id,
            media_group_id,
            quiet,
        )
        if taken is None:
            left = await self._db.fetchval(
                f"SELECT last_part_at + ? - {self.NOW} FROM albums"  # noqa: S608 - fixed SQL fragments only
                " WHERE chat_id = ? AND media_group_id = ? AND NOT taken",
                quiet,
                chat_id,
                media_group_id,
            )
            return None if left is None else max(float(left), 0.0)
        rows = await self._db.fetch(
            "DELETE FROM album_parts WHERE chat_id = ? AND media_group_id = ?"
            " RETURNING message_id, message",
            chat_id,
            media_group_id,
        )
        return [str(row[1]) for row in sorted(rows, key=lambda row: int(row[0]))]

    async def take_quiet(
        self, user_id: int, kind: str, now: float, until: float
    ) -> tuple[bool, float]:
        row = await self._db.fetchrow(
            "INSERT INTO quiet (user_id, kind, until) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, kind) DO UPDATE SET prev = quiet.until,"
            " until = excluded.until WHERE quiet.until <= ? RETURNING until",
            user_id,
            kind,
            until,
            now,
        )
        if row is not None:
            return True, until
        current = await self._db.fetchval(
            "SELECT until FROM quiet WHERE user_id = ? AND kind = ?", user_id, kind
        )
        return False, float(current if current is not None else now)

    async def give_back_quiet(self, user_id: int, kind: str, until: float) -> None:
        await self._db.execute(
            "UPDATE quiet SET until = COALESCE(prev, 0), prev = NULL"
            " WHERE user_id = ? AND kind = ? AND until = ?",
            user_id,
            kind,
            until,
        )

    # --- limits and bans --------------------------------------------------------------------

    async def count_open_jobs(self, user_id: int) -> int:
        count = await self._db.fetchval(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {ACTIVE}",  # noqa: S608 - fixed SQL fragments only
            user_id,
        )
        return int(count or 0)

    async def provider_stopped(self, job_id: int, task_id: str | None) -> bool:
        changed = await self._db.execute(
            "UPDATE jobs SET stopping = FALSE, lease_owner = NULL, lease_until = 0"
            " WHERE id = ? AND stopping"
            " AND (provider_task_id = ? OR provider_task_id IS NULL AND CAST(? AS TEXT) IS NULL)",
            job_id,
            task_id,
            task_id,
        )
        return changed == 1

    async def expire_stopping(self, created_before: float) -> int:
        return await self._db.execute(
            "UPDATE jobs SET stopping = FALSE, lease_owner = NULL, lease_until = 0"  # noqa: S608 - fixed SQL fragments only
            f" WHERE {self.STOPPING} AND created_at < ?",
            created_before,
        )

    async def delivered_durations(self, provider: str, limit: int) -> list[tuple[Any, float]]:
        rows = await self._db.fetch(
            "SELECT params, created_at, updated_at FROM jobs WHERE provider = ?"
            " AND state = 'delivered' ORDER BY id DESC LIMIT ?",
            provider,
            limit,
        )
        return [
            (_model_of(row["params"]), float(row["updated_at"]) - float(row["created_at"]))
            for row in rows
        ]

    async def job_times_since(self, user_id: int, since: float) -> list[float]:
        rows = await self._db.fetch(
            "SELECT created_at FROM jobs WHERE user_id = ? AND created_at >= ? ORDER BY created_at",
            user_id,
            since,
        )
        return [float(row[0]) for row in rows]

    async def ban(self, user_id: int, banned_by: int) -> None:
        await self._db.execute(
            "INSERT INTO bans (user_id, banned_by, banned_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET banned_by = excluded.banned_by,"
            " banned_at = excluded.banned_at",
            user_id,
            banned_by,
            time.time(),
        )

    async def unban(self, user_id: int) -> bool:
        return await self._db.execute("DELETE FROM bans WHERE user_id = ?", user_id) > 0

    async def is_banned(self, user_id: int) -> bool:
        return await self._db.fetchval("SELECT 1 FROM bans WHERE user_id = ?", user_id) is not None

    async def job_stats(self, since: float) -> list[tuple[str, str, str, int]]:
        rows = await self._db.fetch(
            f"SELECT {self.DAY} AS day, provider, state, COUNT(*) FROM jobs"  # noqa: S608 - fixed SQL fragments only
            " WHERE created_at >= ? GROUP BY day, provider, state"
            " ORDER BY day DESC, provider, state",
            since,
        )
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    # --- media links and photo questions ----------------------------------------------------

    async def add_media_link(
        self, token: str, job_id: int, file_id: str, expires_at: float
    ) -> None:
        await self._db.execute(
            "INSERT INTO media_links (token, job_id, file_id, expires_at) VALUES (?, ?, ?, ?)",
            token,
            job_id,
            file_id,
            expires_at,
        )

    async def media_file_id(self, token: str, now: float) -> str | None:
        value = await self._db.fetchval(
            "SELECT file_id FROM media_links WHERE token = ? AND expires_at > ?", token, now
        )
        return str(value) if value is not None else None

    async def purge_expired(self, now: float, questions_before: float) -> int:
        removed = 0
        for statement, moment in (
            ("DELETE FROM media_links WHERE expires_at <= ?", now),
            ("DELETE FROM photo_prompts WHERE created_at < ?", questions_before),
            ("DELETE FROM settings_questions WHERE created_at < ?", questions_before),
        ):
            removed += await self._db.execute(statement, moment)
        # What replicas share, kept for a bounded time: not worth a log line.
        for statement, moment in (
            ("DELETE FROM updates_seen WHERE seen_at < ?", now - UPDATE_WINDOW),
            ("DELETE FROM quiet WHERE until < ?", now),
            ("DELETE FROM albums WHERE last_part_at < ?", now - ALBUM_WINDOW),
            ("DELETE FROM pace WHERE tat < ?", now - ALBUM_WINDOW),
        ):
            await self._db.execute(statement, moment)
        await self._db.execute(  # parts of albums that are gone (left by a failed take)
            "DELETE FROM album_parts WHERE NOT EXISTS (SELECT 1 FROM albums a"
            " WHERE a.chat_id = album_parts.chat_id"
            " AND a.media_group_id = album_parts.media_group_id)"
        )
        return removed

    async def put_job_image(
        self, job_id: int, frame: int, file_id: str, data: bytes, mime_type: str
    ) -> None:
        await self._db.execute(
            "INSERT INTO job_images (job_id, frame, file_id, mime_type, data)"  # noqa: S608 - fixed SQL fragments only
            f" SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND {UNFINISHED})"
            " ON CONFLICT (job_id, frame) DO UPDATE SET file_id = excluded.file_id,"
            " mime_type = excluded.mime_type, data = excluded.data",
            job_id,
            frame,
            file_id,
            mime_type,
            data,
            job_id,
        )

    async def job_image(self, job_id: int, frame: int) -> tuple[bytes, str] | None:
        row = await self._db.fetchrow(
            "SELECT data, mime_type FROM job_images WHERE job_id = ? AND frame = ?", job_id, frame
        )
        return (bytes(row[0]), str(row[1])) if row is not None else None

    async def media_image(self, token: str, now: float) -> tuple[bytes, str] | None:
        row = await self._db.fetchrow(
            "SELECT i.data, i.mime_type FROM media_links m JOIN job_images i"
            " ON i.job_id = m.job_id AND i.file_id = m.file_id"
            " WHERE m.token = ? AND m.expires_at > ? LIMIT 1",
            token,
            now,
        )
        return (bytes(row[0]), str(row[1])) if row is not None else None

    async def save_photo_prompt(
        self, chat_id: int, prompt_message_id: int, file_id: str, *, user_id: int
    ) -> None:
        await self._db.execute(
            "INSERT INTO photo_prompts (chat_id, prompt_message_id, file_id, created_at, user_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id, prompt_message_id) DO UPDATE SET"
            " file_id = excluded.file_id, created_at = excluded.created_at,"
            " user_id = excluded.user_id",
            chat_id,
            prompt_message_id,
            file_id,
            time.time(),
            user_id,
        )

    async def take_photo_prompt(
        self, chat_id: int, prompt_message_id: int, user_id: int
    ) -> str | None:
        value = await self._db.fetchval(
            "DELETE FROM photo_prompts WHERE chat_id = ? AND prompt_message_id = ?"
            " AND user_id = ? RETURNING file_id",
            chat_id,
            prompt_message_id,
            user_id,
        )
        return str(value) if value is not None else None

    # --- preferences (settings per user and per group) --------------------------------------

    async def get_preferences(self, owner_id: int) -> dict[str, Any]:
        raw = await self._db.fetchval("SELECT data FROM preferences WHERE owner_id = ?", owner_id)
        data = json.loads(raw) if raw else {}
        return data if isinstance(data, dict) else {}

    async def put_preferences(self, owner_id: int, data: dict[str, Any]) -> None:
        await self._db.execute(
            "INSERT INTO preferences (owner_id, data, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (owner_id) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
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
        await self._db.execute(
            "INSERT INTO settings_questions (chat_id, prompt_message_id, user_id, owner_id,"
            " panel_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, prompt_message_id) DO UPDATE SET user_id = excluded.user_id,"
            " owner_id = excluded.owner_id, panel_message_id = excluded.panel_message_id,"
            " created_at = excluded.created_at",
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
        row = await self._db.fetchrow(
            "DELETE FROM settings_questions WHERE chat_id = ? AND prompt_message_id = ?"
            " AND user_id = ? RETURNING owner_id, panel_message_id",
            chat_id,
            prompt_message_id,
            user_id,
        )
        if row is None:
            return None
        panel = row[1]
        return int(row[0]), int(panel) if panel is not None else None

    # --- credits (see `bot.store.credits` and `bot.billing`) --------------------------------

    async def open_account(self, user_id: int, *, welcome: int = 0, daily: int = 0) -> None:
        async with self._db.transaction() as db:
            await credits.open_account(db, user_id, welcome)
            if daily > 0:
                day = time.strftime("%Y-%m-%d", time.gmtime())
                have = (await credits.balance(db, user_id)).available
                if have < daily:
                    await credits.credit(
                        db, user_id, "daily", daily - have, f"daily:{user_id}:{day}"
                    )

    async def credit_balance(self, user_id: int) -> Balance:
        return await credits.balance(self._db, user_id)

    async def credit_entries(self, user_id: int, limit: int = 5) -> list[Entry]:
        return await credits.entries(self._db, user_id, limit)

    async def credit_purchase(
        self, user_id: int, credit_count: int, stars: int, charge_id: str
    ) -> bool:
        async with self._db.transaction() as db:
            await credits.open_account(db, user_id, 0)
            return await credits.credit(
                db,
                user_id,
                "purchase",
                credit_count,
                f"purchase:{charge_id}",
                payment_id=charge_id,
                stars=stars,
            )

    async def grant_credits(
        self, user_id: int, amount: int, key: str, actor_id: int, note: str | None = None
    ) -> bool | None:
        try:
            async with self._db.transaction() as db:
                await credits.open_account(db, user_id, 0)
                return await credits.credit(
                    db, user_id, "grant", amount, key, actor_id=actor_id, note=note
                )
        except NotEnough:
            return None

    async def purchase(self, charge_id: str) -> Purchase | None:
        return await credits.purchase(self._db, charge_id)

    async def take_back_purchase(self, charge_id: str, actor_id: int) -> RefundOutcome:
        try:
            async with self._db.transaction() as db:
                return await credits.take_back_purchase(db, charge_id, actor_id)
        except NotEnough:  # rolled back: nothing taken
            bought = await credits.purchase(self._db, charge_id)
            user_id = bought.user_id if bought is not None else 0
            return "spent", bought, (await credits.balance(self._db, user_id)).available

    async def undo_take_back(self, bought: Purchase, attempt: int, actor_id: int) -> None:
        async with self._db.transaction() as db:
            await credits.undo_take_back(db, bought, attempt, actor_id)

    async def credit_totals(self) -> dict[str, tuple[int, int]]:
        return await credits.totals(self._db)

    async def credit_stats(self, since: float) -> list[tuple[str, str, int, int]]:
        day = self.DAY
        return await credits.by_day(self._db, day, since)

    async def audit_credits(self) -> list[str]:
        return await credits.audit(self._db, frozenset(state.value for state in FINISHED))


def _model_of(params: str) -> Any:
    """The `model` parameter of a stored job's params (None when unset or unreadable)."""
    try:
        value = json.loads(params)
    except ValueError:
        return None
    return value.get("model") if isinstance(value, dict) else None

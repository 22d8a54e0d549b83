"""The store contract (SQLite and PostgreSQL): migrations and atomic state transitions."""

import asyncio
import math
import sqlite3
import time

import asyncpg
import pytest

from bot.i18n import Reason
from bot.jobs import JobKind, JobState, NewJob, Quota, Requester
from bot.store import PostgresStore, SqliteStore, migrations
from bot.store.driver import numbered
from tests.stores import open_store, postgres_schema, postgres_url


def new_job(user_id=1, prompt="a fox"):
    return NewJob(
        requester=Requester(user_id=user_id, chat_id=user_id, message_id=10),
        kind=JobKind.TEXT,
        prompt=prompt,
        provider="sandbox",
    )


async def test_fresh_database_is_at_latest_version_in_wal_mode(tmp_path):
    store = await SqliteStore.open(tmp_path / "sub" / "bot.db")
    assert await store.schema_version() == len(migrations.SQLITE)
    await store.close()
    db = sqlite3.connect(tmp_path / "sub" / "bot.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


async def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    job = await store.create_job(new_job())
    await store.close()
    store = await SqliteStore.open(tmp_path / "bot.db")
    assert (await store.get_job(job.id)) == job
    assert await store.schema_version() == len(migrations.SQLITE)
    await store.close()


async def test_upgrades_an_older_database(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 0")
    db.close()
    store = await SqliteStore.open(path)
    assert await store.schema_version() == len(migrations.SQLITE)
    await store.close()


async def test_upgrade_keeps_private_photo_questions_for_their_chat_and_drops_group_ones(
    tmp_path,
):
    """Before the migration that added it, a question did not record who sent the photo: in a
    private chat that is the chat's user; in a group nobody can tell, so those are dropped."""
    path = tmp_path / "old.db"
    before = next(i for i, script in enumerate(migrations.SQLITE) if "photo_prompts ADD" in script)
    db = sqlite3.connect(path)
    for number, script in enumerate(migrations.SQLITE[:before], start=1):
        db.executescript(f"{script}; PRAGMA user_version = {number};")
    db.execute("INSERT INTO photo_prompts VALUES (1001, 5, 'mine', 0)")
    db.execute("INSERT INTO photo_prompts VALUES (-100, 6, 'theirs', 0)")
    db.commit()
    db.close()
    store = await SqliteStore.open(path)
    assert await store.take_photo_prompt(1001, 5, user_id=1001) == "mine"
    assert await store.take_photo_prompt(-100, 6, user_id=1001) is None
    await store.close()


async def test_postgres_upgrades_an_older_schema_and_keeps_its_rows():
    """The same upgrade on PostgreSQL: a schema a released bot left at an older version."""
    before = next(
        i for i, script in enumerate(migrations.POSTGRES) if "photo_prompts ADD" in script
    )
    async with postgres_schema() as (url, schema):
        db = await asyncpg.connect(url, server_settings={"search_path": schema})
        try:
            for script in migrations.POSTGRES[:before]:
                await db.execute(script)
            await db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            await db.execute("INSERT INTO schema_version VALUES ($1)", before)
            await db.execute("INSERT INTO photo_prompts VALUES (1001, 5, 'mine', 0)")
            await db.execute("INSERT INTO photo_prompts VALUES (-100, 6, 'theirs', 0)")
        finally:
            await db.close()
        store = await PostgresStore.open(url, schema=schema)
        try:
            assert await store.schema_version() == len(migrations.POSTGRES)
            assert await store.take_photo_prompt(1001, 5, user_id=1001) == "mine"
            assert await store.take_photo_prompt(-100, 6, user_id=1001) is None
        finally:
            await store.close()


def test_queries_are_numbered_for_postgres_outside_quoted_text():
    sql = "UPDATE t SET a = ?, b = 'why?' WHERE c = ? AND d IN ('x', ?)"
    assert numbered(sql) == "UPDATE t SET a = $1, b = 'why?' WHERE c = $2 AND d IN ('x', $3)"


async def test_refuses_a_database_from_a_newer_bot(tmp_path):
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(migrations.SQLITE) + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        await SqliteStore.open(path)


async def test_job_round_trip(store):
    job = await store.create_job(
        NewJob(
            requester=Requester(user_id=5, chat_id=-100, message_id=7, thread_id=3, mention="@ann"),
            kind=JobKind.IMAGE,
            prompt="she smiles",
            provider="apiframe",
            params={"duration": 5},
            input_file_ids=("file-1",),
        )
    )
    assert job.state is JobState.QUEUED
    assert job.requester == Requester(5, -100, 7, 3, "@ann")
    assert job.params == {"duration": 5}
    assert job.input_file_ids == ("file-1",)
    assert job.provider_task_id is None


async def test_transitions_follow_the_state_machine(store):
    job = await store.create_job(new_job())
    running = await store.transition(job.id, JobState.RUNNING, progress=10)
    assert running is not None and running.progress == 10
    assert await store.transition(job.id, JobState.RUNNING, progress=10) is None  # no news
    assert (await store.transition(job.id, JobState.RUNNING, progress=40)).progress == 40
    done = await store.transition(job.id, JobState.SUCCEEDED, result_url="https://v/1.mp4")
    assert done.state is JobState.SUCCEEDED and done.result_url == "https://v/1.mp4"
    assert await store.transition(job.id, JobState.SUCCEEDED) is None  # finished twice
    assert await store.transition(job.id, JobState.RUNNING, progress=50) is None  # late
    assert (await store.transition(job.id, JobState.DELIVERED)).state is JobState.DELIVERED
    assert await store.transition(job.id, JobState.DELIVERED) is None


async def test_cancelled_job_cannot_be_resurrected(store):
    job = await store.create_job(new_job())
    await store.transition(job.id, JobState.CANCELLED)
    for state in (JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.DELIVERED):
        assert await store.transition(job.id, state) is None
    assert (await store.get_job(job.id)).state is JobState.CANCELLED


async def test_concurrent_finished_reports_apply_once(store):
    job = await store.create_job(new_job())
    results = await asyncio.gather(
        *(store.transition(job.id, JobState.SUCCEEDED, result_url="u") for _ in range(10))
    )
    assert sum(result is not None for result in results) == 1


async def test_work_queries(store):
    a = await store.create_job(new_job(prompt="a"))
    b = await store.create_job(new_job(prompt="b"))
    c = await store.create_job(new_job(prompt="c"))
    await store.record_submission(b.id, "sandbox", "task-b")
    await store.record_submission(c.id, "sandbox", "task-c")
    await store.transition(c.id, JobState.SUCCEEDED, result_url="u")
    assert [j.id for j in await store.jobs_to_submit(created_before=time.time())] == [a.id]
    assert await store.jobs_to_submit(created_before=a.created_at - 1) == []
    assert [j.id for j in await store.claim_jobs_to_poll("r", 60)] == [b.id]
    assert [j.id for j in await store.claim_deliveries("r", 60, due=0)] == [c.id]
    await store.release_job(c.id, "r")
    await store.postpone_delivery(c.id, next_attempt_at=100.0)
    assert await store.claim_deliveries("r", 60, due=50) == []
    retry = await store.claim_deliveries("r", 60, due=150)
    assert [j.id for j in retry] == [c.id] and retry[0].delivery_attempts == 1


async def test_unconfirmed_submit_is_reconciled_never_resubmitted(store):
    job = await store.create_job(new_job())
    await store.mark_submit_started(job.id, "kling", "secret-1")
    await store.mark_submit_started(job.id, "apiframe", "secret-2")  # failed over
    started = await store.get_job(job.id)
    assert started.provider == "apiframe" and started.callback_secret == "secret-1"
    assert started.reconcile_since is None
    await store.mark_unconfirmed(job.id)
    assert await store.jobs_to_submit(created_before=time.time()) == []  # never sent again
    assert [j.id for j in await store.claim_jobs_to_reconcile("r1", 60)] == [job.id]
    assert await store.claim_jobs_to_reconcile("r2", 60) == []  # r1 holds its lease
    assert await store.claim_jobs_to_poll("r1", 60) == []  # no task to poll yet
    assert await store.adopt_task(job.id, "kling", "t-1") is None  # not the job's provider
    adopted = await store.adopt_task(job.id, "apiframe", "t-1")
    assert adopted.provider_task_id == "t-1" and adopted.reconcile_since is None
    assert await store.adopt_task(job.id, "apiframe", "t-2") is None  # the first one stays
    assert await store.claim_jobs_to_reconcile("r1", 60) == []
    assert [j.provider_task_id for j in await store.claim_jobs_to_poll("r1", 60)] == ["t-1"]


async def test_only_a_job_sent_and_without_a_task_can_be_adopted_or_unconfirmed(store):
    unsent = await store.create_job(new_job())
    assert await store.adopt_task(unsent.id, "sandbox", "t") is None  # never submitted
    sent = await store.create_job(new_job())
    await store.mark_submit_started(sent.id, "sandbox", "s")
    await store.record_submission(sent.id, "sandbox", "known")
    await store.mark_unconfirmed(sent.id)  # its answer came: nothing to reconcile
    assert (await store.get_job(sent.id)).reconcile_since is None
    cancelled = await store.create_job(new_job())
    await store.mark_submit_started(cancelled.id, "sandbox", "s")
    await store.mark_unconfirmed(cancelled.id)
    await store.transition(cancelled.id, JobState.CANCELLED)
    assert await store.claim_jobs_to_reconcile("r", 60) == []
    assert await store.adopt_task(cancelled.id, "sandbox", "t") is None


async def test_record_submission_only_while_queued(store):
    job = await store.create_job(new_job())
    await store.transition(job.id, JobState.CANCELLED)
    updated = await store.record_submission(job.id, "sandbox", "late-task")
    assert updated.provider_task_id is None


async def test_recent_and_open_jobs_are_per_user(store):
    mine = [await store.create_job(new_job(user_id=1, prompt=str(i))) for i in range(12)]
    await store.create_job(new_job(user_id=2))
    await store.transition(mine[-1].id, JobState.FAILED, error=Reason.of("unavailable"))
    recent = await store.recent_jobs(1, limit=10)
    assert [j.id for j in recent] == [j.id for j in reversed(mine)][:10]
    assert [j.id for j in await store.open_jobs(1)] == [j.id for j in reversed(mine[:-1])]


async def deliver(store, job, file_id, kind="video"):
    await store.transition(job.id, JobState.SUCCEEDED, result_url="https://cdn.example/v.mp4")
    return await store.transition(
        job.id, JobState.DELIVERED, video_file_id=file_id, video_file_kind=kind
    )


async def test_shareable_videos_are_the_owners_delivered_files_newest_first(store):
    mine = [await store.create_job(new_job(user_id=1, prompt=str(i))) for i in range(5)]
    theirs = await store.create_job(new_job(user_id=2))
    for n, job in enumerate(mine[:4]):
        await deliver(store, job, f"VIDEO-{n}", "document" if n == 1 else "video")
    await deliver(store, theirs, "VIDEO-theirs")
    await store.transition(mine[3].id, JobState.SUCCEEDED)  # already delivered: no change
    linked = await store.create_job(new_job(user_id=1))  # went out as a link: no file
    await store.transition(linked.id, JobState.SUCCEEDED, result_url="https://cdn.example/b")
    await store.transition(linked.id, JobState.DELIVERED)

    first = await store.shareable_videos(1, 2**63 - 1, 2)
    assert [j.id for j in first] == [mine[3].id, mine[2].id]
    rest = await store.shareable_videos(1, first[-1].id, 10)
    assert [j.id for j in rest] == [mine[1].id, mine[0].id]  # mine[4] is not delivered
    assert (rest[0].video_file_id, rest[0].video_file_kind) == ("VIDEO-1", "document")
    assert rest[0].delivered_file is not None and rest[0].delivered_file.kind == "document"
    assert [j.id for j in await store.shareable_videos(2, 2**63 - 1, 10)] == [theirs.id]


async def test_delivered_durations_are_the_providers_newest_deliveries(store):
    def job(provider, model):
        return NewJob(
            requester=Requester(user_id=1, chat_id=1, message_id=1),
            kind=JobKind.TEXT,
            prompt="x",
            provider=provider,
            params={"model": model} if model else {},
        )

    made = [
        await store.create_job(job(provider, model))
        for provider, model in [
            ("kling", "kling-v1"),
            ("kling", None),
            ("aimlapi", "kling-v1"),
            ("kling", "kling-v2-6"),
            ("kling", "kling-v1"),
        ]
    ]
    for done in made[:-1]:
        await store.transition(done.id, JobState.SUCCEEDED, result_url="https://v/1.mp4")
        await store.transition(done.id, JobState.DELIVERED)
    await store.transition(made[-1].id, JobState.FAILED, error=Reason.of("unavailable"))
    rows = await store.delivered_durations("kling", 2)
    assert [model for model, _ in rows] == ["kling-v2-6", None]  # newest first, delivered only
    assert all(0 <= seconds < 60 for _, seconds in rows)
    assert [m for m, _ in await store.delivered_durations("kling", 10)] == [
        "kling-v2-6",
        None,
        "kling-v1",
    ]


async def test_media_links_expire(store):
    job = await store.create_job(new_job())
    await store.add_media_link("tok", job.id, "file-1", expires_at=100.0)
    assert await store.media_file_id("tok", now=99.0) == "file-1"
    assert await store.media_file_id("tok", now=100.0) is None
    assert await store.media_file_id("other", now=0.0) is None


FINISHING = {  # the way to each finished state
    JobState.DELIVERED: (JobState.RUNNING, JobState.SUCCEEDED, JobState.DELIVERED),
    JobState.FAILED: (JobState.RUNNING, JobState.FAILED),
    JobState.CANCELLED: (JobState.CANCELLED,),
}


@pytest.mark.parametrize("final", list(FINISHING), ids=lambda state: state.value)
async def test_job_images_are_kept_until_the_job_finishes(store, final):
    job = await store.create_job(new_job())
    await store.put_job_image(job.id, 0, "file-1", b"\xff\xd8start", "image/jpeg")
    await store.put_job_image(job.id, 1, "file-2", b"\x89PNG end", "image/png")
    await store.put_job_image(job.id, 0, "file-1", b"\xff\xd8again", "image/jpeg")  # replaces
    assert await store.job_image(job.id, 0) == (b"\xff\xd8again", "image/jpeg")
    assert await store.job_image(job.id, 2) is None
    await store.add_media_link("tok", job.id, "file-2", expires_at=100.0)
    assert await store.media_image("tok", now=99.0) == (b"\x89PNG end", "image/png")
    assert await store.media_image("tok", now=100.0) is None
    assert await store.media_image("other", now=0.0) is None

    *before, last = FINISHING[final]
    for state in before:
        await store.transition(job.id, state, progress=50 if state is JobState.RUNNING else None)
        assert await store.job_image(job.id, 1) == (b"\x89PNG end", "image/png")
    await store.transition(job.id, last)
    assert await store.job_image(job.id, 0) is None and await store.job_image(job.id, 1) is None
    assert await store.media_image("tok", now=0.0) is None
    await store.put_job_image(job.id, 0, "file-1", b"late", "image/jpeg")  # finished: not kept
    assert await store.job_image(job.id, 0) is None


async def test_job_images_are_per_job(store):
    first, second = await store.create_job(new_job()), await store.create_job(new_job())
    await store.put_job_image(first.id, 0, "file-1", b"one", "image/jpeg")
    await store.put_job_image(second.id, 0, "file-1", b"two", "image/png")
    await store.transition(first.id, JobState.CANCELLED)
    assert await store.job_image(second.id, 0) == (b"two", "image/png")


async def test_purge_removes_expired_links_and_unanswered_questions_only(store):
    job = await store.create_job(new_job())
    await store.add_media_link("old", job.id, "file-1", expires_at=100.0)
    await store.add_media_link("new", job.id, "file-2", expires_at=200.0)
    await store.save_photo_prompt(1, 55, "file-9", user_id=1)
    await store.save_settings_question(-5, 70, user_id=7, owner_id=-5, panel_message_id=69)
    asked = time.time()
    assert await store.purge_expired(now=150.0, questions_before=asked - 3600) == 1
    assert await store.media_file_id("old", now=0.0) is None  # the row is gone
    assert await store.media_file_id("new", now=0.0) == "file-2"
    assert await store.purge_expired(now=150.0, questions_before=asked + 1) == 2
    assert await store.take_photo_prompt(1, 55, user_id=1) is None
    assert await store.take_settings_question(-5, 70, user_id=7) is None


async def test_photo_prompt_is_taken_once_and_only_by_its_sender(store):
    await store.save_photo_prompt(-7, 55, "file-9", user_id=1)
    assert await store.take_photo_prompt(-7, 55, user_id=2) is None
    assert await store.take_photo_prompt(-7, 55, user_id=1) == "file-9"
    assert await store.take_photo_prompt(-7, 55, user_id=1) is None


async def test_a_failure_reason_is_kept_as_its_key_and_in_english(store):
    job = await store.create_job(new_job())
    reason = Reason.of("timed_out", minutes=30)
    failed = await store.transition(job.id, JobState.FAILED, error=reason)
    assert failed.reason == reason and failed.error == "it did not finish within 30 minutes"
    assert (await store.get_job(job.id)).reason == reason


async def test_preferences_round_trip_per_owner(store):
    assert await store.get_preferences(7) == {}
    await store.put_preferences(7, {"model": "kling-v1-6", "duration": 10})
    await store.put_preferences(-100, {"aspect_ratio": "9:16"})
    assert await store.get_preferences(7) == {"model": "kling-v1-6", "duration": 10}
    await store.put_preferences(7, {"duration": 5})
    assert await store.get_preferences(7) == {"duration": 5}
    assert await store.get_preferences(-100) == {"aspect_ratio": "9:16"}


async def test_settings_question_is_taken_once_and_only_by_its_asker(store):
    await store.save_settings_question(-5, 70, user_id=7, owner_id=-5, panel_message_id=69)
    assert await store.take_settings_question(-5, 70, user_id=8) is None
    assert await store.take_settings_question(-5, 70, user_id=7) == (-5, 69)
    assert await store.take_settings_question(-5, 70, user_id=7) is None


def test_both_backends_have_the_same_migrations():
    assert len(migrations.POSTGRES) == len(migrations.SQLITE)


async def test_quota_refuses_past_open_and_recent_limits(store):
    quota = Quota(max_open=2, max_recent=3, since=0.0)
    first = await store.create_job_within(new_job(), quota)
    assert first is not None and first.state is JobState.QUEUED
    assert await store.create_job_within(new_job(), quota) is not None
    assert await store.create_job_within(new_job(), quota) is None  # two open already
    assert await store.create_job_within(new_job(user_id=2), quota) is not None  # per user
    await store.transition(first.id, JobState.CANCELLED)
    assert await store.create_job_within(new_job(), quota) is not None  # an open slot again
    await store.transition(first.id + 1, JobState.CANCELLED)
    assert await store.create_job_within(new_job(), quota) is None  # three since `since`
    later = Quota(max_open=2, max_recent=3, since=time.time() + 1)
    assert await store.create_job_within(new_job(), later) is not None


async def test_concurrent_requests_never_overshoot_the_quota(store):
    quota = Quota(max_open=3, max_recent=100, since=0.0)
    created = await asyncio.gather(*(store.create_job_within(new_job(), quota) for _ in range(12)))
    assert sum(job is not None for job in created) == 3
    assert await store.count_open_jobs(1) == 3


async def test_a_users_second_request_waits_for_the_first_to_commit_on_postgres(tmp_path):
    """Deterministic, not a race that may or may not happen: the first request's transaction
    is held open right after its insert (its row not yet visible to anyone), and the second
    request of the same user is started. It must wait for the first (blocked in PostgreSQL by
    it) and then count its row; without that, it counts no open job and makes a second."""
    async with open_store("postgres", tmp_path) as pg:
        quota = Quota(max_open=1, max_recent=100, since=0.0)
        inserted, release = asyncio.Event(), asyncio.Event()
        first_pid: list[int] = []
        insert = pg._insert_job

        async def insert_then_hold(db, new, q):
            job = await insert(db, new, q)
            if not first_pid:
                first_pid.append(await db.fetchval("SELECT pg_backend_pid()"))
                inserted.set()
                await release.wait()
            return job

        pg._insert_job = insert_then_hold
        first = asyncio.create_task(pg.create_job_within(new_job(), quota))
        await inserted.wait()
        second = asyncio.create_task(pg.create_job_within(new_job(), quota))
        admin = await asyncpg.connect(postgres_url())
        try:
            async with asyncio.timeout(10):
                while not second.done() and not await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    first_pid[0],
                ):
                    await asyncio.wait({second}, timeout=0.01)  # until it waits, or is done
        finally:
            await admin.close()
        release.set()
        created = await asyncio.gather(first, second)
        assert [job is not None for job in created] == [True, False]
        assert await pg.count_open_jobs(1) == 1


# --- cancelled jobs a provider may still be making ----------------------------------------


async def test_cancel_after_sending_keeps_tracking_the_task_and_counting_it(store):
    quota = Quota(max_open=1, max_recent=100, since=0.0)
    job = await store.create_job(new_job())
    assert await store.mark_submit_started(job.id, "sandbox", "s")
    await store.record_submission(job.id, "apiframe", "task-1")
    cancelled = await store.transition(job.id, JobState.CANCELLED)
    assert cancelled.state is JobState.CANCELLED and cancelled.stopping
    assert await store.open_jobs(1) == []  # nothing left to cancel ...
    assert await store.count_open_jobs(1) == 1  # ... but it still counts
    assert await store.create_job_within(new_job(), quota) is None
    assert [j.id for j in await store.claim_jobs_to_poll("r", 60)] == [job.id]  # still polled
    assert await store.transition(job.id, JobState.SUCCEEDED, result_url="u") is None

    assert not await store.provider_stopped(job.id, "another-task")
    assert await store.provider_stopped(job.id, "task-1")
    assert not await store.provider_stopped(job.id, "task-1")  # once
    assert not (await store.get_job(job.id)).stopping
    assert await store.count_open_jobs(1) == 0
    assert await store.claim_jobs_to_poll("r", 60) == []
    assert await store.create_job_within(new_job(), quota) is not None


async def test_cancel_before_sending_stops_the_submit_and_frees_the_slot(store):
    job = await store.create_job(new_job())
    cancelled = await store.transition(job.id, JobState.CANCELLED)
    assert not cancelled.stopping
    assert not await store.mark_submit_started(
        job.id, "sandbox", "s"
    )  # the submitter must not send it
    assert await store.count_open_jobs(1) == 0
    # Cancelled between two attempts: the submitter frees the slot no provider holds.
    retried = await store.create_job(new_job())
    assert await store.mark_submit_started(retried.id, "sandbox", "s")
    assert (await store.transition(retried.id, JobState.CANCELLED)).stopping
    assert not await store.mark_submit_started(retried.id, "sandbox", "s")
    assert await store.provider_stopped(retried.id, None)
    assert await store.count_open_jobs(1) == 0


async def test_task_id_that_comes_back_after_the_cancel_is_kept(store):
    job = await store.create_job(new_job())
    assert await store.mark_submit_started(job.id, "sandbox", "s")
    assert (await store.transition(job.id, JobState.CANCELLED)).stopping
    recorded = await store.record_submission(job.id, "apiframe", "task-late")
    assert recorded.provider_task_id == "task-late" and recorded.state is JobState.CANCELLED
    assert [j.id for j in await store.claim_jobs_to_poll("r", 60)] == [job.id]
    plain = await store.create_job(new_job())  # a cancelled job nobody sent records nothing
    await store.transition(plain.id, JobState.CANCELLED)
    assert (await store.record_submission(plain.id, "apiframe", "t")).provider_task_id is None


async def test_stopping_jobs_expire_with_the_job_timeout(store):
    job = await store.create_job(new_job())
    await store.mark_submit_started(job.id, "sandbox", "s")
    await store.transition(job.id, JobState.CANCELLED)
    assert await store.expire_stopping(created_before=job.created_at - 1) == 0
    assert await store.count_open_jobs(1) == 1
    assert await store.expire_stopping(created_before=time.time() + 1) == 1
    assert await store.count_open_jobs(1) == 0


# --- leases: which replica works on a job -------------------------------------------------


async def submitted_job(store, prompt="a fox"):
    job = await store.create_job(new_job(prompt=prompt))
    return await store.record_submission(job.id, "sandbox", f"task-{job.id}")


async def finished_job(store, prompt="a fox"):
    job = await submitted_job(store, prompt)
    return await store.transition(job.id, JobState.SUCCEEDED, result_url="u")


async def test_two_owners_cannot_claim_the_same_job(store):
    job = await submitted_job(store)
    assert [j.id for j in await store.claim_jobs_to_poll("a", 60)] == [job.id]
    assert await store.claim_jobs_to_poll("b", 60) == []
    assert await store.claim_job(job.id, "b", 60) is None
    renewed = await store.claim_jobs_to_poll("a", 60)  # the owner renews its own lease
    assert [(j.id, j.lease_owner) for j in renewed] == [(job.id, "a")]
    assert (await store.claim_job(job.id, "a", 60)).lease_owner == "a"


async def test_concurrent_claims_split_the_jobs(store):
    jobs = [await submitted_job(store, prompt=str(i)) for i in range(30)]
    owners = [f"replica-{n}" for n in range(5)]
    claimed = await asyncio.gather(*(store.claim_jobs_to_poll(owner, 60) for owner in owners))
    ids = [job.id for batch in claimed for job in batch]
    assert sorted(ids) == [job.id for job in jobs]  # every job once, none twice
    for owner, batch in zip(owners, claimed, strict=True):
        assert all(job.lease_owner == owner for job in batch)


async def test_a_poll_lease_lapses_after_its_length_and_not_before(store):
    """The database's clock is moved on by moving the lease back: a dead replica's job is
    taken over once its 60 s lapsed, and not while any of them is left."""
    job = await submitted_job(store)
    assert len(await store.claim_jobs_to_poll("dead", 60)) == 1
    await store._db.execute("UPDATE jobs SET lease_until = lease_until - 30 WHERE id = ?", job.id)
    assert await store.claim_jobs_to_poll("alive", 60) == []  # 30 s of it left
    await store._db.execute("UPDATE jobs SET lease_until = lease_until - 31 WHERE id = ?", job.id)
    taken = await store.claim_jobs_to_poll("alive", 60)  # lapsed a second ago
    assert [(j.id, j.lease_owner) for j in taken] == [(job.id, "alive")]


async def test_expired_lease_is_claimable(store):
    job = await submitted_job(store)
    assert len(await store.claim_jobs_to_poll("dead", 0)) == 1  # a lease that lapses at once
    taken = await store.claim_jobs_to_poll("alive", 60)
    assert [(j.id, j.lease_owner) for j in taken] == [(job.id, "alive")]
    assert await store.claim_jobs_to_poll("dead", 60) == []


async def test_release_hands_jobs_over(store):
    first, second, third = [await submitted_job(store, prompt=str(i)) for i in range(3)]
    await store.claim_jobs_to_poll("a", 60)
    await store.release_job(first.id, "b")  # not b's to release
    assert await store.claim_job(first.id, "b", 60) is None
    await store.release_job(first.id, "a")
    assert (await store.claim_job(first.id, "b", 60)).lease_owner == "b"
    await store.release_leases("a")  # shutting down: the rest of a's jobs
    assert [j.id for j in await store.claim_jobs_to_poll("c", 60)] == [second.id, third.id]
    await store.release_leases()  # every lease
    assert len(await store.claim_jobs_to_poll("d", 60)) == 3


async def test_leases_found_at_start_are_released_only_where_one_process_owns_the_database(
    store,
):
    job = await submitted_job(store)
    await store.claim_jobs_to_poll("earlier-run", 60)
    await store.release_orphaned_leases()
    taken = await store.claim_job(job.id, "this-run", 60)
    if isinstance(store, SqliteStore):  # the earlier run was this bot, killed: resume at once
        assert taken is not None and taken.lease_owner == "this-run"
    else:  # another replica, alive: its lease stands until it lapses
        assert taken is None


async def test_a_job_that_stops_generating_loses_its_poll_lease(store):
    job = await submitted_job(store)
    await store.claim_jobs_to_poll("poller", 60)
    assert (await store.transition(job.id, JobState.RUNNING, progress=5)).lease_owner == "poller"
    done = await store.transition(job.id, JobState.SUCCEEDED, result_url="u")
    assert done.lease_owner is None  # a callback on another replica may deliver at once
    assert (await store.claim_job(job.id, "deliverer", 60)).lease_owner == "deliverer"


async def test_delivery_claims_respect_due_time_and_leases(store):
    due, later, held = [await finished_job(store, prompt=str(i)) for i in range(3)]
    await store.postpone_delivery(later.id, next_attempt_at=time.time() + 100)
    await store.claim_job(held.id, "other", 60)
    assert [j.id for j in await store.claim_deliveries("me", 60, due=time.time())] == [due.id]
    assert await store.claim_deliveries("me", 60, due=time.time()) == []  # being sent already
    assert await store.claim_deliveries("third", 60, due=time.time()) == []
    at_start = await store.claim_deliveries("third", 60, due=math.inf)  # a restart's resume
    assert [j.id for j in at_start] == [later.id]  # the others are held
    await store.release_leases()
    assert len(await store.claim_deliveries("third", 60, due=math.inf)) == 3
    assert await store.claim_job(due.id, "x", 60) is None  # finished jobs are never leased
    await store.transition(due.id, JobState.DELIVERED, lease_owner="third")
    assert await store.claim_job(due.id, "third", 60) is None


async def test_only_the_lease_holder_records_a_delivery(store):
    job = await finished_job(store)
    await store.claim_job(job.id, "slow", 0)  # its lease lapses during the upload
    assert (await store.claim_job(job.id, "fast", 60)).lease_owner == "fast"
    assert await store.transition(job.id, JobState.DELIVERED, lease_owner="slow") is None
    delivered = await store.transition(job.id, JobState.DELIVERED, lease_owner="fast")
    assert delivered.state is JobState.DELIVERED and delivered.lease_owner is None


async def test_delivered_once_under_concurrent_claims(store):
    jobs = [await finished_job(store, prompt=str(i)) for i in range(20)]
    deliveries: list[tuple[int, str]] = []

    async def replica(owner: str) -> None:
        claimed = await store.claim_deliveries(owner, 60, due=time.time())
        single = [await store.claim_job(job.id, owner, 60) for job in jobs]
        for job in claimed + [j for j in single if j is not None]:
            done = await store.transition(job.id, JobState.DELIVERED, lease_owner=owner)
            if done is not None:
                deliveries.append((job.id, owner))

    await asyncio.gather(*(replica(f"replica-{n}") for n in range(6)))
    assert sorted(job_id for job_id, _ in deliveries) == [job.id for job in jobs]
    for job in jobs:
        assert (await store.get_job(job.id)).state is JobState.DELIVERED


async def test_polling_claims_page_through_jobs_by_id(store):
    jobs = [await store.create_job(new_job(prompt=str(n))) for n in range(5)]
    for job in jobs:
        await store.record_submission(job.id, "sandbox", f"task-{job.id}")
    first = await store.claim_jobs_to_poll("r", 60, limit=2)
    second = await store.claim_jobs_to_poll("r", 60, after_id=first[-1].id, limit=2)
    rest = await store.claim_jobs_to_poll("r", 60, after_id=second[-1].id, limit=2)
    assert [j.id for j in first + second + rest] == [j.id for j in jobs]
    assert await store.claim_jobs_to_poll("other", 60, limit=2) == []  # all leased to "r"

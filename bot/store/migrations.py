"""Each schema version, spelled once per dialect: entry N of `SQLITE` and of `POSTGRES` make
the same version N. Never edit a released entry (databases in use have run it): append a new
version to both tuples, side by side in this file.

SQLite records the version in `PRAGMA user_version`, PostgreSQL in a `schema_version` table
(see `SqliteStore.migrate` and `PostgresStore.migrate`).
"""

from __future__ import annotations


def pending(version: int, scripts: tuple[str, ...]) -> list[tuple[int, str]]:
    """(version number, script) of each migration a database at `version` has yet to run;
    a database from a newer bot is refused rather than run by code that does not know it."""
    if version > len(scripts):
        raise RuntimeError(
            f"database schema version {version} is newer than this bot ({len(scripts)})"
        )
    return list(enumerate(scripts[version:], start=version + 1))


SQLITE: tuple[str, ...] = (
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
    # What kind of file `video_file_id` is ('video' or 'document': a file is re-sent, and
    # offered inline, as what Telegram made of it), and the owner's videos, newest first,
    # for inline mode and /start v<ref>.
    """
    ALTER TABLE jobs ADD COLUMN video_file_kind TEXT;
    CREATE INDEX jobs_shareable ON jobs (user_id, id) WHERE video_file_id IS NOT NULL;
    """,
    # Credits (see `bot.billing`): one account row per user, whose `available` and `reserved`
    # never go negative (CHECK), and the append-only ledger that explains every change of them:
    # each row's deltas sum to the account, and `key` makes each operation happen once (a job
    # reserved once and settled once, a payment credited once). A job keeps its price.
    """
    CREATE TABLE credit_accounts (
        user_id INTEGER PRIMARY KEY,
        available INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
        reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        created_at REAL NOT NULL
    );
    CREATE TABLE credit_ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        available_delta INTEGER NOT NULL,
        reserved_delta INTEGER NOT NULL,
        key TEXT NOT NULL UNIQUE,
        job_id INTEGER,
        payment_id TEXT,
        stars INTEGER NOT NULL DEFAULT 0,
        actor_id INTEGER,
        note TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX credit_ledger_by_user ON credit_ledger (user_id, id);
    CREATE INDEX credit_ledger_by_payment ON credit_ledger (payment_id)
        WHERE payment_id IS NOT NULL;
    CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE ON credit_ledger
    BEGIN
        SELECT RAISE(ABORT, 'credit_ledger is append-only');
    END;
    CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
    BEGIN
        SELECT RAISE(ABORT, 'credit_ledger is append-only');
    END;
    ALTER TABLE jobs ADD COLUMN price INTEGER NOT NULL DEFAULT 0;
    """,
    # What replicas share (issue 14): updates seen, heartbeats, albums, cooldowns, pacing.
    """
    CREATE TABLE updates_seen (
        update_id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        seen_at REAL NOT NULL
    );
    CREATE INDEX updates_seen_by_time ON updates_seen (seen_at);
    CREATE TABLE replicas (
        replica_id TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        seen_at REAL NOT NULL
    );
    CREATE TABLE albums (
        chat_id INTEGER NOT NULL,
        media_group_id TEXT NOT NULL,
        last_part_at REAL NOT NULL,
        taken INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (chat_id, media_group_id)
    );
    CREATE TABLE album_parts (
        chat_id INTEGER NOT NULL,
        media_group_id TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (chat_id, media_group_id, message_id)
    );
    CREATE TABLE quiet (
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        until REAL NOT NULL,
        prev REAL,
        PRIMARY KEY (user_id, kind)
    );
    CREATE INDEX quiet_by_until ON quiet (until);
    CREATE TABLE pace (
        key TEXT PRIMARY KEY,
        tat REAL NOT NULL
    );
    """,
    # A group's recent send moments, so replicas keep its 20 a minute as a sliding window
    # (PostgreSQL's shared pacing; SQLite has the column only to stay version for version).
    """
    ALTER TABLE pace ADD COLUMN recent TEXT NOT NULL DEFAULT '[]';
    """,
)

POSTGRES: tuple[str, ...] = (
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
    """
    ALTER TABLE jobs ADD COLUMN video_file_kind TEXT;
    CREATE INDEX jobs_shareable ON jobs (user_id, id) WHERE video_file_id IS NOT NULL;
    """,
    """
    CREATE TABLE credit_accounts (
        user_id BIGINT PRIMARY KEY,
        available BIGINT NOT NULL DEFAULT 0 CHECK (available >= 0),
        reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE credit_ledger (
        id BIGSERIAL PRIMARY KEY,
        user_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        available_delta BIGINT NOT NULL,
        reserved_delta BIGINT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        job_id BIGINT,
        payment_id TEXT,
        stars BIGINT NOT NULL DEFAULT 0,
        actor_id BIGINT,
        note TEXT,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX credit_ledger_by_user ON credit_ledger (user_id, id);
    CREATE INDEX credit_ledger_by_payment ON credit_ledger (payment_id)
        WHERE payment_id IS NOT NULL;
    CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'credit_ledger is append-only';
    END
    $$;
    CREATE TRIGGER credit_ledger_no_change BEFORE UPDATE OR DELETE ON credit_ledger
        FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
    ALTER TABLE jobs ADD COLUMN price BIGINT NOT NULL DEFAULT 0;
    """,
    # What replicas share (issue 14): updates seen, heartbeats, albums, cooldowns, pacing.
    """
    CREATE TABLE updates_seen (
        update_id BIGINT PRIMARY KEY,
        owner TEXT NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX updates_seen_by_time ON updates_seen (seen_at);
    CREATE TABLE replicas (
        replica_id TEXT PRIMARY KEY,
        started_at DOUBLE PRECISION NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE albums (
        chat_id BIGINT NOT NULL,
        media_group_id TEXT NOT NULL,
        last_part_at DOUBLE PRECISION NOT NULL,
        taken BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (chat_id, media_group_id)
    );
    CREATE TABLE album_parts (
        chat_id BIGINT NOT NULL,
        media_group_id TEXT NOT NULL,
        message_id BIGINT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (chat_id, media_group_id, message_id)
    );
    CREATE TABLE quiet (
        user_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        until DOUBLE PRECISION NOT NULL,
        prev DOUBLE PRECISION,
        PRIMARY KEY (user_id, kind)
    );
    CREATE INDEX quiet_by_until ON quiet (until);
    CREATE TABLE pace (
        key TEXT PRIMARY KEY,
        tat DOUBLE PRECISION NOT NULL
    );
    """,
    # A group's recent send moments (see SQLite's): replicas keep its 20 a minute as a window.
    """
    ALTER TABLE pace ADD COLUMN recent DOUBLE PRECISION[] NOT NULL DEFAULT '{}';
    """,
)

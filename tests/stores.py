"""Open a job store of either backend for a test, each in a fresh database or schema.

PostgreSQL tests use `TEST_POSTGRES_URL`. Without it they are skipped with a visible reason,
except under CI (`CI` set), where a missing server is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import PostgresStore, SqliteStore

BACKENDS = ("sqlite", "postgres")


def postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_POSTGRES_URL is not set under CI: PostgreSQL tests must run")
        pytest.skip("TEST_POSTGRES_URL not set: PostgreSQL store tests skipped")
    return url


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, str]]:
    """A new empty schema (url, name), dropped afterwards."""
    url = postgres_url()
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE SCHEMA "{name}"')
        yield url, name
    finally:
        await admin.execute(f'DROP SCHEMA "{name}" CASCADE')
        await admin.close()


@contextlib.asynccontextmanager
async def open_store(backend: str, tmp_path: Path) -> AsyncIterator[Any]:
    if backend == "sqlite":
        store = await SqliteStore.open(tmp_path / "bot.db")
        try:
            yield store
        finally:
            await store.close()
        return
    async with postgres_schema() as (url, schema):
        pg = await PostgresStore.open(url, schema=schema)
        try:
            yield pg
        finally:
            await pg.close()

"""A long-polling bot on SQLite never loads what only other modes use: asyncpg (PostgreSQL),
Starlette and uvicorn (the web server), Pillow and pillow-heif (the first photo loads them),
PyJWT (Kling as a provider). Checked in a fresh interpreter, since this test session has
imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("asyncpg", "uvicorn", "starlette", "PIL", "pillow_heif", "jwt")

PROBE = """
import asyncio, json, sys
from bot.app import assemble
from bot.config import Settings

settings = Settings(
    _env_file=None,
    telegram_bot_token="123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    database_url="sqlite:///" + sys.argv[1],
)

async def main():
    async with assemble(settings) as parts:  # every part of a long-polling bot, built
        assert parts.application.updater is not None

asyncio.run(main())
loaded = lambda: sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:]))
polling = loaded()
import bot.store
bot.store.PostgresStore  # what a PostgreSQL URL makes `open_store` import
postgres = loaded()
from bot.providers.kling import KlingJwt
KlingJwt("access", "secret")  # what a Kling client signs its requests with
print(json.dumps({"polling": polling, "postgres": postgres, "kling": loaded()}))
"""


def test_a_long_polling_bot_on_sqlite_imports_no_driver_server_pillow_or_jwt_it_does_not_use(
    tmp_path,
):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "bot.db"), *OPTIONAL],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["polling"] == []
    assert loaded["postgres"] == ["asyncpg"]  # PostgreSQL still gets its driver
    assert loaded["kling"] == ["asyncpg", "jwt"]  # and Kling its token signing

"""The bot as a real subprocess, for the tests that kill it (SIGKILL) or stop it (SIGTERM)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """`python -m <module>` (the bot, or a wrapper around it) with `env` and nothing else.

    `log`: a file for its stderr, to show when a test fails; without one stderr goes to the
    test's own output.
    """

    def __init__(
        self,
        env: dict[str, str],
        *,
        module: str = "bot",
        name: str = "bot",
        log: Path | None = None,
    ) -> None:
        self.env = env
        self.module = module
        self.name = name
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None

    async def start(self) -> None:
        self._log_file = self.log.open("wb") if self.log is not None else None
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            env=self.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._log_file,
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM: finish in-flight deliveries, release leases, exit."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

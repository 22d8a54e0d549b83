"""The bot as a real subprocess, for the tests that kill it (SIGKILL) or stop it (SIGTERM).

Whatever the process writes to stderr (its logs) is scanned when it stops: no secret its
environment holds may appear there, whatever the test was about."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
from pathlib import Path
from typing import IO

#: Environment variables that hold secrets, by name.
_SECRET_NAME = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD)$")

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
        self._shown = False  # a log of our own making: written to the test's output too

    async def start(self) -> None:
        if self.log is None:  # kept apart, scanned, then shown in the test's output
            handle, name = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
            self.log, self._shown = Path(name), True
            os.close(handle)
        self._log_file = self.log.open("ab")
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
            self._check_log()

    def secrets(self) -> dict[str, str]:
        """The secrets in the process's environment, by variable (the token's half too)."""
        found = {name: value for name, value in self.env.items() if _SECRET_NAME.search(name)}
        token = self.env.get("TELEGRAM_BOT_TOKEN", "")
        if ":" in token:
            found["the token's secret half"] = token.split(":", 1)[1]
        return {name: value for name, value in found.items() if len(value) >= 6}

    def _check_log(self) -> None:
        assert self.log is not None
        text = self.log.read_text(errors="replace")
        if self._shown:
            sys.stderr.write(text)
        leaked = [name for name, value in self.secrets().items() if value in text]
        assert leaked == [], f"{self.name} logged {', '.join(leaked)}"

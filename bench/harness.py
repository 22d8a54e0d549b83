"""What every benchmark shares: the fakes, the bot as its own process, /proc readings, output.

The fakes run in the benchmark's event loop; the bot (or a baseline) runs as a separate
process, so the RSS and CPU time read from `/proc/<pid>` are its own and not the fakes'.
Everything listens on 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect

from tests.fakes.apiframe import FakeApiframe
from tests.fakes.telegram import Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
APIFRAME_KEY = "bench-apiframe-key-0123456789"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
MB = 1024 * 1024

#: Bot API methods that put or change a message in a chat: what Telegram's limits count.
MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendVideo",
        "sendDocument",
        "sendPhoto",
        "sendAnimation",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)
#: Calls a bot makes once per start, about itself: `getUpdates` aside, who it is, its webhook,
#: and its menus and descriptions (which the bot sets in the background once it takes updates,
#: so they may fall in a measured window). None of them is made for a job.
START_METHODS = frozenset(
    {
        "getMe",
        "deleteWebhook",
        "setWebhook",
        "setMyCommands",
        "getMyDescription",
        "setMyDescription",
        "getMyShortDescription",
        "setMyShortDescription",
    }
)


def for_jobs(call: Call) -> bool:
    """A call made for the jobs (or updates) a benchmark sends: not `getUpdates`, not start-up."""
    return call.method != "getUpdates" and call.method not in START_METHODS


# --- command line and output -----------------------------------------------------------------


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: a few seconds, same path and output"
    )
    return parser.parse_args()


def run(main: Callable[[argparse.Namespace], Coroutine[Any, Any, None]], description: str) -> None:
    """Parse the command line and run `main` in a fresh event loop."""
    args = parse_args(description)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("tests.fakes.telegram").addFilter(_hide_client_disconnects)
    asyncio.run(main(args))


def _hide_client_disconnects(record: logging.LogRecord) -> bool:
    """The bot cancels its "sending video..." action once the video is sent, which the fake
    Telegram logs as a crash; it is expected here, so it is not shown."""
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, ClientDisconnect)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A Markdown table, so a run's output can be pasted into bench/README.md as is."""
    cells = [list(columns)] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    print(f"\n{title}\n")
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    print()


def print_ratios(parts: Sequence[str]) -> None:
    """The closing line every benchmark prints (the smoke test looks for it)."""
    print("ratios: " + "; ".join(parts), flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def fmt_cpu(seconds: float) -> str:
    """CPU time from /proc, whose clock ticks (10 ms) make smaller values read as zero."""
    tick = 1 / os.sysconf("SC_CLK_TCK")
    return f"< {tick * 1000:.0f} ms" if seconds < tick else fmt_ms(seconds)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def fmt_mb(kilobytes: float) -> str:
    return f"{kilobytes / 1024:.1f} MB"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --- /proc ------------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of every thread of the process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- processes ----------------------------------------------------------------------------------


class Process:
    """A Python module run as its own process (the bot, or a baseline), output to a log file."""

    def __init__(self, module: str, env: dict[str, str], workdir: Path, *args: str) -> None:
        self.module = module
        self.env = env
        self.workdir = workdir
        self.args = args
        self.log_path = workdir / f"{module.replace('.', '_')}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self._proc is not None, "start() first"
        return self._proc.pid

    def start(self) -> Process:
        """Start the process; `started_at` is taken just before the fork."""
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", self.module, *self.args],
            cwd=self.workdir,  # no stray .env is read: the directory is ours
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check(self) -> None:
        """Raise with the end of the log if the process has exited."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"{self.module} exited with status {self._proc.returncode}:\n{self.log_tail()}"
            )

    def rss_kb(self) -> int:
        return proc_status(self.pid)["VmRSS"]

    def peak_kb(self) -> int:
        return proc_status(self.pid)["VmHWM"]

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; waits in a thread, so the fakes in this
        event loop keep answering while the process shuts down."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 5)
        return proc.returncode

    async def wait(self, timeout: float) -> int:  # noqa: ASYNC109 - a benchmark deadline
        """Until a process that ends by itself has ended; its exit status."""
        assert self._proc is not None, "start() first"
        return await asyncio.to_thread(self._proc.wait, timeout)


def base_env(workdir: Path) -> dict[str, str]:
    """A clean environment: only what Python needs, plus the repository on the path."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def bot_env(
    workdir: Path,
    telegram: FakeTelegram,
    apiframe: FakeApiframe | None = None,
    **settings: object,
) -> dict[str, str]:
    """Environment for `python -m bot` against the fakes; keyword arguments are settings."""
    env = base_env(workdir)
    env.update(
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        DATABASE_URL=f"sqlite:///{database_path(workdir)}",
        SHUTDOWN_GRACE="2",
        LOG_LEVEL="INFO",
        METRICS_LISTEN="off",  # benchmarks may run bots side by side; none reads /metrics
    )
    if apiframe is not None:
        env.update(
            VIDEO_PROVIDERS="apiframe",
            APIFRAME_API_KEY=APIFRAME_KEY,
            APIFRAME_BASE_URL=apiframe.url,
            VIDEO_TRUSTED_ORIGINS=apiframe.url,  # its videos: plain http on 127.0.0.1
        )
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def echo_env(workdir: Path, telegram: FakeTelegram) -> dict[str, str]:
    env = base_env(workdir)
    env.update(TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.url)
    return env


def database_path(workdir: Path) -> Path:
    return workdir / "bot.db"


def count_jobs(workdir: Path, state: str) -> int:
    """Jobs in `state`, read from the bot's SQLite file while it runs (WAL allows readers)."""
    return count_where(workdir, "state = ?", state)


def count_where(workdir: Path, condition: str, *params: object) -> int:
    """Jobs matching an SQL condition (a constant of the caller's), read like `count_jobs`."""
    query = f"SELECT COUNT(*) FROM jobs WHERE {condition}"  # noqa: S608 - no outside input
    with contextlib.closing(sqlite3.connect(database_path(workdir), timeout=5)) as db:
        row = db.execute(query, params).fetchone()
    return int(row[0])


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` (a server is up)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for the bot's database and logs."""
    with tempfile.TemporaryDirectory(prefix="kling-bench-") as path:
        yield Path(path)


def free_port() -> int:
    """A port nobody listens on right now, for a process's own web server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings(port: int) -> dict[str, object]:
    """Settings that put the bot in webhook mode, its web server on 127.0.0.1:`port`."""
    return {
        "public_url": f"http://127.0.0.1:{port}",
        "webhook_secret": WEBHOOK_SECRET,
        "listen_host": "127.0.0.1",
        "port": port,
    }


# --- fakes and waiting ----------------------------------------------------------------------------


@dataclass
class Fakes:
    """The fake Bot API server and, when asked for, the fake APIFRAME, both started."""

    telegram: FakeTelegram
    apiframe: FakeApiframe | None = None


@contextlib.asynccontextmanager
async def fakes(
    *, apiframe: bool = True, enforce_rate_limits: bool = False
) -> AsyncIterator[Fakes]:
    telegram = FakeTelegram(enforce_rate_limits=enforce_rate_limits)
    await telegram.start()
    provider = FakeApiframe(APIFRAME_KEY) if apiframe else None
    try:
        if provider is not None:
            await provider.start()
        yield Fakes(telegram, provider)
    finally:
        if provider is not None:
            await provider.stop()
        await telegram.stop()


async def wait_until(
    condition: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109 - a benchmark deadline
    what: str,
    process: Process | None = None,
    interval: float = 0.02,
) -> float:
    """Poll `condition` until true; returns the time it was seen true (time.monotonic()).

    Raises TimeoutError naming `what` after `timeout` seconds, or at once if `process` died.
    """
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return time.monotonic()
        if process is not None:
            process.check()
        if time.monotonic() > deadline:
            tail = f"\n{process.log_tail()}" if process is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        await asyncio.sleep(interval)


async def wait_polling(telegram: FakeTelegram, process: Process, timeout: float = 30.0) -> float:  # noqa: ASYNC109
    """Wait for the process's first parked getUpdates; returns when it was seen."""
    parked = asyncio.create_task(telegram.wait_until_polling(timeout))
    try:
        await wait_until(parked.done, timeout + 1, "the first getUpdates", process, 0.002)
        parked.result()
    finally:
        parked.cancel()
    return time.monotonic()


async def wait_webhook(telegram: FakeTelegram, process: Process, timeout: float = 30.0) -> float:  # noqa: ASYNC109
    """Wait until a bot in webhook mode has set its webhook; returns when it was seen."""
    webhook_set = Counter(telegram, ok("setWebhook"))
    return await wait_until(lambda: webhook_set() > 0, timeout, "setWebhook", process, 0.005)


class CallLog:
    """Reads the fake Telegram's answered calls incrementally (it only ever appends)."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self._calls = telegram.calls
        self._seen = 0

    def new(self) -> list[Call]:
        fresh = self._calls[self._seen :]
        self._seen += len(fresh)
        return fresh

    def skip(self) -> None:
        """Forget what came before, e.g. a set-up phase."""
        self._seen = len(self._calls)


class Counter:
    """Counts answered calls matching a predicate, incrementally."""

    def __init__(self, telegram: FakeTelegram, predicate: Callable[[Call], bool]) -> None:
        self._log = CallLog(telegram)
        self._predicate = predicate
        self.matched: list[Call] = []

    def __call__(self) -> int:
        self.matched += [call for call in self._log.new() if self._predicate(call)]
        return len(self.matched)

    def skip(self) -> None:
        """Count only calls answered from now on."""
        self._log.skip()
        self.matched.clear()


def ok(method: str) -> Callable[[Call], bool]:
    return lambda call: call.method == method and call.http_status == 200


def video_upload(call: Call) -> bool:
    return call.method == "sendVideo" and call.http_status == 200 and "video" in call.files


def users(telegram: FakeTelegram, count: int, first_id: int = 100_000) -> list[dict[str, Any]]:
    """`count` users who have started the bot (so their private chats exist)."""
    return [telegram.user(first_id + n, f"User{n}") for n in range(count)]

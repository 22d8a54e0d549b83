"""What each dependency costs at import, on top of what a bare python-telegram-bot bot imports.

For each module below, a fresh interpreter imports `telegram.ext` (all the echo bot needs),
then that module, and reports the import's wall time and the growth of its RSS; the median
of `--rounds` interpreters is shown. Then the same for the bot's own entry points in the
modes a deployment picks: `bot.cli` (what `python -m bot` imports before it reads its
settings), and what each mode adds once it runs. Each module is measured alone on top of
`telegram.ext`, so a dependency two of them share (pydantic, say) is counted in both.

`python -X importtime -c "import bot.cli"` gives the per-module tree behind these numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from bench import harness as h

#: The third-party packages the bot uses, then the bot's own parts by mode.
MODULES = (
    "pydantic_settings",
    "tenacity",
    "aiosqlite",
    "prometheus_client",
    "asyncpg",
    "uvicorn",
    "starlette.applications",
    "PIL.Image",
    "pillow_heif",
    "jwt",
    "bot.cli",
    "bot.app",
    "bot.store.postgres",
    "bot.web",
    "bot.images",
)

PROBE = """
import json, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
import telegram.ext
before_modules = set(sys.modules)
rss0, t0 = rss(), time.perf_counter()
__import__(sys.argv[1])
t1, rss1 = time.perf_counter(), rss()
added = sorted(m.split(".")[0] for m in set(sys.modules) - before_modules)
print(json.dumps({"s": t1 - t0, "kb": rss1 - rss0, "top": sorted(set(added))}))
"""


def probe(module: str) -> dict[str, object]:
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PROBE, module],
        capture_output=True,
        text=True,
        check=True,
        cwd=h.ROOT,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one round")
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    rows = []
    for module in MODULES:
        runs = [probe(module) for _ in range(rounds)]
        seconds = statistics.median(float(str(r["s"])) for r in runs)
        kb = statistics.median(int(str(r["kb"])) for r in runs)
        top = runs[0]["top"]
        heavy = [
            name
            for name in top  # type: ignore[attr-defined]
            if name in ("asyncpg", "uvicorn", "starlette", "PIL", "pillow_heif", "jwt")
        ]
        rows.append([module, h.fmt_ms(seconds), h.fmt_mb(kb), ", ".join(heavy) or "-"])
    h.print_table(
        f"Import cost on top of telegram.ext (median of {rounds} interpreters)",
        ["module", "import time", "RSS growth", "brings in (of the optional ones)"],
        rows,
    )
    h.print_ratios([f"{len(rows)} modules measured"])


if __name__ == "__main__":
    main()

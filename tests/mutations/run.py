"""`make mutate`: break the production code behind each promise of README's Guarantees table,
one line at a time, and check that the tests named for it fail.

Each mutant in `tests/mutations/mutants.py` is applied to a scratch copy of the repository
(never the working tree), the mutant's tests are run there with `pytest -x -q`, and the copy's
file is put back. A mutant whose tests still pass has "survived": the promise can break
without any test noticing. The table at the end lists every mutant; the exit status is 1 if
any survived, 2 if one no longer applies (its original line is gone: update the list).

    python -m tests.mutations.run              # every mutant
    python -m tests.mutations.run masking-off  # the ones whose id contains a word
    python -m tests.mutations.run --jobs 2     # two copies side by side
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.mutations.mutants import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[2]
#: Per mutant; a mutant that hangs its tests past this counts as killed (the promise broke
#: loudly enough), but is marked so a slow test is noticed.
TIMEOUT = 600


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    verdict: str  # "killed", "survived", "timeout" (killed by a hang) or "stale"
    seconds: float
    detail: str = ""


def scratch_copy() -> Path:
    """The working tree as it is (committed or not, untracked files too), minus ignored files."""
    target = Path(tempfile.mkdtemp(prefix="kling-mutate-"))
    listed = subprocess.run(
        [
            shutil.which("git") or "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = ROOT / os.fsdecode(raw)
        if not source.is_file():  # deleted but not yet committed
            continue
        destination = target / os.fsdecode(raw)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    return target


def apply(copy: Path, mutant: Mutant) -> str | None:
    """Mutate the copy's file; its original text, or None if the original snippet is not
    there exactly once."""
    path = copy / mutant.file
    text = path.read_text()
    if text.count(mutant.original) != 1:
        return None
    path.write_text(text.replace(mutant.original, mutant.replacement))
    return text


def run_one(copy: Path, mutant: Mutant) -> Outcome:
    started = time.monotonic()
    original = apply(copy, mutant)
    if original is None:
        return Outcome(mutant, "stale", 0.0, f"original not found once in {mutant.file}")
    # CI=1: a PostgreSQL test that cannot reach its server fails instead of skipping (a
    # skipped test kills no mutant).
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1", "CI": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        *mutant.tests,
    ]
    try:
        result = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        verdict, detail = "timeout", f"tests still running after {TIMEOUT} s"
    else:
        if result.returncode == 0:
            verdict, detail = "survived", _last_line(result.stdout)
        elif result.returncode == 1:  # tests failed: the mutant was noticed
            verdict, detail = "killed", _first_failure(result.stdout)
        else:  # 2-5: collection error, usage error, no tests: the test list is wrong
            verdict, detail = "error", _last_line(result.stdout + result.stderr)
    finally:
        (copy / mutant.file).write_text(original)
    return Outcome(mutant, verdict, time.monotonic() - started, detail)


def _last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED tests/", "ERROR tests/")):
            return line.split(" - ")[0].removeprefix("FAILED ").removeprefix("ERROR ")
    return _last_line(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("words", nargs="*", help="run only mutants whose id contains a word")
    parser.add_argument("--jobs", type=int, default=1, help="scratch copies run side by side")
    parser.add_argument(
        "--list", action="store_true", help="list the mutants, check each still applies, and stop"
    )
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.words or any(w in m.id for w in args.words)]
    if args.list:
        stale = 0
        for mutant in chosen:
            found = (ROOT / mutant.file).read_text().count(mutant.original)
            stale += found != 1
            print(f"{mutant.id:40} {mutant.file}{'' if found == 1 else f'  STALE ({found} found)'}")
        return 2 if stale else 0
    if not os.environ.get("TEST_POSTGRES_URL"):
        print("TEST_POSTGRES_URL must point at a PostgreSQL server (see README, Tests)")
        return 2
    copies = [scratch_copy() for _ in range(max(1, args.jobs))]
    outcomes: list[Outcome] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(len(copies)) as pool:
            free = list(copies)
            pending: dict[concurrent.futures.Future[Outcome], Path] = {}
            queue = list(chosen)
            while queue or pending:
                while queue and free:
                    copy = free.pop()
                    pending[pool.submit(run_one, copy, queue.pop(0))] = copy
                done, _ = concurrent.futures.wait(pending, return_when="FIRST_COMPLETED")
                for future in done:
                    free.append(pending.pop(future))
                    outcome = future.result()
                    outcomes.append(outcome)
                    print(
                        f"{outcome.verdict:8} {outcome.seconds:6.1f}s {outcome.mutant.id}: "
                        f"{outcome.detail}",
                        flush=True,
                    )
    finally:
        for copy in copies:
            shutil.rmtree(copy, ignore_errors=True)
    order = {m.id: i for i, m in enumerate(chosen)}
    outcomes.sort(key=lambda o: order[o.mutant.id])
    print()
    print("| mutant | guarantee | break | verdict | killed by |")
    print("|---|---|---|---|---|")
    for o in outcomes:
        killer = o.detail if o.verdict in ("killed", "timeout") else ""
        print(
            f"| `{o.mutant.id}` | {o.mutant.guarantee} | {o.mutant.why} | {o.verdict} | {killer} |"
        )
    survived = [o.mutant.id for o in outcomes if o.verdict == "survived"]
    broken = [o.mutant.id for o in outcomes if o.verdict in ("stale", "error")]
    print(
        f"\n{len(outcomes)} mutants: {len(outcomes) - len(survived) - len(broken)} killed,"
        f" {len(survived)} survived, {len(broken)} stale or broken"
    )
    if broken:
        print("stale or broken (fix tests/mutations/mutants.py): " + ", ".join(broken))
        return 2
    if survived:
        print("survived (a promise no test holds): " + ", ".join(survived))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

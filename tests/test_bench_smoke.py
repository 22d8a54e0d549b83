"""Every benchmark in bench/ still runs: each one's `--smoke` mode, end to end.

Smoke mode takes the same path as a full run (the real bot as a process, the fakes, the
baseline) with tiny sizes, so a change that breaks a benchmark shows here rather than on the
next full run. Nothing here checks a timing or a target: on a shared CI machine those say
nothing; bench/README.md holds the measured numbers. The six start together, each in its own
interpreter, to keep the wall time down; each test then waits for its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240.0  # seconds for one benchmark, all six running at once on two cores


@pytest.fixture(scope="module")
def smoke_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], Path]]]:
    """Start every benchmark's smoke run; yields name -> (process, file with its output)."""
    out = tmp_path_factory.mktemp("bench-smoke")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name in BENCHMARKS:
        path = out / f"{name}.txt"
        with path.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", f"bench.{name}", "--smoke"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        runs[name] = (process, path)
    yield runs
    for process, _ in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_in_smoke_mode(
    name: str, smoke_runs: dict[str, tuple[subprocess.Popen[bytes], Path]]
) -> None:
    process, path = smoke_runs[name]
    try:
        status = process.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"bench.{name} --smoke still running after {TIMEOUT:.0f} s")
    output = path.read_text(errors="replace")
    assert status == 0, f"bench.{name} --smoke exited with {status}:\n{output[-4000:]}"
    lines = output.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) >= 3, f"no table in the output of bench.{name}:\n{output[-4000:]}"
    assert set(table[1]) <= set("|- "), f"malformed table header:\n{output[-4000:]}"
    closing = [line for line in lines if line.strip()][-1]
    assert closing.startswith("ratios: "), f"no closing ratios line:\n{output[-4000:]}"

"""`python -m bench [--smoke] [name ...]`: run the benchmarks one after the other.

Each runs in its own interpreter, as `python -m bench.<name>` would, so one benchmark's
memory and event loop never colour the next one's numbers. Exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

#: In the order of the issue; each is `bench/<name>.py`.
BENCHMARKS = ("throughput", "burst", "saturation", "inflight", "relay", "callback", "startup")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds each")
    parser.add_argument("names", nargs="*", metavar="name", help=f"any of {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    failed = []
    for name in args.names or BENCHMARKS:
        started = time.monotonic()
        command = [sys.executable, "-m", f"bench.{name}", *(["--smoke"] if args.smoke else [])]
        status = subprocess.call(command)  # noqa: S603 - our own interpreter and module
        print(f"[bench.{name}: exit {status} after {time.monotonic() - started:.0f} s]", flush=True)
        if status != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

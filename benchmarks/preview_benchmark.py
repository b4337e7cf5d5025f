"""Measures the offline preview: wall time and peak memory per stack, and for `--all`.

Each measurement is a fresh `python -m tools preview ...` process, as a user runs it, so the
figures include interpreter start-up and imports. Run: `python3 dev.py bench [--repeat N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACKS = ["aws-dev", "aws-staging", "aws-production", "aws-dr", "gcp-dev", "gcp-staging", "gcp-production", "gcp-dr", "global"]


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak resident MiB) of one preview process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools", "preview", *args, "--json"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"preview {' '.join(args)} failed: {process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    repeat = parser.parse_args().repeat

    rows = []
    for label, args in [(s, [s]) for s in STACKS] + [("--all", ["--all"])]:
        runs = [measure(args) for _ in range(repeat)]
        rows.append((label, statistics.median(r[0] for r in runs), max(r[1] for r in runs)))
    print(f"{'stack':16} {'seconds':>8} {'peak MiB':>9}")
    for label, seconds, mib in rows:
        print(f"{label:16} {seconds:8.2f} {mib:9.0f}")
    singles = sum(seconds for label, seconds, _ in rows if label != "--all")
    print(f"{'sum of nine':16} {singles:8.2f}")
    print(f"median of {repeat} runs each; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()

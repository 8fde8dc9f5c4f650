"""Cold start: how long importing each Lambda handler module takes, against the floor every handler
pays (`import boto3, aws_lambda_powertools, pynamodb`).

Run from the repository root: `python tests/benchmarks/bench_cold_start.py [--runs 5]`. Prints figures
only (no assertions on timing; `tests/unit/test_cold_start_imports.py` guards the heavy imports).

Each figure is the best of `--runs` fresh interpreters, timed inside the child around the import alone
(the interpreter's own start is the same for every row), after one untimed run that leaves the `.pyc`
files warm. The child gets the environment of a deployed function (`tests.entrypoints`): Lambda's own
variables and dummy wiring. Two columns: "traced" as deployed (active X-Ray: Powertools' Tracer loads
the X-Ray SDK and patches botocore, httpx, requests…), "untraced" with POWERTOOLS_TRACE_DISABLED.

The machine is shared: the load average is printed before and after; compare ratios, not seconds,
between runs. Development-only packages installed next to the app (rich/click, which httpx imports
when present) are counted here although a Lambda bundle does not carry them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.entrypoints import HANDLER_MODULES, PYTHON, lambda_environment  # noqa: E402

BASELINE = "boto3, aws_lambda_powertools, pynamodb"
_TIMED = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str, *, traced: bool, runs: int) -> float:
    """Best of `runs` fresh interpreters importing `module`, after one untimed warm-up run."""
    env = lambda_environment(traced=traced)
    times = []
    for run in range(runs + 1):
        done = subprocess.run(
            [PYTHON, "-c", _TIMED.format(module=module)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        if run:
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return min(times)


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    running, total = Path("/proc/loadavg").read_text().split()[3].split("/")
    return (
        f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs "
        f"({running} runnable of {total} processes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print(f"before: {machine()}")
    rows = []
    for module in (BASELINE, *HANDLER_MODULES):
        untraced = import_seconds(module, traced=False, runs=args.runs)
        traced = import_seconds(module, traced=True, runs=args.runs)
        rows.append((module, untraced, traced))
    print(f"after:  {machine()}")

    _, base_untraced, base_traced = rows[0]
    print(f"\nbest of {args.runs}, .pyc warm, seconds to import (ratio to the baseline)\n")
    print(f"{'module':<50} {'untraced':>9} {'ratio':>6} {'traced':>9} {'ratio':>6}")
    for module, untraced, traced in rows:
        name = "baseline: " + module if module == BASELINE else module
        print(
            f"{name:<50} {untraced:>9.3f} {untraced / base_untraced:>5.1f}x "
            f"{traced:>9.3f} {traced / base_traced:>5.1f}x"
        )


if __name__ == "__main__":
    main()

"""Cold start: how long importing each Lambda handler module takes, against the floor every handler
pays (`import boto3, aws_lambda_powertools, pynamodb`).

Run from the repository root: `python tests/benchmarks/bench_cold_start.py [--runs 5]`. Prints figures
only (no assertions on timing; `tests/unit/test_cold_start_imports.py` guards the heavy imports).

Each figure is the best of `--runs` fresh interpreters, after one untimed run that leaves the `.pyc`
files warm: the import statement alone (timed inside the child) and the whole process (interpreter
start, import, exit; the start is the same for every row). The child gets the environment of a deployed function (`tests.entrypoints`): Lambda's own
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.entrypoints import HANDLER_MODULES, PYTHON, lambda_environment  # noqa: E402

BASELINE = "boto3, aws_lambda_powertools, pynamodb"
_TIMED = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def cold_start(module: str, *, traced: bool, runs: int) -> tuple[float, float]:
    """Best of `runs` fresh interpreters importing `module`, after one untimed warm-up run: the
    import alone (timed in the child) and the whole process (interpreter start, import, exit)."""
    env = lambda_environment(traced=traced)
    imports, processes = [], []
    for run in range(runs + 1):
        started = time.perf_counter()
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
            processes.append(time.perf_counter() - started)
            imports.append(float(done.stdout.strip().splitlines()[-1]))
    return min(imports), min(processes)


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
    rows = [
        (
            module,
            *cold_start(module, traced=False, runs=args.runs),
            *cold_start(module, traced=True, runs=args.runs),
        )
        for module in (BASELINE, *HANDLER_MODULES)
    ]
    print(f"after:  {machine()}")

    # The baseline imports no handler, so tracing does not change it: one floor per kind, the best seen.
    _, *floors = rows[0]
    base = [min(floors[0], floors[2]), min(floors[1], floors[3])] * 2
    print(f"\nbest of {args.runs}, .pyc warm, seconds (ratio to the baseline)")
    print("import: the import statement alone; process: interpreter start + import + exit\n")
    header = ("untraced import", "untraced process", "traced import", "traced process")
    print(f"{'module':<50}" + "".join(f"{title:>24}" for title in header))
    for module, *seconds in rows:
        name = "baseline: " + module if module == BASELINE else module
        cells = "".join(
            f"{value:>17.3f} ({value / floor:>4.1f}x)" for value, floor in zip(seconds, base, strict=True)
        )
        print(f"{name:<50}{cells}")


if __name__ == "__main__":
    main()

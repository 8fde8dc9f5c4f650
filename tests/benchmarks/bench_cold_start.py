"""Cold start: how long importing each Lambda handler module takes, against the floor every handler
pays (`import boto3, aws_lambda_powertools, pynamodb`).

Run from the repository root: `python tests/benchmarks/bench_cold_start.py [--runs 5]`. Prints figures
only (no assertions on timing; `tests/unit/test_cold_start_imports.py` guards the heavy imports).

Each figure is the best of `--runs` fresh interpreters (rounds interleave the modules, see
`best_of`), `.pyc` files warm: the import statement alone (timed inside the child) and the whole
process (interpreter start, import, exit; the start is the same for every row). The child gets the
environment of a deployed function (`tests.entrypoints`): Lambda's own variables and dummy wiring.
"traced" is as deployed (active X-Ray: Powertools' Tracer loads the X-Ray SDK and patches botocore,
httpx, requests...); "untraced" sets POWERTOOLS_TRACE_DISABLED.

The machine is shared: the load average is printed before and after; compare ratios, not seconds,
between runs. A development-only package installed next to the app is counted although a Lambda
bundle lacks it: rich (import-linter's), which httpx's command-line module imports when present.
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


def cold_start(module: str, *, traced: bool) -> tuple[float, float]:
    """One fresh interpreter importing `module`: the import alone (timed in the child) and the whole
    process (interpreter start, import, exit), in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-c", _TIMED.format(module=module)],
        env=lambda_environment(traced=traced),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def best_of(runs: int) -> dict[tuple[str, bool], list[float]]:
    """Per (module, traced): the best import and process seconds over `runs` rounds. Each round runs
    every case once, so a burst of load from the machine's other users falls on all rows alike; a
    first, untimed round leaves the `.pyc` files warm."""
    cases = [(module, traced) for module in (BASELINE, *HANDLER_MODULES) for traced in (False, True)]
    best = {case: [float("inf"), float("inf")] for case in cases}
    for round_ in range(runs + 1):
        for module, traced in cases:
            figures = cold_start(module, traced=traced)
            if round_:
                best[module, traced] = [min(pair) for pair in zip(best[module, traced], figures, strict=True)]
    return best


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
    best = best_of(args.runs)
    rows = [(module, *best[module, False], *best[module, True]) for module in (BASELINE, *HANDLER_MODULES)]
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

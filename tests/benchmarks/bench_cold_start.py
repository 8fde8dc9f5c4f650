"""Cold start: how long loading each Lambda entry point takes (`from <module> import <function>`, as
Lambda's runtime does), against the floor every handler pays (`import boto3, aws_lambda_powertools,
pynamodb`).

Run from the repository root: `python tests/benchmarks/bench_cold_start.py [--runs 5]`. Prints figures
only (no assertions on timing; `tests/unit/test_cold_start_imports.py` guards the heavy imports).

Each figure is the best of `--runs` fresh interpreters (rounds interleave the modules, see
`best_of`), `.pyc` files warm (written under a temporary PYTHONPYCACHEPREFIX by a first, untimed
round, whatever the caller's PYTHONDONTWRITEBYTECODE): the import statement alone (timed inside the
child, elapsed and CPU time) and the whole process (interpreter start, import, exit; the start is the
same for every row). The last row is the API's import and its first request, a GET answered from
DynamoDB (`first_request.py`): what a cold start costs a caller. The child gets the
environment of a deployed function (`tests.entrypoints`): Lambda's own variables and dummy wiring.
"traced" is as deployed (active X-Ray: Powertools' Tracer loads the X-Ray SDK and patches botocore,
httpx, requests...); "untraced" sets POWERTOOLS_TRACE_DISABLED.

The machine is shared: the load average is printed before and after; compare ratios, not seconds,
between runs, and under load trust the CPU column (other processes stretch elapsed time, not CPU). A development-only package installed next to the app is counted although a Lambda
bundle lacks it: rich (import-linter's), which httpx's command-line module imports when present.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import first_request  # noqa: E402
from tests.entrypoints import ENTRY_POINTS, PYTHON, import_statement, lambda_environment  # noqa: E402

BASELINE = "boto3, aws_lambda_powertools, pynamodb"
_TIMED = (
    "import time; t, c = time.perf_counter(), time.process_time(); {statement}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


def statement(case: str) -> str:
    if case == first_request.CASE:
        return first_request.statement()
    return f"import {case}" if case == BASELINE else import_statement(case)


def cold_start(
    case: str, *, traced: bool, pycache: Path, extra: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """One fresh interpreter loading `case` (the baseline's modules or an entry point): the import
    alone (timed in the child: elapsed, then CPU) and the whole process (interpreter start, import,
    exit), in seconds. Bytecode is written to and read from `pycache`."""
    env = lambda_environment(traced=traced) | {"PYTHONPYCACHEPREFIX": str(pycache)} | (extra or {})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-c", _TIMED.format(statement=statement(case))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    elapsed, cpu = map(float, done.stdout.strip().splitlines()[-1].split())
    return elapsed, cpu, time.perf_counter() - started


def best_of(runs: int) -> dict[tuple[str, bool], list[float]]:
    """Per (module, traced): the best import (elapsed, CPU) and process seconds over `runs` rounds. Each round runs
    every case once, so a burst of load from the machine's other users falls on all rows alike; a
    first, untimed round leaves the `.pyc` files warm."""
    cases = [
        (module, traced)
        for module in (BASELINE, *ENTRY_POINTS, first_request.CASE)
        for traced in (False, True)
    ]
    best = {case: [float("inf")] * 3 for case in cases}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache, first_request.dynamodb() as aws:
        for round_ in range(runs + 1):
            for module, traced in cases:
                extra = aws if module == first_request.CASE else None
                figures = cold_start(module, traced=traced, pycache=Path(pycache), extra=extra)
                if round_:
                    best[module, traced] = [
                        min(pair) for pair in zip(best[module, traced], figures, strict=True)
                    ]
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
    modules = (BASELINE, *ENTRY_POINTS, first_request.CASE)
    rows = [(module, *best[module, False], *best[module, True]) for module in modules]
    print(f"after:  {machine()}")
    print(f"baseline: import {BASELINE}")

    # The baseline imports no handler, so tracing does not change it: one floor per kind, the best seen.
    _, *floors = rows[0]
    base = [min(floors[kind], floors[kind + 3]) for kind in range(3)] * 2
    print(f"\nbest of {args.runs}, .pyc warm, seconds (ratio to the baseline)")
    print(
        "import: the import statement alone; CPU: its CPU time (steadier than elapsed time when the "
        "machine is loaded); process: interpreter start + import + exit\n"
    )
    header = ("untraced import", "CPU", "process", "traced import", "CPU", "process")
    print(f"{'entry point':<44}" + "".join(f"{title:>16}" for title in header))
    for module, *seconds in rows:
        name = "baseline" if module == BASELINE else module
        cells = "".join(
            f"{value:>9.3f} ({value / floor:>3.1f}x)" for value, floor in zip(seconds, base, strict=True)
        )
        print(f"{name:<44}{cells}")


if __name__ == "__main__":
    main()

"""Cold start: how much CPU loading each Lambda entry point takes (`from <module> import <function>`, as
Lambda's runtime does), against the floor every handler pays (`import boto3, aws_lambda_powertools,
pynamodb`), as a ratio per entry point.

Run from the repository root: `python tests/benchmarks/bench_cold_start.py [--runs 7]`. Prints figures
only (no assertions on timing; `tests/unit/test_cold_start_imports.py` guards the heavy imports).

The figure is the CPU time (user + system, `time.process_time` in the child) of the import statement
in a fresh interpreter, the best of `--runs` (at least 7) rounds. CPU, not elapsed time: the machine is
shared, and other processes stretch the wall clock of an import, not the CPU it burns. Each round runs
every case once, the baseline included, so the baseline is measured in the same run and under the same
load as the handlers it is compared with. `.pyc` files are warm (written under a temporary
PYTHONPYCACHEPREFIX by a first, untimed round, whatever the caller's PYTHONDONTWRITEBYTECODE). The
child gets the environment of a deployed function (`tests.entrypoints`): Lambda's own variables, the
CDK app's settings and dummy wiring. "traced" is as deployed (active X-Ray: Powertools' Tracer loads
the X-Ray SDK and patches botocore, httpx, requests...); "untraced" sets POWERTOOLS_TRACE_DISABLED.

Also printed, untraced: the elapsed time of the same imports (for scale), and how many full (oldest
generation) garbage collections ran during the import. A full collection walks every object the import
has created (10-20 ms here); the interpreter starts one once enough container objects have been
allocated, so an import that crosses that line pays a step, not a slope. A development-only package
installed next to the app is counted although a Lambda bundle lacks it: rich (import-linter's), which
httpx's command-line module imports when present.

`--instructions` adds a column that does not depend on the machine's load at all: the instructions the
import executes (untraced), counted by valgrind's cachegrind (one run per case, ≈ 20 s each: the count
is the same every run) less those of an interpreter that imports nothing, with its ratio to the
baseline's. It needs `valgrind` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import first_request  # noqa: E402
from tests.entrypoints import ENTRY_POINTS, PYTHON, import_statement, lambda_environment  # noqa: E402

BASELINE = "boto3, aws_lambda_powertools, pynamodb"
MIN_RUNS = 7
# The last row is the API's import and its first request, a GET answered from DynamoDB
# (`first_request.py`): routes built on demand still show in what a cold start costs a caller.
CASES = (BASELINE, *ENTRY_POINTS, first_request.CASE)
_TIMED = (
    "import gc, time; t, c = time.perf_counter(), time.process_time(); {statement}; "
    "print(time.process_time() - c, time.perf_counter() - t, gc.get_stats()[2]['collections'])"
)


@dataclass(frozen=True)
class Import:
    """One fresh interpreter's import: CPU and elapsed seconds, and full collections run meanwhile."""

    cpu: float
    elapsed: float
    full_collections: int


def statement(case: str) -> str:
    if case == first_request.CASE:
        return first_request.statement()
    return f"import {case}" if case == BASELINE else import_statement(case)


def cold_start(case: str, *, traced: bool, pycache: Path, extra: dict[str, str] | None = None) -> Import:
    """One fresh interpreter loading `case` (the baseline's modules, an entry point, or the API's import
    and first request), timed inside the child. Bytecode is written to and read from `pycache`."""
    env = lambda_environment(traced=traced) | {"PYTHONPYCACHEPREFIX": str(pycache)} | (extra or {})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [PYTHON, "-c", _TIMED.format(statement=statement(case))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cpu, elapsed, collections = done.stdout.strip().splitlines()[-1].split()
    return Import(float(cpu), float(elapsed), int(collections))


def instructions(case: str | None, *, pycache: Path) -> int:
    """Instructions a fresh, untraced interpreter executes to load `case` (None: nothing), counted by
    cachegrind. String hashing is seeded, so the count repeats exactly."""
    env = lambda_environment(traced=False) | {"PYTHONPYCACHEPREFIX": str(pycache), "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            PYTHON,
            "-c",
            "pass" if case is None else statement(case),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def instructions_of_imports(pycache: Path) -> dict[str, int]:
    """Per case: the instructions of its import alone (an empty interpreter's subtracted)."""
    start = instructions(None, pycache=pycache)
    return {module: instructions(module, pycache=pycache) - start for module in (BASELINE, *ENTRY_POINTS)}


def best_of(runs: int, pycache: Path) -> dict[tuple[str, bool], Import]:
    """Per (module, traced): the best CPU and elapsed time over `runs` rounds (each its own minimum),
    and the full collections of the round with the least CPU. Each round runs every case once, the
    baseline first, so a burst of load from the machine's other users falls on all rows alike; a first,
    untimed round leaves the `.pyc` files warm."""
    cases = [(module, traced) for module in (*CASES,) for traced in (False, True)]
    best: dict[tuple[str, bool], Import] = {}
    with first_request.dynamodb() as aws:
        for round_ in range(runs + 1):
            for case in cases:
                module, traced = case
                extra = aws if module == first_request.CASE else None
                figures = cold_start(module, traced=traced, pycache=pycache, extra=extra)
                if not round_:
                    continue
                seen = best.get(case, figures)
                fastest = figures if figures.cpu < seen.cpu else seen
                best[case] = Import(fastest.cpu, min(seen.elapsed, figures.elapsed), fastest.full_collections)
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
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help=f"rounds, at least {MIN_RUNS}")
    parser.add_argument(
        "--instructions", action="store_true", help="also count each import's instructions (valgrind)"
    )
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}: fewer rounds leave too much of the noise")
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on the PATH")

    print(f"before: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        best = best_of(args.runs, Path(pycache))
        counted = instructions_of_imports(Path(pycache)) if args.instructions else {}
    print(f"after:  {machine()}")
    print(f"baseline: import {BASELINE}")

    # The baseline imports no handler, so tracing does not change it: one floor, the best seen.
    floor = min(best[BASELINE, False].cpu, best[BASELINE, True].cpu)
    print(
        f"\nbest of {args.runs} fresh interpreters, .pyc warm: CPU seconds of the import (ratio to the baseline's)\n"
    )
    header = ("untraced CPU", "traced CPU", "elapsed", "full GCs", *(["instructions"] if counted else []))
    print(f"{'entry point':<44}" + "".join(f"{title:>16}" for title in header))
    for module in CASES:
        untraced, traced = best[module, False], best[module, True]
        name = "baseline" if module == BASELINE else module
        count = (
            f"{counted[module] / 1e6:>7.0f}M ({counted[module] / counted[BASELINE]:>4.2f}x)"
            if module in counted
            else ""
        )
        print(
            f"{name:<44}"
            + "".join(f"{run.cpu:>8.3f} ({run.cpu / floor:>4.2f}x)" for run in (untraced, traced))
            + f"{untraced.elapsed:>16.3f}{untraced.full_collections:>16d}{count}"
        )


if __name__ == "__main__":
    main()

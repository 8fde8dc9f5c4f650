"""Target-import throughput and memory: parse + validate a large CSV and XLSX, next to the raw readers.

Run from the repository root: `python tests/benchmarks/bench_ingest.py [--csv-rows N] [--xlsx-rows N]`.
Prints figures only (no timing assertions). Targets (issue): parse+validate CSV >= 200k rows/s,
XLSX >= 100k rows/s, flat memory.

Stages: generate realistic files (`write_csv`, `write_xlsx`); `parse_and_validate(path)`
(`shared.imports.rows.parse_targets` alone, counted); `parse_validate_write(path)` (the whole import into
DynamoDB under moto); the raw readers on the same files for comparison.
Peak memory is measured in fresh child processes (`--child`), so one measurement cannot inflate
the next: peak RSS growth (VmHWM, which also sees calamine's native allocations) and the
tracemalloc peak (Python objects only) in a separate run, as tracing slows everything down.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.domain.models import ImportRowError  # noqa: E402
from shared.domain.phones import DDD_STATES  # noqa: E402
from shared.imports.rows import parse_targets  # noqa: E402

TODAY = dt.date(2026, 3, 10)
HEADER = ["Nome", "Telefone", "CPF/CNPJ", "Valor", "Fatura", "Ponto de instalação", "Vencimento"]

_FIRST = "João Maria José Ana Antônio Francisca Luíz Márcia Conceição Sebastião Cláudia Raimundo".split()
_LAST = "Silva Santos Oliveira Souza Conceição Araújo Gonçalves Magalhães Simões Fernandes Brandão".split()
_DDDS = sorted(DDD_STATES)


# --- Realistic data ---


def _dv(base: str, weights: range | tuple[int, ...]) -> str:
    remainder = sum((ord(c) - 48) * w for c, w in zip(base, weights, strict=True)) % 11
    return "0" if remainder < 2 else str(11 - remainder)


def _cpf(rng: random.Random) -> str:
    base = f"{rng.randrange(10**9):09d}"
    first = _dv(base, range(10, 1, -1))
    return base + first + _dv(base + first, range(11, 1, -1))


def _cnpj(rng: random.Random) -> str:
    base = f"{rng.randrange(10**8):08d}0001"
    first = _dv(base, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))
    return base + first + _dv(base + first, (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))


def _punctuated(doc: str) -> str:
    if len(doc) == 11:
        return f"{doc[:3]}.{doc[3:6]}.{doc[6:9]}-{doc[9:]}"
    return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"


# An ISP bills a handful of plans: most invoices are a plan's monthly fee.
_PLAN_PRICES = (79.9, 89.9, 99.9, 109.9, 119.9, 129.9, 149.9, 199.9)


def customer_rows(count: int, seed: int = 2026, *, worst_case: bool = False) -> Iterator[list[object]]:
    """Rows an ISP's billing export would have, ~5% of them bad.

    Realistic mix: 1-3 open invoices per customer (listed together), 60% of amounts a plan's fee,
    the rest pro-rata/fees/renegotiations. `worst_case`: one invoice per customer and every amount
    distinct, so no repeated value helps the validator. Values are typed as XLSX holds them
    (phones and installation points as numbers, amounts as floats, due dates as dates);
    `write_csv` renders them as Excel-BR would.
    """
    rng = random.Random(seed)
    invoices_per_customer = (1,) if worst_case else (1, 1, 1, 2, 2, 3)
    produced = 0
    invoice = 100_000
    while produced < count:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {rng.choice(_LAST)}"
        doc = _cpf(rng) if rng.random() < 0.9 else _cnpj(rng)
        document = _punctuated(doc) if rng.random() < 0.7 else doc
        phone = int(f"{rng.choice(_DDDS)}9{rng.randrange(10**8):08d}")
        point = rng.randrange(10**5, 10**6)
        for _ in range(rng.choice(invoices_per_customer)):
            if produced == count:
                return
            invoice += 1
            if worst_case:
                amount = 39.9 + invoice % 1_000_000 / 100
            elif rng.random() < 0.6:
                amount = rng.choice(_PLAN_PRICES)
            else:
                amount = round(rng.uniform(39.9, 1500), 2)
            due = TODAY - dt.timedelta(days=rng.randrange(5, 700))
            row: list[object] = [name, phone, document, amount, f"FAT-{invoice}", point, due]
            roll = rng.random()
            if roll < 0.02:
                row[2] = document[:-1] + str((int(document[-1]) + 1) % 10)  # a typo in the check digit
            elif roll < 0.03:
                row[3] = 0.0
            elif roll < 0.04:
                row[1] = 12345
            elif roll < 0.05:
                row[6] = TODAY - dt.timedelta(days=365 * 6)  # time-barred
            produced += 1
            yield row


def write_csv(path: Path, count: int, *, worst_case: bool = False) -> None:
    """What Excel-BR's "CSV (separado por vírgulas)" writes: CP1252, ';', decimal comma, DD/MM/YYYY."""
    with path.open("w", encoding="cp1252", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for name, phone, document, amount, invoice, point, due in customer_rows(count, worst_case=worst_case):
            brl = f"{amount:,.2f}".translate(str.maketrans(",.", ".,"))
            writer.writerow([name, phone, document, brl, invoice, point, f"{due:%d/%m/%Y}"])


def write_xlsx(path: Path, count: int, *, worst_case: bool = False) -> None:
    """A workbook with typed cells, written with openpyxl's streaming (write-only) mode."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Inadimplentes")
    sheet.append(HEADER)
    for row in customer_rows(count, worst_case=worst_case):
        sheet.append(row)
    workbook.save(path)


# --- Measurements ---


@dataclass
class Counts:
    rows: int = 0
    valid: int = 0
    rejected: int = 0


def parse_and_validate(path: Path) -> Counts:
    """The import minus storage: every row parsed and validated, valid ones counted (not kept)."""
    with path.open("rb") as stream:
        by_kind = Counter(map(type, parse_targets(stream, path.name, TODAY)))  # counted in C
    rejected = by_kind[ImportRowError]
    return Counts(rows=by_kind.total(), valid=by_kind.total() - rejected, rejected=rejected)


def parse_validate_write(path: Path) -> tuple[int, float]:
    """The whole import (`shared.imports.ingest.import_targets`) into DynamoDB under in-process moto:
    returns (rows imported, seconds). moto's DynamoDB is far slower than the real service, so this
    bounds the Python side of the write path from above. moto runs with the sandbox's speed-ups
    (`infra.local.moto_speedups`): stock moto copies a table once per item of every transaction."""
    import os
    import time

    from moto import mock_aws

    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="sa-east-1")
    os.environ.pop("IMPORT_BUCKET", None)
    from infra.local import moto_speedups
    from shared.core.config import reset_settings
    from shared.data import bind, create_tables
    from shared.domain.models import ContactMethod
    from shared.engine.campaigns import create as create_campaign
    from shared.imports.ingest import import_targets

    moto_speedups.apply()
    reset_settings()
    with mock_aws():
        bind()
        create_tables()
        campaign = create_campaign(name="bench", contact_method=ContactMethod.WHATSAPP_PRIMARY)
        started = time.perf_counter()
        with path.open("rb") as stream:
            job = import_targets(campaign.id, stream, path.name)
        return job.imported, time.perf_counter() - started


def raw_csv_reader(path: Path) -> int:
    with path.open(encoding="cp1252", newline="") as file:
        return sum(1 for _ in csv.reader(file, delimiter=";"))


def raw_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def raw_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as workbook:
        return sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows())


def best_rate(func: Callable[[Path], object], path: Path, rows: int, repeats: int) -> float:
    """Rows per second, best of `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func(path)
        best = min(best, time.perf_counter() - start)
    return rows / best


def parse_and_validate_streamed(path: Path) -> Counts:
    """`parse_and_validate` with an XLSX read the way sheets too large for calamine are: streamed."""
    from shared.imports import spreadsheets

    saved, spreadsheets.XLSX_IN_MEMORY_SHEET_BYTES = spreadsheets.XLSX_IN_MEMORY_SHEET_BYTES, -1
    try:
        return parse_and_validate(path)
    finally:
        spreadsheets.XLSX_IN_MEMORY_SHEET_BYTES = saved


_CHILD_TASKS: dict[str, Callable[[Path], object]] = {
    "parse": parse_and_validate,
    "parse_streamed": parse_and_validate_streamed,
    "raw_openpyxl": raw_openpyxl,
    "raw_calamine": raw_calamine,
}


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(task: str, path: Path, traced: bool) -> None:
    """Run one task in this (fresh) process and print its memory figures as JSON."""
    func = _CHILD_TASKS[task]
    if traced:
        tracemalloc.start()
        func(path)
        print(json.dumps({"traced_peak_mb": tracemalloc.get_traced_memory()[1] / 1e6}))
        return
    baseline = _vm_kib("VmRSS")
    func(path)
    print(json.dumps({"rss_growth_mb": (_vm_kib("VmHWM") - baseline) * 1024 / 1e6}))


def peak_memory(task: str, path: Path) -> str:
    figures: dict[str, float] = {}
    for traced in (False, True):
        command = [sys.executable, __file__, "--child", task, str(path)] + (["--traced"] if traced else [])
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        figures.update(json.loads(output))
    return f"peak RSS +{figures['rss_growth_mb']:.1f} MB, tracemalloc peak {figures['traced_peak_mb']:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--small-csv-rows", type=int, default=50_000)
    parser.add_argument("--xlsx-rows", type=int, default=50_000)
    parser.add_argument("--big-xlsx-rows", type=int, default=200_000, help="for the memory figures")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--worst-case", action="store_true", help="one invoice per customer, every amount distinct"
    )
    parser.add_argument("--child", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.traced)
        return

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as directory:
        big_csv, small_csv = Path(directory, "big.csv"), Path(directory, "small.csv")
        xlsx, big_xlsx = Path(directory, "targets.xlsx"), Path(directory, "big.xlsx")
        write_csv(big_csv, args.csv_rows, worst_case=args.worst_case)
        write_csv(small_csv, args.small_csv_rows, worst_case=args.worst_case)
        write_xlsx(xlsx, args.xlsx_rows, worst_case=args.worst_case)
        write_xlsx(big_xlsx, args.big_xlsx_rows, worst_case=args.worst_case)
        print(
            f"python {sys.version.split()[0]}; best of {args.repeats}; "
            f"{'worst case (all values distinct)' if args.worst_case else 'realistic mix'}; files: "
            f"CSV {args.csv_rows:,} rows {big_csv.stat().st_size / 1e6:.1f} MB (CP1252, ';'), "
            f"XLSX {args.xlsx_rows:,} rows {xlsx.stat().st_size / 1e6:.1f} MB"
        )
        counts = parse_and_validate(big_csv)
        print(f"CSV rows: {counts.valid:,} valid, {counts.rejected:,} rejected")

        csv_rate = best_rate(parse_and_validate, big_csv, args.csv_rows, args.repeats)
        raw_rate = best_rate(raw_csv_reader, big_csv, args.csv_rows, args.repeats)
        print(f"CSV  parse+validate   {csv_rate:>10,.0f} rows/s  (target 200,000)")
        print(
            f"CSV  raw csv.reader   {raw_rate:>10,.0f} rows/s  (parse+validate = {csv_rate / raw_rate:.2f}x raw)"
        )

        xlsx_rate = best_rate(parse_and_validate, xlsx, args.xlsx_rows, args.repeats)
        calamine_rate = best_rate(raw_calamine, xlsx, args.xlsx_rows, args.repeats)
        openpyxl_rate = best_rate(raw_openpyxl, xlsx, args.xlsx_rows, 1)
        print(f"XLSX parse+validate   {xlsx_rate:>10,.0f} rows/s  (target 100,000)")
        print(
            f"XLSX raw calamine     {calamine_rate:>10,.0f} rows/s  ({calamine_rate / openpyxl_rate:.1f}x openpyxl)"
        )
        print(f"XLSX raw openpyxl RO  {openpyxl_rate:>10,.0f} rows/s")
        streamed_rate = best_rate(parse_and_validate_streamed, xlsx, args.xlsx_rows, 1)
        print(
            f"XLSX parse+validate streamed (openpyxl, sheets over the in-memory limit) {streamed_rate:>8,.0f} rows/s"
        )

        for label, path in (("CSV ", big_csv), ("XLSX", xlsx)):
            imported, seconds = parse_validate_write(path)
            print(
                f"{label} parse+validate+write (moto) {imported / seconds:>8,.0f} rows/s "
                f"({imported:,} targets in {seconds:.1f} s)"
            )

        print("peak memory (fresh process each):")
        print(f"  CSV  {args.small_csv_rows:>7,} rows parse+validate: {peak_memory('parse', small_csv)}")
        print(f"  CSV  {args.csv_rows:>7,} rows parse+validate: {peak_memory('parse', big_csv)}")
        for rows, path in ((args.xlsx_rows, xlsx), (args.big_xlsx_rows, big_xlsx)):
            print(f"  XLSX {rows:>7,} rows parse+validate (calamine): {peak_memory('parse', path)}")
            print(f"  XLSX {rows:>7,} rows parse+validate streamed:   {peak_memory('parse_streamed', path)}")
        print(f"  XLSX {args.xlsx_rows:>7,} rows raw calamine:   {peak_memory('raw_calamine', xlsx)}")
        print(f"  XLSX {args.xlsx_rows:>7,} rows raw openpyxl:   {peak_memory('raw_openpyxl', xlsx)}")


if __name__ == "__main__":
    main()

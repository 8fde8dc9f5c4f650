"""Throughput of the pure domain validators and the cold import time of `shared`.

Run from the repository root: `python tests/benchmarks/bench_domain.py [--rows N] [--seed S]`.
Prints figures only (no timing assertions): the importer's target is 200k validations/second.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.domain.documents import normalize_document  # noqa: E402
from shared.domain.errors import InvalidInput  # noqa: E402
from shared.domain.money import parse_money  # noqa: E402
from shared.domain.phones import DDD_STATES, normalize_phone  # noqa: E402

_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DDDS = sorted(DDD_STATES)
_IMPORTS = "shared.domain.documents, shared.domain.phones, shared.domain.money, shared.domain.models, shared.core.config"


def _dv(base: str, weights: range | tuple[int, ...]) -> str:
    remainder = sum((ord(c) - 48) * w for c, w in zip(base, weights, strict=True)) % 11
    return "0" if remainder < 2 else str(11 - remainder)


def _cpf(rng: random.Random) -> str:
    base = "".join(rng.choices("0123456789", k=9))
    first = _dv(base, range(10, 1, -1))
    return base + first + _dv(base + first, range(11, 1, -1))


def _cnpj(rng: random.Random, alphabet: str) -> str:
    base = "".join(rng.choices(alphabet, k=8)) + "0001"
    first = _dv(base, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))
    return base + first + _dv(base + first, (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))


def _punctuate(doc: str) -> str:
    if len(doc) == 11:
        return f"{doc[:3]}.{doc[3:6]}.{doc[6:9]}-{doc[9:]}"
    return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"


def documents(rng: random.Random, count: int) -> list[str]:
    """Mixed documents: ~80% valid (bare and punctuated, numeric and alphanumeric), ~20% invalid."""
    out: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.35:
            doc = _cpf(rng)
        elif roll < 0.55:
            doc = _cnpj(rng, "0123456789")
        elif roll < 0.80:
            doc = _cnpj(rng, _ALPHANUMERIC)
            doc = doc.lower() if rng.random() < 0.2 else doc
        elif roll < 0.90:  # a wrong check digit
            doc = rng.choice((_cpf, lambda r: _cnpj(r, _ALPHANUMERIC)))(rng)
            doc = doc[:-1] + str((int(doc[-1]) + 1) % 10)
        elif roll < 0.95:
            doc = rng.choice("0123456789") * 11
        else:
            doc = "".join(rng.choices("0123456789", k=rng.choice((9, 10, 12, 13))))
        out.append(_punctuate(doc) if rng.random() < 0.5 and len(doc) in (11, 14) else doc)
    return out


def phones(rng: random.Random, count: int) -> list[str]:
    """Phones in every accepted form, plus ~10% invalid ones."""
    out: list[str] = []
    for _ in range(count):
        ddd = rng.choice(_DDDS)
        mobile = "9" + "".join(rng.choices("0123456789", k=8))
        landline = rng.choice("2345") + "".join(rng.choices("0123456789", k=7))
        sub = mobile if rng.random() < 0.8 else landline
        dash = f"{sub[:-4]}-{sub[-4:]}"
        e164 = f"55{ddd}{sub}"
        forms = (
            e164,  # the canonical form is the commonest
            e164,
            e164,
            f"+55 ({ddd}) {dash}",
            f"{ddd} {sub[:-4]} {sub[-4:]}",
            f"({ddd}) {dash}",
            f"0{ddd} {dash}",
            f"0 21 {ddd} {dash}",
            f"0xx{ddd}{sub}",
            f"{e164}.0",
            f"{e164[0]}.{e164[1:]}E{len(e164) - 1}",  # Excel's scientific display
            f"55{ddd}{mobile[1:]}",  # a WhatsApp JID-style number without the ninth digit
        )
        if rng.random() < 0.9:
            out.append(rng.choice(forms))
        else:
            out.append(rng.choice((f"20{sub}", sub, f"{ddd}{sub}1", f"{ddd} 9999a-8888", "")))
    return out


def amounts(rng: random.Random, count: int) -> list[str | int | float | Decimal]:
    """Amounts as spreadsheets hold them: Brazilian and US text, ints, floats; ~5% garbage."""
    out: list[str | int | float | Decimal] = []
    for _ in range(count):
        cents = rng.randrange(1, 10_000_000)
        value = Decimal(cents) / 100
        roll = rng.random()
        if roll < 0.25:
            out.append(f"{value:,.2f}".translate(str.maketrans(",.", ".,")))
        elif roll < 0.45:
            out.append("R$ " + f"{value:,.2f}".translate(str.maketrans(",.", ".,")))
        elif roll < 0.60:
            out.append(f"{value:.2f}")
        elif roll < 0.70:
            out.append(f"{value:,.2f}")
        elif roll < 0.80:
            out.append(float(value))
        elif roll < 0.90:
            out.append(cents // 100)
        elif roll < 0.95:
            out.append(f"{value:.2f}".replace(".", ","))
        else:
            out.append(rng.choice(("", "abc", "NaN", "1,2,3", "1.23,45.6")))
    return out


def throughput(name: str, func: Callable[[Any], object], inputs: Sequence[Any], repeats: int) -> None:
    """Best-of-`repeats` validations/second over `inputs`, with the valid share."""
    best = float("inf")
    valid = 0
    for _ in range(repeats):
        valid = 0
        start = time.perf_counter()
        for value in inputs:
            try:
                func(value)
                valid += 1
            except InvalidInput:
                pass
        best = min(best, time.perf_counter() - start)
    rate = len(inputs) / best
    print(
        f"{name:<20} {rate:>12,.0f} /s   {best * 1e3:8.1f} ms per {len(inputs):,}   "
        f"{best / len(inputs) * 1e9:6.0f} ns each   valid {valid / len(inputs):.0%}"
    )


def import_time_ms(modules: str, runs: int, *, pycache: Path, reuse_bytecode: bool) -> list[float]:
    """Milliseconds to import `modules`, each run in a fresh interpreter.

    Bytecode lives under `pycache` (outside the tree). With `reuse_bytecode` it is written and
    reused, as in a deployment that ships .pyc files; without it (and `pycache` empty) every run
    compiles every module it imports, dependencies included.
    """
    code = f"import time; t = time.perf_counter(); import {modules}; print((time.perf_counter() - t) * 1e3)"
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(pycache)}
    if reuse_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]


def report_import_times(runs: int = 7) -> None:
    """Median cold import time of the domain modules, with and without compiled bytecode."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache,
        tempfile.TemporaryDirectory(prefix="bench-nocache-") as empty,
    ):
        for modules in (_IMPORTS, "shared.domain.documents, shared.domain.money", "shared.domain.phones"):
            import_time_ms(modules, 1, pycache=Path(cache), reuse_bytecode=True)  # compile into the cache
            cached = import_time_ms(modules, runs, pycache=Path(cache), reuse_bytecode=True)
            compiling = import_time_ms(modules, runs, pycache=Path(empty), reuse_bytecode=False)
            print(
                f"cold import of {modules}: median {statistics.median(cached):.1f} ms with .pyc, "
                f"{statistics.median(compiling):.1f} ms with no .pyc at all ({runs} fresh interpreters each)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    print(
        f"python {sys.version.split()[0]}, {args.rows:,} inputs each, seed {args.seed}, best of {args.repeats}"
    )
    throughput("normalize_document", normalize_document, documents(rng, args.rows), args.repeats)
    throughput("normalize_phone", normalize_phone, phones(rng, args.rows), args.repeats)
    throughput("parse_money", parse_money, amounts(rng, args.rows), args.repeats)

    report_import_times()


if __name__ == "__main__":
    main()

"""A campaign's CSV export streams with flat memory: prints, for a 10,000- and a 100,000-case campaign
(in-process moto), the time to stream `GET /api/voice/campaigns/{id}/export.csv` (the route's own
StreamingResponse body, consumed chunk by chunk as a client would) and the peak RSS while it runs.

Each size runs in a fresh child process (`--child N`); moto keeps the cases in that process's memory,
so the figure that matters is the growth of the peak (VmHWM, reset through /proc/self/clear_refs
after loading) over the RSS before the export, not the absolute RSS. The cases are loaded with
batch writes rather than `targets.insert_new`'s conditional transactions, which moto answers by
copying the whole table each time (quadratic: 2,000 cases took minutes).

Run: `python tests/benchmarks/bench_exports.py [--sizes 10000 100000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def _cases(campaign_id: str, start: int, count: int) -> list:
    from shared.domain.ids import target_id
    from shared.domain.models import Invoice, Target

    now = datetime.now(UTC)
    return [
        Target(
            id=target_id(campaign_id, f"{i:011d}"),
            campaign_id=campaign_id,
            client_name=f"Cliente {i}",
            phone="5511999998888",
            document=f"{i:011d}",
            invoices=[
                Invoice(invoice_number=f"F{i}-{n}", amount=Decimal("89.90") + n) for n in range(1 + i % 3)
            ],
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for i in range(start, start + count)
    ]


async def _consume(body) -> tuple[int, int]:
    size = chunks = 0
    async for chunk in body:
        size += len(chunk)
        chunks += 1
    return size, chunks


def child(size: int) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="sa-east-1")
    from moto import mock_aws

    from functions.api.auth import Principal, Role
    from functions.api.routes.exports import export_cases
    from infra.local import moto_speedups
    from shared.core.config import reset_settings
    from shared.data import bind, create_tables, targets
    from shared.data.base import batch_put
    from shared.domain.models import ContactMethod
    from shared.engine.campaigns import create as create_campaign

    moto_speedups.apply()  # the sandbox's moto: stock moto sorts the whole table for every query page
    reset_settings()
    with mock_aws():
        bind()
        create_tables()
        campaign = create_campaign(name=f"bench {size}", contact_method=ContactMethod.VOICE)
        started = time.perf_counter()
        for start in range(0, size, 5_000):
            cases = _cases(campaign.id, start, min(5_000, size - start))
            batch_put(targets.TargetRecord, map(targets._record, cases))
        loaded = time.perf_counter() - started
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        baseline = _vm_kib("VmRSS")
        started = time.perf_counter()
        response = export_cases(campaign.id, Principal("bench", Role.ADMIN))
        written, chunks = asyncio.run(_consume(response.body_iterator))
        seconds = time.perf_counter() - started
        peak = _vm_kib("VmHWM")
    print(
        json.dumps(
            {
                "cases": size,
                "bytes": written,
                "chunks": chunks,
                "seconds": seconds,
                "load_seconds": loaded,
                "rss_before_mb": baseline / 1024,
                "peak_rss_mb": peak / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        r = json.loads(output.strip().splitlines()[-1])
        print(
            f"export of {r['cases']:>7,} cases: {r['bytes'] / 1e6:.1f} MB in {r['chunks']} chunks, "
            f"{r['seconds']:.1f} s ({r['cases'] / r['seconds']:,.0f} cases/s); peak RSS "
            f"{r['peak_rss_mb']:.0f} MB = {r['rss_before_mb']:.0f} MB before the export (moto holding "
            f"the cases) + {r['peak_rss_mb'] - r['rss_before_mb']:.1f} MB while streaming "
            f"(loading took {r['load_seconds']:.0f} s)"
        )


if __name__ == "__main__":
    main()

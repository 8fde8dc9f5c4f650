"""A campaign's CSV export streams with flat memory: prints, for a 10,000- and a 100,000-case campaign,
the time to stream `GET /api/voice/campaigns/{id}/export.csv` (the route's own StreamingResponse body,
consumed chunk by chunk as a client would) and the peak RSS while it runs.

The cases do not come from DynamoDB: moto takes minutes to load 100k cases and holds them all in the
measuring process, which would hide the exporter's own memory behind the fake database's. The exporter
is fed through its data-access seam instead — `shared.data.targets.list_for_campaign` (and
`campaigns.get`) replaced by a generator that builds each page of `EXPORT_PAGE` generated cases only
when the exporter asks for it — so everything from the page loop to the CSV bytes (rows, formula
escaping, BOM, the StreamingResponse) is the production code, and what the peak measures is the
exporter's memory, not the store's. A flat peak from 10k to 100k is the claim.

Each size runs in a fresh child process (`--child N`); the peak is VmHWM, reset through
/proc/self/clear_refs just before the export, against the RSS at that moment.

Run: `python tests/benchmarks/bench_exports.py [--sizes 10000 100000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
    from functions.api.auth import Principal, Role
    from functions.api.routes.exports import export_cases
    from shared.core.config import reset_settings
    from shared.domain.models import Campaign, ContactMethod
    from shared.domain.pages import Page
    from shared.engine import exports

    reset_settings()
    now = datetime.now(UTC)
    campaign = Campaign(
        id="bench", name=f"bench {size}", contact_method=ContactMethod.VOICE, created_at=now, updated_at=now
    )
    served = {"cases": 0}

    def list_for_campaign(campaign_id: str, *, limit: int, cursor: str | None = None, **_: object) -> Page:
        start = int(cursor or 0)
        count = min(limit, size - start)
        served["cases"] += count
        following = start + count
        return Page(
            items=_cases(campaign_id, start, count), next_cursor=str(following) if following < size else None
        )

    exports.campaigns_data.get = lambda campaign_id: campaign  # type: ignore[assignment]
    exports.targets_data.list_for_campaign = list_for_campaign  # type: ignore[assignment]
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    baseline = _vm_kib("VmRSS")
    started = time.perf_counter()
    response = export_cases(campaign.id, Principal("bench", Role.ADMIN))
    written, chunks = asyncio.run(_consume(response.body_iterator))
    seconds = time.perf_counter() - started
    peak = _vm_kib("VmHWM")
    assert served["cases"] == size, served
    print(
        json.dumps(
            {
                "cases": size,
                "bytes": written,
                "chunks": chunks,
                "seconds": seconds,
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
            f"{r['peak_rss_mb']:.1f} MB = {r['rss_before_mb']:.1f} MB before the export + "
            f"{r['peak_rss_mb'] - r['rss_before_mb']:.1f} MB while streaming"
        )
    print("(cases generated page by page through the exporter's data-access seam, not read from moto)")


if __name__ == "__main__":
    main()

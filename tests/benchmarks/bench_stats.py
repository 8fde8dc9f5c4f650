"""Campaign stats latency must not grow with the campaign's size: `GET /stats` reads one counters
item, never the targets. Prints the latency for a 100-target and a 50,000-target campaign (in-process
moto; the API route through Starlette's TestClient).

Run: `python tests/benchmarks/bench_stats.py [--big 50000]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from moto import mock_aws


def _targets(campaign_id: str, count: int) -> list:
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
            invoices=[Invoice(invoice_number=f"F{i}", amount=Decimal("89.90"))],
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--big", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="sa-east-1",
        COBRANCA_API_TOKENS="viewer:bench",
    )
    from fastapi.testclient import TestClient

    from functions.api.app import create_app
    from shared.core.config import reset_settings
    from shared.data import bind, create_tables, targets
    from shared.domain.models import ContactMethod
    from shared.engine.campaigns import create as create_campaign

    reset_settings()
    with mock_aws():
        bind()
        create_tables()
        client = TestClient(create_app())
        headers = {"Authorization": "Bearer bench"}
        for size in (args.small, args.big):
            campaign = create_campaign(name=f"bench {size}", contact_method=ContactMethod.VOICE)
            rows = _targets(campaign.id, size)
            started = time.perf_counter()
            for start in range(0, size, 5_000):
                targets.insert_new(rows[start : start + 5_000])
            loaded = time.perf_counter() - started
            timings = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                response = client.get(f"/api/voice/campaigns/{campaign.id}/stats", headers=headers)
                timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200 and response.json()["totalTargets"] == size
            timings.sort()
            print(
                f"stats for a {size:>6,}-target campaign: p50 {statistics.median(timings):.2f} ms, "
                f"p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms over {args.requests} requests "
                f"(loading the targets took {loaded:.1f} s)"
            )


if __name__ == "__main__":
    main()

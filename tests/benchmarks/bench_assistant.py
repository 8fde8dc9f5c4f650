"""The WhatsApp assistant's two latencies that matter.

1. Webhook acknowledgement: `POST /api/whatsapp/webhook` in-process (Starlette's TestClient over the
   ASGI app) with moto behind it — authenticate, validate, enqueue on the FIFO queue, claim the
   message id. Evolution retries what is not acknowledged fast, so this must stay in milliseconds.
2. Assistant turn overhead, excluding the model: a whole inbound turn (`shared.engine.inbound.handle`: find
   the conversation, store the message, milestone, the tool loop, the CRM tool over loopback, the
   reply through Evolution, store it) with the OpenAI fake scripted to call `consultar_faturas_cpf`
   and then answer. Overhead = turn time − time spent inside the fake's handler.

Run from the repository root: `python tests/benchmarks/bench_assistant.py [--webhooks N] [--turns N]`.
Prints figures only (no timing assertions). Every AWS call goes to moto in-process, whose DynamoDB and
SQS are far slower than the real services: read the figures as an upper bound of our own code's cost.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "sa-east-1",
        "AWS_DEFAULT_REGION": "sa-east-1",
        "COBRANCA_TABLE_PREFIX": "bench",
        "POWERTOOLS_LOG_LEVEL": "WARNING",  # one JSON line per step would measure the terminal
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    }
)
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "COBRANCA_SECRETS_ARN"):
    os.environ.pop(_name, None)

import boto3  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from moto import mock_aws  # noqa: E402
from openai import OpenAI  # noqa: E402

from infra.local.simulators.crm import CrmSimulator, SimInvoice  # noqa: E402
from infra.local.simulators.evolution import EvolutionSimulator, messages_upsert  # noqa: E402
from infra.local.simulators.openai import OpenAISimulator, call, text, tool_calls  # noqa: E402
from infra.local.simulators.server import serve_in_thread  # noqa: E402
from shared.adapters import clients, queues  # noqa: E402
from shared.adapters.crm import HttpCrmClient  # noqa: E402
from shared.adapters.evolution import EvolutionClient  # noqa: E402
from shared.core import clock  # noqa: E402
from shared.core.config import get_settings, reset_settings  # noqa: E402
from shared.core.jobs import InboundMessage  # noqa: E402
from shared.data import bind, conversations, create_tables  # noqa: E402
from shared.data import targets as targets_data  # noqa: E402
from shared.domain.ids import conversation_id, target_id  # noqa: E402
from shared.domain.models import Conversation, ConversationSource, Invoice, Target  # noqa: E402
from shared.engine import inbound  # noqa: E402

TOKEN = "bench-webhook-token"
INSTANCE = "cobranca"


class AwsTimer:
    """Time spent in AWS API calls (moto, in-process), to tell our code's cost from the stand-in's."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def install(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        timer = self

        def timed(client: BaseClient, operation: str, params: dict) -> dict:  # type: ignore[type-arg]
            started = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                timer.seconds += time.perf_counter() - started
                timer.calls += 1

        BaseClient._make_api_call = timed  # type: ignore[method-assign]


AWS = AwsTimer()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<44} p50 {percentile(ms, 50):7.2f} ms   p99 {percentile(ms, 99):7.2f} ms   "
        f"mean {statistics.fmean(ms):7.2f} ms   (n={len(ms)})"
    )


def cpf(rng: random.Random) -> str:
    def dv(base: str) -> str:
        weights = range(len(base) + 1, 1, -1)
        remainder = sum(int(c) * w for c, w in zip(base, weights, strict=True)) % 11
        return "0" if remainder < 2 else str(11 - remainder)

    base = f"{rng.randrange(10**8, 10**9):09d}"
    first = dv(base)
    return base + first + dv(base + first)


def bench_webhook(count: int) -> list[float]:
    from functions.api.app import create_app

    rng = random.Random(7)
    timings: list[float] = []
    with TestClient(create_app()) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for n in range(count + 20):
            phone = f"55119{rng.randrange(10**7, 10**8)}"
            envelope = messages_upsert(
                instance=INSTANCE, remote_jid=f"{phone}@s.whatsapp.net", text="Oi, vi a mensagem"
            )
            started = time.perf_counter()
            response = client.post("/api/whatsapp/webhook", json=envelope, headers=headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200 and response.json() == {"queued": True}, response.text
            if n >= 20:  # warm-up excluded
                timings.append(elapsed)
    return timings


def seed_debtors(count: int, crm: CrmSimulator) -> list[tuple[Target, Conversation]]:
    rng = random.Random(11)
    now = clock.now()
    debtors = []
    for _ in range(count):
        document = cpf(rng)
        phone = f"55119{rng.randrange(10**7, 10**8)}"
        target = Target(
            id=target_id("BENCH", document),
            campaign_id="BENCH",
            client_name="Cliente Bench",
            phone=phone,
            document=document,
            invoices=[Invoice(invoice_number="F-1", amount=Decimal("179.80"))],
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        targets_data.insert_new([target])
        conversation = conversations.create(
            Conversation(
                id=conversation_id(f"whatsapp_{phone}"),
                chat_id=f"whatsapp_{phone}",
                phone=phone,
                source=ConversationSource.WHATSAPP_CAMPAIGN,
                client_name=target.client_name,
                document=document,
                target_id=target.id,
                campaign_id="BENCH",
                last_activity_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        crm.add_customer(
            document,
            "Cliente Bench",
            [
                SimInvoice("FAT-1", Decimal("89.90"), datetime(2025, 1, 10).date()),
                SimInvoice("FAT-2", Decimal("89.90"), datetime(2025, 2, 10).date()),
            ],
        )
        debtors.append((target, conversation))
    return debtors


def bench_turns(
    count: int, model: OpenAISimulator, crm: CrmSimulator
) -> tuple[list[float], list[float], list[float], float]:
    debtors = seed_debtors(count + 5, crm)
    totals: list[float] = []
    overheads: list[float] = []
    outside_aws: list[float] = []
    aws_calls = 0
    for n, (target, conversation) in enumerate(debtors):
        model.script(
            tool_calls(call("consultar_faturas_cpf", cpf_cnpj=target.document)),
            text("Você tem 2 faturas em aberto, total R$ 179,80. Quando consegue pagar?"),
        )
        job = InboundMessage(
            message_id=f"BENCH{n:05d}",
            remote_jid=f"{conversation.phone}@s.whatsapp.net",
            phone=conversation.phone,
            text=f"Meu CPF é {target.document}",
        )
        busy_before, aws_before, calls_before = model.busy_seconds, AWS.seconds, AWS.calls
        started = time.perf_counter()
        result = inbound.handle(job)
        elapsed = time.perf_counter() - started
        assert result.replied and result.reason == "model", result
        if n >= 5:  # warm-up excluded
            overhead = elapsed - (model.busy_seconds - busy_before)
            totals.append(elapsed)
            overheads.append(overhead)
            outside_aws.append(overhead - (AWS.seconds - aws_before))
            aws_calls += AWS.calls - calls_before
    return totals, overheads, outside_aws, aws_calls / max(1, len(totals))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--webhooks", type=int, default=300, help="webhook posts to time (default 300)")
    parser.add_argument("--turns", type=int, default=60, help="assistant turns to time (default 60)")
    args = parser.parse_args()

    crm = CrmSimulator(api_key="bench-crm")
    evolution = EvolutionSimulator(api_key="bench-evolution", instance=INSTANCE)
    model = OpenAISimulator(api_key="sk-bench")
    servers = [serve_in_thread(sim.app) for sim in (crm, evolution, model)]  # daemon threads
    crm_url, evolution_url, model_url = (server.url for server in servers)
    previous_clock = clock.set_clock(clock.VirtualClock(datetime(2025, 3, 10, 12, 0, tzinfo=UTC)))
    try:
        with mock_aws():
            queue_url = boto3.client("sqs").create_queue(
                QueueName="inbound.fifo", Attributes={"FifoQueue": "true"}
            )["QueueUrl"]
            os.environ.update(
                {
                    "EVOLUTION_WEBHOOK_TOKEN": TOKEN,
                    "INBOUND_QUEUE_URL": queue_url,
                    "CRM_API_URL": crm_url,
                    "CRM_API_KEY": "bench-crm",
                    "EVOLUTION_API_URL": evolution_url,
                    "EVOLUTION_API_KEY": "bench-evolution",
                    "EVOLUTION_API_INSTANCE": INSTANCE,
                    "OPENAI_API_KEY": "sk-bench",
                    "OPENAI_BASE_URL": model_url + "/v1",
                }
            )
            reset_settings()
            queues.reset()
            bind()
            create_tables()
            settings = get_settings()
            clients.install(
                crm=HttpCrmClient(settings.crm(), timeout=5),
                whatsapp=EvolutionClient(settings.evolution(), timeout=5),
                openai=OpenAI(api_key="sk-bench", base_url=model_url + "/v1", timeout=5, max_retries=0),
            )

            AWS.install()
            webhook = bench_webhook(args.webhooks)
            totals, overheads, outside_aws, aws_calls = bench_turns(args.turns, model, crm)
            report(webhook, totals, overheads, outside_aws, aws_calls)
    finally:
        clock.set_clock(previous_clock)
        # The simulators' threads are daemons: no graceful shutdown waiting on idle keep-alive clients.


def report(
    webhook: list[float],
    totals: list[float],
    overheads: list[float],
    outside_aws: list[float],
    aws_calls: float,
) -> None:
    print("WhatsApp assistant (moto in-process; simulators on loopback)")
    print(summary("webhook acknowledgement (ASGI, moto)", webhook))
    print(summary("inbound turn, total (2 model calls, 1 tool)", totals))
    print(summary("inbound turn overhead, model time excluded", overheads))
    print(summary("  of which outside AWS calls (moto)", outside_aws))
    model_ms = [(t - o) * 1000 for t, o in zip(totals, overheads, strict=True)]
    print(f"{'  time inside the fake model, per turn':<44} mean {statistics.fmean(model_ms):7.2f} ms")
    print(f"{'  AWS calls per turn':<44} mean {aws_calls:7.1f}")


if __name__ == "__main__":
    main()

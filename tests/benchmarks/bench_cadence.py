"""The cadence's DynamoDB work: what an upkeep tick reads as a campaign grows, and the units a customer
costs over a whole lifecycle.

Run from the repository root: `python tests/benchmarks/bench_cadence.py [--due 20] [--customers 20]`.
Prints figures; exits non-zero if an upkeep tick of the large campaign reads more than 1.5 times what
the small one reads.

1. **Upkeep reads O(due).** Two campaigns, one of 100 and one of 10,000 `contacted` cases, each with the
   same `--due` WhatsApp messages whose reply is overdue (the rest: contacted, nothing due). One upkeep
   tick per campaign (`shared.engine.upkeep.run`); its DynamoDB reads are counted (requests, items
   returned, read units).
2. **Units per customer over its lifecycle.** `--customers` customers, each: first message (the
   scheduler's tick, the WhatsApp send) → a reply ("vou ver", the inbound turn, no model: the fallback
   assistant) → the follow-up `followUpAfterDays` later → a reply with a promise (registered as the
   assistant's tool does) → the CRM shows it paid and the promise monitor's check settles it. Upkeep
   and scheduler ticks included. Every message we send (the two campaign messages and each assistant
   reply) gets the receipts Evolution posts as `messages.update` (the Baileys integration: our own
   phone's `SERVER_ACK` and the customer's `DELIVERY_ACK` within seconds of the send, `READ` minutes
   later, before the customer answers), through `shared.engine.inbound.record_receipt` as the webhook
   hands them over; their cost is printed apart from the steps'. Units derived from item sizes as in
   `bench_engine.py` (moto's ReturnConsumedCapacity is not trustworthy); its method is printed with the
   figures.
3. **A late payment check.** `--customers` more customers get the campaign's one message and never
   answer: the cron's tick ends their cases `exhausted` (the write that ends each puts its late payment
   check on the agenda), half of them pay, and the cron's tick `LATE_PAYMENT_CHECK_DAYS` later reads the
   CRM about each: units per customer of the ending tick and of the check's.

AWS is moto in-process with the sandbox's speedups (`infra.local.moto_speedups`); the CRM and Evolution
simulators answer over loopback HTTP. The virtual clock stands on a Monday 09:00 in São Paulo.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Cobranca")

from moto import mock_aws  # noqa: E402

from infra.local import moto_speedups  # noqa: E402
from infra.local.simulators.crm import CrmSimulator, SimInvoice  # noqa: E402
from infra.local.simulators.evolution import EvolutionSimulator  # noqa: E402
from infra.local.simulators.server import serve_in_thread  # noqa: E402
from tests.benchmarks.bench_engine import Meter, cpf, index_shapes, print_by_table, print_method, units_of  # noqa: E402

MONDAY_9AM_SAO_PAULO = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
REGION = "sa-east-1"
SMALL, LARGE = 100, 10_000
MAX_RATIO = 1.5
TARGET_WCU, TARGET_RCU = 15, 6
RECEIPTS = "receipts (SERVER_ACK, DELIVERY_ACK, READ)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=20, help="overdue replies in each campaign")
    parser.add_argument("--customers", type=int, default=20, help="customers taken through a lifecycle")
    args = parser.parse_args()

    moto_speedups.apply()
    mock = mock_aws()
    mock.start()
    crm = CrmSimulator(api_key="bench-crm")
    evolution = EvolutionSimulator(api_key="bench-evo", instance="cobranca")
    crm_server, evolution_server = serve_in_thread(crm.app), serve_in_thread(evolution.app)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "COBRANCA_TABLE_PREFIX": "bench",
            "CRM_API_URL": crm_server.url,
            "CRM_API_KEY": "bench-crm",
            "EVOLUTION_API_URL": evolution_server.url,
            "EVOLUTION_API_KEY": "bench-evo",
            "EVOLUTION_API_INSTANCE": "cobranca",
            "WHATSAPP_MESSAGES_PER_SECOND": "100",
            "COMPANY_CNPJ": "11222333000181",
        }
    )
    import boto3

    from shared.core import clock
    from shared.core.config import reset_settings
    from shared.data import bind, create_tables

    virtual = clock.VirtualClock(MONDAY_9AM_SAO_PAULO)
    clock.set_clock(virtual)
    sqs = boto3.client("sqs", region_name=REGION)
    for name in ("whatsapp", "dialer", "scheduler", "post_call", "promise_monitor", "inbound"):
        os.environ[f"{name.upper()}_QUEUE_URL"] = sqs.create_queue(QueueName=name)["QueueUrl"]
    reset_settings()
    bind()
    create_tables()
    warnings.filterwarnings("ignore")
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")
    try:
        ratio = upkeep_reads(args.due, out)
        lifecycle(args.customers, crm, evolution, sqs, virtual, out)
        late_check(args.customers, crm, sqs, virtual, out)
    finally:
        sys.stdout = out
        crm_server.stop()
        evolution_server.stop()
        mock.stop()
    print_method()
    if ratio > MAX_RATIO:
        sys.exit(f"upkeep reads grew {ratio:.2f}x with the campaign (limit {MAX_RATIO})")


# --- 1. upkeep reads -----------------------------------------------------------------------------------


def upkeep_reads(due: int, out: Any) -> float:
    from shared.core import clock
    from shared.data import campaigns as campaigns_data
    from shared.data import targets as targets_data
    from shared.domain.models import CampaignStatus, TargetState
    from shared.engine import upkeep

    reads = {}
    for size in (SMALL, LARGE):
        campaign = _campaign(f"Upkeep {size}")
        people = [_case(campaign, seed, state=TargetState.CONTACTED) for seed in range(size)]
        targets_data.insert_new(people)
        for target in people[:due]:  # a message awaiting its delivery, 6 hours from now at the latest
            until = clock.now() + timedelta(hours=6)
            targets_data.transition(target.id, [TargetState.CONTACTED], TargetState.CONTACTED, until=until)
            targets_data.record_contact(target, awaiting=targets_data.Due.DELIVERY)
        meter = _meter()
        at = clock.now() + timedelta(hours=7)
        upkeep.run(campaign.id, at)
        ops = [op for op in meter.ops if op.operation in ("GetItem", "Query", "BatchGetItem", "Scan")]
        items = sum(_items_returned(op.response) for op in ops)
        units = units_of(ops, {}).reads
        reads[size] = units
        campaigns_data.transition_status(campaign.id, [CampaignStatus.ACTIVE], CampaignStatus.PAUSED)
        print(
            f"Upkeep tick, campaign of {size:>6,} contacted cases ({due} due): {len(ops)} read requests, "
            f"{items} items read, {units:.1f} RCU",
            file=out,
        )
    ratio = reads[LARGE] / reads[SMALL]
    print(f"  ratio {LARGE:,} / {SMALL}: {ratio:.2f} (must be <= {MAX_RATIO})", file=out)
    return ratio


def _items_returned(response: dict[str, Any]) -> int:
    if "Items" in response:
        return len(response["Items"])
    if "Item" in response:
        return 1
    return sum(len(found) for found in response.get("Responses", {}).values())


# --- 2. a customer's lifecycle ---------------------------------------------------------------------------


def lifecycle(
    customers: int, crm: CrmSimulator, evolution: EvolutionSimulator, sqs: Any, virtual: Any, out: Any
) -> None:
    from shared.adapters import clients
    from shared.core import clock
    from shared.core.config import get_settings
    from shared.core.jobs import InboundMessage, OutreachJob, SchedulerTick
    from shared.data import messages
    from shared.data import targets as targets_data
    from shared.domain.models import DeliveryStatus, Outcome, Sender, TargetState
    from shared.domain.phones import timezone_for_phone
    from shared.engine import inbound, outreach_whatsapp, promise_monitor, promises, sweep, upkeep

    campaign = _campaign("Lifecycle")
    people = [_case(campaign, 50_000 + seed) for seed in range(customers)]
    for target in people:
        crm.add_customer(
            target.document, target.client_name, [SimInvoice("F-1", Decimal("89.90"), date(2025, 2, 10))]
        )
    targets_data.insert_new(people)  # the import's cost is bench_ingest's
    meter = _meter()

    def contact_round() -> None:
        upkeep.run(campaign.id, clock.now())
        sweep.sweep(SchedulerTick.model_validate({"campaignId": campaign.id, "reason": "tick"}))
        url = os.environ["WHATSAPP_QUEUE_URL"]
        while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in found:
                outreach_whatsapp.deliver(OutreachJob.model_validate_json(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def reply(target: Any, text: str, n: int) -> None:
        inbound.handle(
            InboundMessage(
                message_id=f"3EB0{n:04d}{target.phone[-8:]}",
                remote_jid=f"{target.phone}@s.whatsapp.net",
                phone=target.phone,
                text=text,
            )
        )

    spans: list[tuple[str, int, int]] = []  # (step, its requests in meter.ops: [start, end))
    receipted = 0  # the messages Evolution accepted that got their receipts

    def step(name: str, run: Any) -> None:
        start = len(meter.ops)
        run()
        spans.append((name, start, len(meter.ops)))

    def receipts() -> None:
        """The receipts of every message sent since the last call, as Evolution posts them: SERVER_ACK
        (our own phone has the copy) and DELIVERY_ACK (the customer's phone) at once, READ 20 minutes
        later, before the customer answers."""
        nonlocal receipted
        sent, receipted = evolution.sent[receipted:], len(evolution.sent)
        for message in sent:
            inbound.record_receipt(message.id, DeliveryStatus.SERVER_ACK)
            inbound.record_receipt(message.id, DeliveryStatus.DELIVERED)
        virtual.advance(timedelta(minutes=20))
        for message in sent:
            inbound.record_receipt(message.id, DeliveryStatus.READ)

    def engaged() -> None:
        for target in people:
            reply(target, "vou ver", 1)

    def promise_and_reply() -> None:
        for target in people:
            meter.paused = True  # the assistant's tool has the case in its context: not a read of the system
            stored = targets_data.get(target.id)
            meter.paused = False
            promises.register(  # what the assistant's tool does in the turn
                document=target.document,
                amount=Decimal("89.90"),
                day=clock.now().date() + timedelta(days=2),
                open_total=Decimal("89.90"),
                tz=timezone_for_phone(target.phone),
                target_id=target.id,
                campaign_id=campaign.id,
                conversation_id=stored.conversation_id,
            )
            reply(target, "pago na sexta", 2)

    def paid() -> None:
        for promise_id in pending:
            promise_monitor.check(promise_id, crm_client)
        upkeep.run(campaign.id, clock.now())

    step("first message (ticks + send)", contact_round)
    step(RECEIPTS, receipts)
    step("reply 'vou ver' (inbound turn)", engaged)
    step(RECEIPTS, receipts)
    virtual.advance(timedelta(days=3, hours=1))
    step("follow-up (ticks + send)", contact_round)
    step(RECEIPTS, receipts)
    step("promise + its reply (tool + turn)", promise_and_reply)
    step(RECEIPTS, receipts)
    virtual.advance(timedelta(days=1))
    crm_client = clients.crm()
    for target in people:
        crm.pay_all(target.document)
    meter.paused = True  # the monitor's queue names the promises: the bench's own scan is not counted
    pending = _pending_promises()
    meter.paused = False
    step("paid (promise check + tick)", paid)

    meter.paused = True  # the bench's own checks
    ended = [targets_data.get(target.id) for target in people]
    assert all(t.state is TargetState.COMPLETED and t.outcome is Outcome.PAID for t in ended), [
        (t.state.value, t.outcome) for t in ended
    ]
    assert all(t.contact_count == 2 for t in ended)
    ours = [m for t in ended for m in messages.list_for(t.conversation_id) if m.sender is not Sender.CUSTOMER]
    assert len(ours) == receipted and all(m.delivery_status is DeliveryStatus.READ for m in ours), [
        m.delivery_status for m in ours
    ]
    prefix = get_settings().table_prefix
    units = units_of(list(meter.ops), index_shapes(prefix))
    wcu = (units.writes + units.gsi_writes) / customers
    rcu = units.reads / customers
    print(
        f"\nLifecycle per customer ({customers} customers: first message → reply → follow-up → promise → "
        f"paid; {len(meter.ops) / customers:.1f} requests each, ticks included):",
        file=out,
    )
    print(
        f"  {wcu:.1f} WCU ({units.writes / customers:.1f} on tables + {units.gsi_writes / customers:.1f} on GSIs; "
        f"target <= {TARGET_WCU}), {rcu:.1f} RCU (target <= {TARGET_RCU})",
        file=out,
    )
    print_by_table(units, prefix, customers, file=out)
    print(
        "  requests: "
        + ", ".join(f"{name} {count / customers:.1f}" for name, count in units.by_operation.most_common()),
        file=out,
    )
    print("  by step (WCU / RCU per customer):", file=out)
    for name in dict.fromkeys(name for name, _, _ in spans):
        part = units_of(_ops_of(meter, spans, name), index_shapes(prefix))
        label = f"{name}, {receipted / customers:.0f} messages" if name == RECEIPTS else name
        print(
            f"    {label:52} {(part.writes + part.gsi_writes) / customers:5.1f} / {part.reads / customers:4.1f}",
            file=out,
        )
    part = units_of(_ops_of(meter, spans, RECEIPTS), index_shapes(prefix))
    print(f"  {RECEIPTS}, by table:", file=out)
    print_by_table(part, prefix, customers, file=out)


# --- 3. a late payment check ------------------------------------------------------------------------------


def late_check(customers: int, crm: CrmSimulator, sqs: Any, virtual: Any, out: Any) -> None:
    from shared.core import clock
    from shared.core.config import get_settings
    from shared.core.jobs import OutreachJob, SchedulerTick
    from shared.data import campaigns as campaigns_data
    from shared.data import targets as targets_data
    from shared.domain.models import CampaignStatus, Outcome
    from shared.engine import outreach_whatsapp, sweep, upkeep

    for running in campaigns_data.list_by_status(CampaignStatus.ACTIVE).items:  # the earlier sections'
        campaigns_data.transition_status(running.id, [CampaignStatus.ACTIVE], CampaignStatus.PAUSED)
    campaign = campaigns_data.update(_campaign("Late check").id, max_contacts=1)
    people = [_case(campaign, 90_000 + seed) for seed in range(customers)]
    for target in people:
        crm.add_customer(
            target.document, target.client_name, [SimInvoice("F-1", Decimal("89.90"), date(2025, 2, 10))]
        )
    targets_data.insert_new(people)
    sweep.sweep(SchedulerTick.model_validate({"campaignId": campaign.id, "reason": "tick"}))
    url = os.environ["WHATSAPP_QUEUE_URL"]
    while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in found:
            outreach_whatsapp.deliver(OutreachJob.model_validate_json(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    prefix = get_settings().table_prefix
    meter = _meter()
    virtual.advance(timedelta(hours=25))  # the message unanswered: the case ends
    upkeep.run(None, clock.now())
    ending = units_of(list(meter.ops), index_shapes(prefix))
    for target in people[::2]:
        crm.pay_all(target.document)
    virtual.advance(timedelta(days=get_settings().late_payment_check_days))
    meter = _meter()
    upkeep.run(None, clock.now())
    checking = units_of(list(meter.ops), index_shapes(prefix))

    outcomes = [targets_data.get(target.id).outcome for target in people]
    assert outcomes.count(Outcome.PAID) == len(people[::2]), outcomes
    assert outcomes.count(Outcome.EXHAUSTED) == len(people) - len(people[::2]), outcomes
    print(
        f"\nLate payment check ({customers} customers ended unanswered, half of them paid later):", file=out
    )
    for name, units in (("ending tick (exhausted)", ending), ("late check tick (cron)", checking)):
        print(
            f"  {name:28} {(units.writes + units.gsi_writes) / customers:5.1f} WCU "
            f"({units.gsi_writes / customers:.1f} on GSIs) / {units.reads / customers:4.1f} RCU per customer",
            file=out,
        )
        print_by_table(units, prefix, customers, file=out)


# --- helpers --------------------------------------------------------------------------------------------


def _ops_of(meter: Meter, spans: list[tuple[str, int, int]], name: str) -> list[Any]:
    """The requests of every span of the step `name`."""
    ops = list(meter.ops)
    return [op for step, start, end in spans if step == name for op in ops[start:end]]


def _meter() -> Meter:
    from shared.data import targets as targets_data

    meter = Meter()
    meter.attach_dynamodb(targets_data.TargetRecord._get_connection().connection.client)
    return meter


def _campaign(name: str) -> Any:
    from shared.core import clock
    from shared.data import campaigns as campaigns_data
    from shared.domain.ids import new_id
    from shared.domain.models import Campaign, CampaignStatus, Channel, ContactMethod

    now = clock.now()
    return campaigns_data.create(
        Campaign(
            id=new_id(),
            name=name,
            status=CampaignStatus.ACTIVE,
            contact_method=ContactMethod.WHATSAPP_PRIMARY,
            allowed_methods=[Channel.WHATSAPP],
            fallback_order=[Channel.WHATSAPP],
            created_at=now,
            updated_at=now,
            started_at=now,
        )
    )


def _case(campaign: Any, seed: int, **overrides: Any) -> Any:
    from shared.core import clock
    from shared.domain.ids import target_id
    from shared.domain.models import Invoice, Target

    now = clock.now()
    document = cpf(seed + 1)
    return Target(
        id=target_id(campaign.id, document),
        campaign_id=campaign.id,
        client_name=f"Cliente {seed}",
        phone=f"55119{(seed * 104729 + 31337) % 10**8:08d}",
        document=document,
        invoices=[Invoice(invoice_number="F-1", amount=Decimal("89.90"), due_date=date(2025, 2, 10))],
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        **overrides,
    )


def _pending_promises() -> list[str]:
    from shared.data.promises import PromiseRecord

    return [record.id for record in PromiseRecord.scan() if record.status == "pending"]


if __name__ == "__main__":
    main()

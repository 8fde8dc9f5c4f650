"""Outreach engine: achieved WhatsApp send rate against a rate-limited Evolution API, the largest number of
sends in any one-second window, and the DynamoDB work per contacted target.

Run from the repository root: `python tests/benchmarks/bench_engine.py [--rate 5] [--targets 250]
[--burst 50] [--workers 4]`. Prints figures only (no assertions on timing).

The set-up, as close to production as a laptop gets:
- AWS is moto, in-process, with every request serialized by a lock: real DynamoDB applies each
  conditional write atomically and so does a moto that handles one request at a time (unlocked, two
  threads can both pass a condition — see tests/integration/test_data_concurrency.py). A moto server
  over HTTP was tried first: on two shared cores its ~7 ms per request, not the limiter, set the pace.
- The Evolution API simulator runs in its own process (so its clock is not held up by our workers'
  GIL), accepts `--rate` sends per second (`capacity_per_second`: a 429 beyond that) and records when
  each send arrived; the CRM simulator knows every customer. Our side records when each request
  started: the limiter governs starts, arrivals add the network's and the OS scheduler's jitter.
- `--workers` threads play concurrent Lambda invocations of the real handler
  (`functions.whatsapp.outreach.outreach_handler`, batch size 1 as deployed): receive from the
  whatsapp queue, invoke, delete or release — Lambda's event source mapping.
- Phase 1 (paced): the scheduler's tick takes the `--targets` due targets (the virtual clock stands on a
  Monday 09:00 in São Paulo; ticks are virtual, sends are real HTTP) and spreads them with SQS delays
  at the channel's capacity. Phase 2 (burst): `--burst` more jobs are put on the queue at once, with
  no delay — only the distributed limiter (`shared.engine.ratelimit`) stands between them and Evolution.

DynamoDB units: moto's ReturnConsumedCapacity figures are not trustworthy, so every DynamoDB request
of the data layer's shared botocore client is recorded by a botocore event hook (`before-call` /
`after-call`), and units are derived from item sizes with DynamoDB's published rules (printed with the
figures).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Quiet handlers: the benchmark prints figures, not one log line per record.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import httpx  # noqa: E402
from moto import mock_aws  # noqa: E402

from infra.local.simulators.crm import CrmSimulator, SimInvoice  # noqa: E402
from infra.local.simulators.server import serve_in_thread  # noqa: E402

MONDAY_9AM_SAO_PAULO = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
REGION = "sa-east-1"
READ_UNIT = 4096
WRITE_UNIT = 1024


# --- the world ---------------------------------------------------------------------------------------


def serialize_moto() -> None:
    """Make every in-process moto request atomic: one at a time under a lock, as real DynamoDB applies
    each conditional write atomically. Without it two threads can both pass a condition (moto checks
    and writes without locking; see tests/integration/test_data_concurrency.py)."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    BotocoreStubber.__call__ = serialized  # type: ignore[method-assign]


_EVOLUTION_PROCESS = """
import sys, time
sys.path.insert(0, sys.argv[2])
from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.server import serve_in_thread

simulator = EvolutionSimulator(api_key="bench-evo", capacity_per_second=int(sys.argv[1]))

@simulator.app.get("/_bench/sent")
def sent():
    return {"sent": [[s.number, s.at] for s in list(simulator.sent)], "rejectedForRate": simulator.rejected_for_rate}

print(serve_in_thread(simulator.app).url, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
"""


class RemoteEvolution:
    """The Evolution simulator in its own process: arrival times are read by a process that is not
    also running the workers and moto, so they show the system's pacing, not our GIL."""

    def __init__(self, rate: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _EVOLUTION_PROCESS, str(rate), str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stats(self) -> tuple[list[tuple[str, float]], int]:
        body = httpx.get(f"{self.url}/_bench/sent", timeout=10).json()
        return [(number, at) for number, at in body["sent"]], int(body["rejectedForRate"])

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


class TimedSender:
    """The real Evolution client, noting when each request starts (the limiter's side of the wire)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.starts: list[float] = []
        self.lock = threading.Lock()

    def send_text(self, number: str, text: str, *, delay_ms: int | None = None) -> Any:
        with self.lock:
            self.starts.append(time.time())
        return self.inner.send_text(number, text, delay_ms=delay_ms)

    def connection_state(self) -> str:
        return str(self.inner.connection_state())


class FakeContext:
    function_name = "bench-whatsapp-outreach"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def cpf(seed: int) -> str:
    base = f"{(seed * 7919 + 123456) % 10**9:09d}"

    def digit(digits: str) -> str:
        remainder = sum(int(d) * w for d, w in zip(digits, range(len(digits) + 1, 1, -1), strict=True)) % 11
        return "0" if remainder < 2 else str(11 - remainder)

    first = digit(base)
    return base + first + digit(base + first)


# --- DynamoDB metering ---------------------------------------------------------------------------------


@dataclass
class Op:
    operation: str
    table: str
    request: dict[str, Any]
    response: dict[str, Any]
    failed_condition: bool
    # Every item the request writes: (table, stored item before, stored item after), None = absent.
    images: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)
    # Every item a GetItem/BatchGetItem names: (table, its whole stored size, 0 = absent; consistent).
    gets: list[tuple[str, int, bool]] = field(default_factory=list)


@dataclass
class Meter:
    """Records every DynamoDB request of the attached clients, with the stored image of every item a
    write touches, before and after (read from moto's in-process backend, uncounted)."""

    ops: list[Op] = field(default_factory=list)
    sqs: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach_dynamodb(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def attach_sqs(self, client: Any) -> None:
        client.meta.events.register("after-call.sqs.*", self._after_sqs)

    paused: bool = False

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        request = json.loads(body if isinstance(body, str | bytes) else b"{}")
        context["bench_request"] = request
        written = _written_keys(model.name, request)
        context["bench_before"] = [(table, key, stored_item(table, key)) for table, key in written]

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.paused:
            return
        request = context.get("bench_request", {})
        error = parsed.get("Error", {}).get("Code", "")
        op = Op(
            operation=model.name,
            table=request.get("TableName", ""),
            request=request,
            response=parsed,
            failed_condition=error in ("ConditionalCheckFailedException", "TransactionCanceledException"),
            images=[
                (table, before, stored_item(table, key))
                for table, key, before in context.get("bench_before", [])
            ],
            gets=_gets(model.name, request),
        )
        with self.lock:
            self.ops.append(op)

    def _after_sqs(self, model: Any, **_: Any) -> None:
        if self.paused:
            return
        with self.lock:
            self.sqs[model.name] += 1


def _gets(operation: str, request: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(table, whole stored size, consistent) of every key a GetItem/BatchGetItem names: DynamoDB bills
    each as its own GetItem — the whole item whatever the projection, the minimum for an absent one."""
    if operation == "GetItem":
        table = request.get("TableName", "")
        size = item_size(stored_item(table, request["Key"]) or {})
        return [(table, size, bool(request.get("ConsistentRead")))]
    if operation == "BatchGetItem":
        return [
            (table, item_size(stored_item(table, key) or {}), bool(asked.get("ConsistentRead")))
            for table, asked in request.get("RequestItems", {}).items()
            for key in asked.get("Keys", [])
        ]
    return []


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ.get("AWS_REGION", REGION)]


def _table_key(table: str, item: dict[str, Any]) -> dict[str, Any]:
    found = _backend().get_table(table)
    names = [found.hash_key_attr] + ([found.range_key_attr] if found.range_key_attr else [])
    return {name: item[name] for name in names}


def _written_keys(operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key) of every item a write request names."""
    table = request.get("TableName", "")
    if operation == "PutItem":
        return [(table, _table_key(table, request["Item"]))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(table, request["Key"])]
    if operation == "TransactWriteItems":
        written = []
        for entry in request.get("TransactItems", []):
            (action, body), *_ = entry.items()
            if action == "ConditionCheck":
                continue
            name = body["TableName"]
            written.append((name, body["Key"] if "Key" in body else _table_key(name, body["Item"])))
        return written
    if operation == "BatchWriteItem":
        return [
            (
                name,
                entry["DeleteRequest"]["Key"]
                if "DeleteRequest" in entry
                else _table_key(name, entry["PutRequest"]["Item"]),
            )
            for name, entries in request.get("RequestItems", {}).items()
            for entry in entries
        ]
    return []


def stored_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item as moto stores it (wire form), or None."""
    backend = _backend()
    if table not in backend.tables:
        return None
    item = backend.get_item(table, key)
    return None if item is None else item.to_json()["Attributes"]


@dataclass(frozen=True)
class IndexShape:
    """A GSI as the meter needs it: its key attributes and what it projects."""

    name: str
    keys: frozenset[str]
    projection: str  # "ALL", "KEYS_ONLY" or "INCLUDE"
    included: frozenset[str] = frozenset()


def index_shapes(prefix: str) -> dict[str, list[IndexShape]]:
    """Every table's GSIs, from the same specs the CDK stack deploys (`shared.data.schema`)."""
    from shared.data.schema import table_specs

    return {
        spec.table_name(prefix): [
            IndexShape(
                index.name,
                frozenset({index.hash_key.name} | ({index.range_key.name} if index.range_key else set())),
                index.projection,
                frozenset(index.non_key_attributes),
            )
            for index in spec.global_indexes
        ]
        for spec in table_specs()
    }


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, numbers ~1 byte per two
    significant digits + 1, booleans/null 1, sets and lists their elements, + 3 bytes per list/map)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(_value_size({"N": n}) for n in raw)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in raw.items())
    return len(json.dumps(raw))


@dataclass
class Units:
    reads: float = 0.0
    writes: float = 0.0
    gsi_writes: float = 0.0
    reads_by_table: Counter[str] = field(default_factory=Counter)
    writes_by_table: Counter[str] = field(default_factory=Counter)  # GSIs as "<table> <index>"
    by_operation: Counter[str] = field(default_factory=Counter)


def units_of(ops: list[Op], indexes: dict[str, list[IndexShape]]) -> Units:
    """Read and write units of the recorded requests (see `print_method`)."""
    units = Units()

    def read(table: str, size: int, consistent: bool) -> None:
        value = max(1, math.ceil(size / READ_UNIT)) * (1 if consistent else 0.5)
        units.reads += value
        units.reads_by_table[table] += value

    def write(table: str, before: dict[str, Any] | None, after: dict[str, Any] | None, op: Op) -> None:
        factor = 2 if op.operation == "TransactWriteItems" else 1
        size = max(item_size(before or {}), item_size(after or {}))
        if op.operation in ("PutItem",) or (op.operation == "BatchWriteItem" and after is not None):
            size = item_size(after or {})
        base = max(1, math.ceil(size / WRITE_UNIT)) * factor
        units.writes += base
        units.writes_by_table[table] += base
        if op.failed_condition:
            return
        table_keys = set(_table_key(table, before or after or {})) if (before or after) else set()
        for index in indexes.get(table, []):
            extra = _index_writes(index, table_keys, before, after)
            units.gsi_writes += extra
            units.writes_by_table[f"{table} {index.name}"] += extra

    for op in ops:
        units.by_operation[op.operation] += 1
        request, response, table = op.request, op.response, op.table
        consistent = bool(request.get("ConsistentRead"))
        if op.operation in ("GetItem", "BatchGetItem"):
            for name, size, item_consistent in op.gets:
                read(name, size, item_consistent)
        elif op.operation == "Query":
            read(table, sum(item_size(i) for i in response.get("Items", [])), consistent)
        for name, before, after in op.images:
            write(name, before, after, op)
    return units


def _index_writes(
    index: IndexShape, table_keys: set[str], before: dict[str, Any] | None, after: dict[str, Any] | None
) -> int:
    """Write units a GSI takes for one item changing from `before` to `after` (None: absent)."""

    def entry(item: dict[str, Any] | None) -> dict[str, Any] | None:
        if item is None or not index.keys <= set(item):
            return None  # not in the index (a sparse index's key missing)
        if index.projection == "ALL":
            return item
        kept = table_keys | index.keys | (index.included if index.projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in kept}

    old, new = entry(before), entry(after)
    if old == new:
        return 0  # nothing the index holds changed: DynamoDB does not write it
    moved = old is not None and new is not None and any(old[k] != new[k] for k in index.keys)
    removal = 0 if old is None else max(1, math.ceil(item_size(old) / WRITE_UNIT))
    put = 0 if new is None else max(1, math.ceil(item_size(new) / WRITE_UNIT))
    if old is not None and new is not None and not moved:
        return put  # updated in place
    return removal + put


# --- measuring sends --------------------------------------------------------------------------------------


def max_in_window(instants: list[float], seconds: float = 1.0) -> int:
    """The most sends in any window [t, t + seconds) — sliding, so any alignment counts."""
    ordered = sorted(instants)
    best, start = 0, 0
    for end, instant in enumerate(ordered):
        while instant - ordered[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def max_per_calendar_second(instants: list[float]) -> int:
    return max(Counter(int(i) for i in instants).values(), default=0)


# --- the run -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=5, help="Evolution's capacity, sends per second")
    parser.add_argument("--targets", type=int, default=250, help="due targets taken by the scheduler")
    parser.add_argument("--burst", type=int, default=50, help="jobs queued at once, no delay")
    parser.add_argument("--workers", type=int, default=4, help="concurrent handler invocations")
    args = parser.parse_args()

    serialize_moto()
    mock = mock_aws()
    mock.start()
    crm = CrmSimulator(api_key="bench-crm")
    evolution = RemoteEvolution(args.rate)
    crm_server = serve_in_thread(crm.app)
    env = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "COBRANCA_TABLE_PREFIX": "bench",
        "CRM_API_URL": crm_server.url,
        "CRM_API_KEY": "bench-crm",
        "EVOLUTION_API_URL": evolution.url,
        "EVOLUTION_API_KEY": "bench-evo",
        "EVOLUTION_API_INSTANCE": "cobranca",
        "WHATSAPP_MESSAGES_PER_SECOND": str(args.rate),
        "COMPANY_CNPJ": "11222333000181",
    }
    os.environ.update(env)

    import boto3

    from functions.whatsapp.outreach import outreach_handler
    from shared.adapters import clients
    from shared.core import clock
    from shared.core.config import get_settings
    from shared.core.jobs import SchedulerTick
    from shared.data import bind, create_tables
    from shared.data import campaigns as campaigns_data
    from shared.data import targets as targets_data
    from shared.domain.ids import new_id, target_id
    from shared.domain.models import (
        Campaign,
        CampaignStatus,
        Channel,
        ContactMethod,
        Invoice,
        Target,
        TargetState,
    )
    from shared.engine import sweep

    clock.set_clock(clock.VirtualClock(MONDAY_9AM_SAO_PAULO))
    bind()
    create_tables()
    sqs = boto3.client("sqs", region_name=REGION)
    urls = {}
    for name in ("whatsapp", "dialer", "scheduler", "post_call"):
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        urls[name] = sqs.create_queue(
            QueueName=name,
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
            },
        )["QueueUrl"]
        os.environ[f"{name.upper()}_QUEUE_URL"] = urls[name]
    from shared.core.config import reset_settings

    reset_settings()
    settings = get_settings()
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    print(
        f"Evolution capacity {args.rate}/s; limiter spacing {1000 * 1.1 / args.rate:.0f} ms; "
        f"{args.workers} concurrent workers; AWS = moto in-process, one request at a time; "
        f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        file=out,
    )

    now = clock.now()
    campaign = campaigns_data.create(
        Campaign(
            id=new_id(),
            name="Benchmark",
            status=CampaignStatus.ACTIVE,
            contact_method=ContactMethod.WHATSAPP_PRIMARY,
            allowed_methods=[Channel.WHATSAPP],
            fallback_order=[Channel.WHATSAPP],
            created_at=now,
            updated_at=now,
        )
    )
    total = args.targets + args.burst
    people = []
    for seed in range(total):
        document = cpf(seed + 1)
        phone = f"55119{(seed * 104729 + 31337) % 10**8:08d}"
        people.append(
            Target(
                id=target_id(campaign.id, document),
                campaign_id=campaign.id,
                client_name=f"Cliente {seed}",
                phone=phone,
                document=document,
                invoices=[Invoice(invoice_number="F-1", amount=Decimal("89.90"))],
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        crm.add_customer(
            document, f"Cliente {seed}", [SimInvoice("F-1", Decimal("89.90"), date(2025, 2, 10))]
        )
    paced, burst = people[: args.targets], people[args.targets :]
    targets_data.insert_new(paced)

    from shared.adapters.evolution import EvolutionClient

    sender = TimedSender(EvolutionClient(settings.evolution()))
    clients.install(whatsapp=sender)
    meter = Meter()
    data_client = targets_data.TargetRecord._get_connection().connection.client
    meter.attach_dynamodb(data_client)
    meter.attach_sqs(sqs)
    from shared.adapters import queues as queues_module

    meter.attach_sqs(queues_module._sqs())

    stop = threading.Event()
    errors: Counter[str] = Counter()

    def worker() -> None:
        context = FakeContext()
        while not stop.is_set():
            # No long polling: it would hold the single-threaded moto server for everyone.
            found = sqs.receive_message(
                QueueUrl=urls["whatsapp"], MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages", [])
            if not found:
                time.sleep(0.25)  # Lambda's pollers back off on an empty queue too
            for message in found:
                event = {
                    "Records": [
                        {
                            "messageId": message["MessageId"],
                            "receiptHandle": message["ReceiptHandle"],
                            "body": message["Body"],
                            "attributes": message["Attributes"],
                            "messageAttributes": {},
                            "md5OfBody": message["MD5OfBody"],
                            "eventSource": "aws:sqs",
                            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:whatsapp",
                            "awsRegion": REGION,
                        }
                    ]
                }
                try:
                    result = outreach_handler(event, context)
                    failed = bool(result["batchItemFailures"])
                except Exception as exc:  # an all-failed batch raises; Lambda would retry it
                    errors[type(exc).__name__] += 1
                    failed = True
                if failed:
                    sqs.change_message_visibility(
                        QueueUrl=urls["whatsapp"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=1
                    )
                else:
                    sqs.delete_message(QueueUrl=urls["whatsapp"], ReceiptHandle=message["ReceiptHandle"])

    def wait_for(count: int, deadline: float) -> None:
        while len(evolution.stats()[0]) < count and time.monotonic() < deadline:
            time.sleep(0.5)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
    for thread in threads:
        thread.start()

    # Phase 1: the scheduler paces the queue.
    started = time.monotonic()
    report = sweep.sweep(SchedulerTick())
    sweep_seconds = time.monotonic() - started
    delays = [d.delay_seconds for d in report.dispatched]
    print(
        f"\nPhase 1 — scheduler tick took {len(report.dispatched)} targets in {sweep_seconds:.1f} s, "
        f"SQS delays {min(delays)}..{max(delays)} s",
        file=out,
    )
    wait_for(args.targets, started + args.targets / args.rate * 2 + 60)
    phase_one = [at for _, at in evolution.stats()[0]]
    phase_one_starts = len(sender.starts)

    # Phase 2: a burst straight onto the queue (a redrive, a backlog after a pause).
    meter.paused = True  # importing the burst's targets is not outreach work
    targets_data.insert_new(burst)
    meter.paused = False
    for target in burst:
        sweep.schedule(target, [TargetState.PENDING], Channel.WHATSAPP)
    burst_started = time.monotonic()
    wait_for(total, burst_started + args.burst / args.rate * 2 + 60)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    sys.stdout.close()
    sys.stdout = out

    received, rejected_for_rate = evolution.stats()
    sends = [at for _, at in received]
    phase_two = sends[len(phase_one) :]
    numbers = Counter(number for number, _ in received)
    starts = list(sender.starts)

    def describe(name: str, instants: list[float]) -> None:
        if len(instants) < 2:
            print(f"  {name}: {len(instants)} sends")
            return
        span = max(instants) - min(instants)
        print(
            f"  {name}: {len(instants)} sends in {span:.1f} s = {(len(instants) - 1) / span:.2f}/s achieved; "
            f"max in any 1 s window {max_in_window(instants)} (limit {args.rate}); "
            f"max per calendar second {max_per_calendar_second(instants)}"
        )

    print("\nRequests to Evolution as our workers started them (what shared.engine.ratelimit governs):")
    describe("paced (scheduler)", starts[:phase_one_starts])
    describe("burst (limiter only)", starts[phase_one_starts:])
    describe("overall", starts)
    print(
        "Messages as the Evolution simulator accepted them (its own process; network and scheduling jitter included):"
    )
    describe("paced (scheduler)", phase_one)
    describe("burst (limiter only)", phase_two)
    describe("overall", sends)
    print(
        f"  429s from Evolution: {rejected_for_rate}; duplicate messages: "
        f"{sum(c - 1 for c in numbers.values())}; handler errors: {dict(errors) or 0}"
    )

    contacted = len(numbers)
    with meter.lock:
        ops = list(meter.ops)
    units = units_of(ops, index_shapes(settings.table_prefix))
    per = max(contacted, 1)
    print(f"\nDynamoDB per contacted target ({contacted} targets, {len(ops)} requests, scheduler included):")
    print(
        f"  requests: {len(ops) / per:.1f}  — "
        + ", ".join(f"{name} {count / per:.1f}" for name, count in units.by_operation.most_common())
    )
    print(
        f"  read units: {units.reads / per:.1f} RCU; write units: {units.writes / per:.1f} WCU "
        f"+ {units.gsi_writes / per:.1f} WCU on GSIs = {(units.writes + units.gsi_writes) / per:.1f} WCU"
    )
    print_by_table(units, settings.table_prefix, per)
    print(
        f"  SQS per target: {meter.sqs['SendMessage'] / per:.1f} SendMessage, "
        f"{meter.sqs['DeleteMessage'] / per:.1f} DeleteMessage, {meter.sqs['ReceiveMessage'] / per:.1f} "
        "ReceiveMessage (workers' polls included, empty ones too)"
    )
    print_method()
    crm_server.stop()
    evolution.stop()
    mock.stop()


def print_by_table(units: Units, prefix: str, per: int, file: Any = None) -> None:
    """Read and write units per table (and GSI), divided by `per`, largest first."""
    for label, counts in (("writes", units.writes_by_table), ("reads", units.reads_by_table)):
        print(
            f"  {label} by table: "
            + ", ".join(
                f"{name.removeprefix(prefix + '-')} {value / per:.1f}"
                for name, value in counts.most_common()
                if value
            ),
            file=file,
        )


def print_method() -> None:
    print(
        "\nHow units were computed: every request of the data layer's shared botocore client was\n"
        "recorded (botocore before-call/after-call hooks), with the stored\n"
        "image of every item a write touches before and after it (read from moto's in-process backend,\n"
        "uncounted). Reads: GetItem and every key of a BatchGetItem as one GetItem each, of the whole\n"
        "stored item whatever the projection (an absent item still the minimum); a Query, the size of the\n"
        "items it returns; rounded up to 4 KB = 1 RCU if strongly consistent, 0.5 if eventually\n"
        "consistent (minimum one unit). Writes: the larger of the item's sizes before and after (the new\n"
        "item for puts) rounded up to 1 KB = 1 WCU; transactional items count twice; a failed conditional\n"
        "write still costs its units. GSIs, as DynamoDB bills them: nothing when the write changes no\n"
        "attribute the index holds (its keys, the table's keys and its projection: every attribute for\n"
        "ALL, none for KEYS_ONLY, the listed ones for INCLUDE); an entry's projected size rounded up to\n"
        "1 KB for an item entering, leaving or updated in the index; both when its index key changes\n"
        "(delete + put)."
    )


if __name__ == "__main__":
    main()

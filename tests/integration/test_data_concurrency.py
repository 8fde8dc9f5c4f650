"""Two workers racing for the same target: exactly one wins; two imports racing for the same
customers both land their invoices.

Why a moto *server*, and a single-threaded one: moto's in-process DynamoDB checks a ConditionExpression
and applies the update without any lock, so under threads both racers can pass the check. Measured
here with `sys.setswitchinterval(1e-6)`: 72 of 200 in-process rounds had two winners. The same holds for
`ThreadedMotoServer`, whose werkzeug server handles requests on concurrent threads. Real DynamoDB
applies each conditional write atomically; a werkzeug server with one thread and HTTP/1.0 (one
connection per request, so a keep-alive connection cannot starve the other racer) does too, because
it serves requests one after another. The two racing clients still run truly concurrently.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from shared.core.config import reset_settings
from shared.data import bind, contact_log, create_tables, targets
from shared.data.base import transaction_connection
from shared.domain import cases
from shared.domain.errors import Conflict
from shared.domain.models import Channel, Invoice, TargetState

ROUNDS = 25
RACERS = 2


class _OneConnectionPerRequest(MotoRequestHandler):
    protocol_version = "HTTP/1.0"


@pytest.fixture
def serial_moto_server(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A single-threaded moto server on loopback, the data layer bound to it."""
    server: BaseWSGIServer = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
        request_handler=_OneConnectionPerRequest,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("COBRANCA_TABLE_PREFIX", f"race{server.server_port}")
    reset_settings()
    bind()
    create_tables()
    yield endpoint
    server.shutdown()
    thread.join(timeout=5)


def test_exactly_one_of_two_racing_workers_takes_a_target(serial_moto_server, clock, make_target):
    target = make_target()
    targets.insert_new([target])

    for round_number in range(ROUNDS):
        if round_number:
            targets.transition(target.id, [TargetState.SCHEDULED], TargetState.PENDING)

        results = _race(lambda: targets.transition(target.id, [TargetState.PENDING], TargetState.SCHEDULED))

        assert sorted(results) == ["lost", "won"], f"round {round_number}: {results}"

    assert targets.get(target.id).state is TargetState.SCHEDULED
    counts = targets.counts(target.campaign_id)
    assert counts["state:scheduled"] == 1 and counts["state:pending"] == 0  # losers never counted


def test_two_workers_racing_for_the_day_s_last_contact_slot_take_it_once(serial_moto_server, clock):
    racers = itertools.count()
    for round_number in range(ROUNDS):
        document, day = f"{round_number + 1:011d}", clock.now().date()

        def reserve(document: str = document, day: date = day) -> None:  # another case each racer
            case = f"T{next(racers)}"
            if not contact_log.reserve_contact(document, clock.now(), day, 1, Channel.WHATSAPP, case):
                raise Conflict("the day's slot is taken")

        assert sorted(_race(reserve)) == ["lost", "won"], f"round {round_number}"
        assert len(contact_log.contacts_since(document, clock.now())) == 1


def test_two_imports_racing_on_the_same_customers_lose_no_invoice(serial_moto_server, clock):
    documents = [f"{n:011d}" for n in range(1, 11)]
    tags = iter(["A", "B"])
    lock = threading.Lock()

    def import_one_invoice_each() -> None:
        with lock:
            tag = next(tags)
        invoice = Invoice(invoice_number=tag, amount=Decimal("1.00"))
        rows = [cases.CaseRow(2, document, "Cliente", "5511999998888", invoice) for document in documents]
        targets.fold_in("C1", cases.fold_rows(rows), f"import-{tag}")

    assert _race(import_one_invoice_each) == ["won", "won"]

    page = targets.list_for_campaign("C1", limit=100)
    assert len(page.items) == len(documents)  # one case per customer, whoever opened it
    assert all(sorted(i.invoice_number or "" for i in case.invoices) == ["A", "B"] for case in page.items)
    assert targets.counts("C1")["total"] == len(documents)


def _race(attempt: Callable[[], object]) -> list[str]:
    """Run `attempt` on RACERS threads released together; "won" or "lost" (Conflict) for each."""
    start = threading.Barrier(RACERS)
    results: list[str] = []

    def racer() -> None:
        start.wait()
        try:
            attempt()
            results.append("won")
        except Conflict:
            results.append("lost")

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_consumed_capacity_is_reported_through_pynamodb(tables, clock, make_target):
    """For the engine's benchmark: PynamoDB asks for ReturnConsumedCapacity=TOTAL on every data call
    and moto answers with a ConsumedCapacity block (moto's units are nominal, not DynamoDB's bill)."""
    target = make_target()
    targets.insert_new([target])
    connection = targets.TargetRecord._get_connection()

    read = connection.get_item(target.id, consistent_read=True)
    query = connection.query(target.campaign_id, index_name="by_agenda")

    assert read["ConsumedCapacity"]["TableName"] == targets.TargetRecord.Meta.table_name
    assert read["ConsumedCapacity"]["CapacityUnits"] > 0
    assert "ConsumedCapacity" in query
    assert transaction_connection() is not None

"""A customer synced from the ISP's ERP, walked across days as a collection team follows them: the sync
folds the customer's invoices (every contract, every installation point) into one case; the first
WhatsApp message; the assistant, once the customer confirmed who they are, lists the invoices and gives
the ERP's own Pix; the customer pays one in the ERP, the ERP cancels another and changes the phone,
and re-syncs follow each change without a second case; when nothing collectible is left the case
closes `paid`. The ERP's secrets (the customers' plaintext passwords) never reach a log line or a
stored item. The engine's world (queues, handlers, Evolution and the virtual clock) is the journeys'
(tests/integration/engine), with the ERP's simulator on loopback as the billing system."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.ixc import IxcSimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients
from shared.adapters.billing import BillingSystem, OverdueFilter
from shared.adapters.erp.ixc import IxcBilling
from shared.assistant import texts
from shared.core.config import IxcConfig, reset_settings
from shared.core.observability import logger
from shared.domain.models import ImportJob, ImportStatus, Outcome, TargetState
from shared.imports import erp_sync
from tests.integration.api.test_erp_sync import Erp, _hubsoft, _ixc, _sgp
from tests.integration.engine.engine_world import Engine, cpf, mobile
from tests.integration.engine.journeys import (
    MONDAY,
    SAO_PAULO,
    Chat,
    at,
    business_day,
    counters_agree_with_the_cases,
    only_case,
)

BUCKET = "cobranca-imports-erp-walk"
JOANA = cpf(901)
JOANA_PHONE = mobile("11", 901)
JOANA_NEW_PHONE = mobile("11", 902)
PASSWORD = "Joana#Senha-em-texto-puro"  # IXC returns it with every customer row


def local_phone(e164: str) -> str:
    """An E.164 mobile as an ISP's clerk types it: `(11) 91234-5678`."""
    digits = e164[2:]
    return f"({digits[:2]}) {digits[2:7]}-{digits[7:]}"


def install(monkeypatch: pytest.MonkeyPatch, system: str, billing: BillingSystem) -> None:
    """`billing` as the process's billing system, and the import bucket the sync reports to."""
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"}
    )
    monkeypatch.setenv("IMPORT_BUCKET", BUCKET)
    monkeypatch.setenv("BILLING_SYSTEM", system)
    reset_settings()
    clients.install(crm=billing)


@pytest.fixture
def ixc(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[IxcSimulator]:
    """IXC on loopback as the billing system."""
    simulator = IxcSimulator(timeout_seconds=1.5)
    server = serve_in_thread(simulator.app)
    config = IxcConfig(server.url, simulator.user_id, SecretStr(simulator.token))
    install(monkeypatch, "ixc", IxcBilling(config, timeout=1.0))
    yield simulator
    server.stop()


@pytest.fixture(params=[_ixc, _sgp, _hubsoft], ids=["ixc", "sgp", "hubsoft"])
def erp(request: pytest.FixtureRequest, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Erp]:
    """Each ERP's simulator on loopback as the billing system (the ERP sync tests' builders)."""
    servers = []

    def url_of(simulator: Any) -> str:
        servers.append(serve_in_thread(simulator.app))
        return servers[-1].url

    built: Erp = request.param(url_of)
    install(monkeypatch, built.system, built.billing)
    yield built
    for server in servers:
        server.stop()


def sync(campaign_id: str) -> ImportJob:
    """A sync of the campaign, its pages past the first read as the ingest worker does (`resume`)."""
    job = erp_sync.sync_targets(campaign_id, OverdueFilter())
    while job.status is ImportStatus.PROCESSING:
        job = erp_sync.resume(job.id)
    assert job.status is ImportStatus.COMPLETED
    return job


def stored_items() -> str:
    """Every item of every table, as text."""
    dynamodb = boto3.client("dynamodb")
    items = []
    for table in dynamodb.list_tables()["TableNames"]:
        items += dynamodb.scan(TableName=table)["Items"]
    return json.dumps(items, ensure_ascii=False)


def test_an_ixc_customer_on_two_installation_points_walked_from_the_sync_to_paid(
    engine: Engine, ixc: IxcSimulator, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    campaign = engine.campaign(follow_up_after_days=3)
    customer = ixc.add_customer(JOANA, "Joana Prado", phones=(local_phone(JOANA_PHONE),), password=PASSWORD)
    home, shop = ixc.add_contract(customer), ixc.add_contract(customer)
    first = ixc.add_invoice(customer, Decimal("120.00"), date(2025, 1, 10), contract_id=home)
    second = ixc.add_invoice(
        customer, Decimal("120.00"), date(2025, 2, 10), contract_id=home, contract_field="id_contrato_avulso"
    )
    shop_title = ixc.add_invoice(customer, Decimal("89.90"), date(2025, 2, 20), contract_id=shop)

    # Monday 09:00: the sync folds the three titles of both contracts into one case.
    engine.clock.set(at(MONDAY, 9, tz=SAO_PAULO))
    job = sync(campaign.id)
    assert (job.imported, job.customers_created, job.rejected) == (3, 1, 0)
    case = only_case(campaign.id)
    assert (case.client_name, case.document, case.phone) == ("Joana Prado", JOANA, JOANA_PHONE)
    assert [(i.invoice_number, i.amount, i.installation_point) for i in case.invoices] == [
        (first, Decimal("120.00"), home),
        (second, Decimal("120.00"), home),
        (shop_title, Decimal("89.90"), shop),
    ]
    assert case.debt_amount == Decimal("329.90") and case.open_amount is None

    # Monday 10:00: one first message, for the three titles; no amount before she says who she is.
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    [message] = engine.evolution.texts_to(JOANA_PHONE)
    assert "TR Telecom" in message and "R$" not in message
    case = engine.get(case)
    assert (case.state, case.contact_count) == (TargetState.CONTACTED, 1)
    assert case.open_amount == Decimal("329.90")

    # She answers; once she gives her CPF the assistant lists the three titles and gives IXC's Pix.
    joana = Chat(JOANA_PHONE, "Joana")
    engine.clock.set(at(MONDAY, 10, 30, tz=SAO_PAULO))
    joana.says("oi, quem é?")
    assert "R$" not in engine.evolution.texts_to(JOANA_PHONE)[-1]
    joana.says(JOANA)
    quote = engine.evolution.texts_to(JOANA_PHONE)[-1]
    assert "Encontrei 3 faturas em aberto" in quote
    for title, amount in ((first, "R$ 120,00"), (second, "R$ 120,00"), (shop_title, "R$ 89,90")):
        assert f"Fatura {title}: {amount}" in quote
    assert "Total: R$ 329,90" in quote
    asked = len(engine.evolution.texts_to(JOANA_PHONE))
    joana.says("me manda o pix")
    *codes, done = engine.evolution.texts_to(JOANA_PHONE)[asked:]
    assert done.startswith("Pronto! Te mandei aqui na conversa")
    # IXC's own BR Code of each title, one a message (so paying settles the title there); no charge rewritten
    assert [
        f"pix.ixc.example/qr/v2/{title}5204" in code
        for code, title in zip(codes, (first, second, shop_title), strict=True)
    ] == [True] * 3
    assert ixc.rewritten_charges == []

    # Tuesday she pays the shop's title in IXC; a re-sync neither re-adds it nor opens a second case.
    ixc.pay(shop_title)
    engine.clock.set(at(MONDAY + timedelta(days=1), 9, tz=SAO_PAULO))
    job = sync(campaign.id)
    assert (job.imported, job.duplicates, job.customers_created) == (0, 2, 0)
    case = only_case(campaign.id)
    assert len(case.invoices) == 3 and case.debt_amount == Decimal("329.90")

    # Wednesday IXC cancels the second title and the customer's phone changes there: the re-sync puts
    # the new number on the case, and the next contact goes to it.
    ixc.tables["fn_areceber"][second]["status"] = "C"
    ixc.tables["cliente"][customer]["telefone_celular"] = local_phone(JOANA_NEW_PHONE)
    engine.clock.set(at(MONDAY + timedelta(days=2), 9, tz=SAO_PAULO))
    job = sync(campaign.id)
    assert (job.imported, job.duplicates, job.customers_updated) == (0, 1, 1)
    case = only_case(campaign.id)
    assert case.phones == [JOANA_NEW_PHONE] and case.phone == JOANA_NEW_PHONE
    # Whoever has her old number now learns nothing, even with her CPF: it is no longer on file.
    stranger = Chat(JOANA_PHONE)
    engine.clock.set(at(MONDAY + timedelta(days=2), 10, tz=SAO_PAULO))
    stranger.says(f"meu cpf é {JOANA}, quanto devo?")
    assert engine.evolution.texts_to(JOANA_PHONE)[-1] == texts.NOT_ON_FILE
    # Thursday 10:30, her follow-up is due: it goes to the new number, and only the first title is open.
    sent_to_old = len(engine.evolution.texts_to(JOANA_PHONE))
    business_day(engine, at(MONDAY + timedelta(days=3), 10, 30, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOANA_PHONE)) == sent_to_old
    [follow_up] = engine.evolution.texts_to(JOANA_NEW_PHONE)
    assert "R$" not in follow_up
    case = engine.get(case)
    assert (case.contact_count, case.open_amount) == (2, Decimal("120.00"))
    new = Chat(JOANA_NEW_PHONE, "Joana")
    engine.clock.set(at(MONDAY + timedelta(days=3), 11, tz=SAO_PAULO))
    new.says(JOANA)
    quote = engine.evolution.texts_to(JOANA_NEW_PHONE)[-1]
    assert "Encontrei 1 fatura em aberto" in quote and f"Fatura {first}: R$ 120,00" in quote
    assert str(second) not in quote  # cancelled in IXC: never collected

    # Friday she pays the last title in IXC and says so: nothing collectible is left, the case is paid.
    ixc.pay(first)
    engine.clock.set(at(MONDAY + timedelta(days=4), 9, tz=SAO_PAULO))
    new.says("já paguei")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert (case.open_amount, case.debt_amount) == (Decimal("0.00"), Decimal("329.90"))
    assert sync(campaign.id).customers_created == 0  # nothing overdue: nothing to fold
    assert only_case(campaign.id).state is TargetState.COMPLETED
    counters_agree_with_the_cases(campaign.id)

    # IXC answered her password with every customer read: it is in no log line and no stored item.
    assert ixc.calls_to("cliente")
    # the structured log lines, however the logger's handler is captured
    logged = capsys.readouterr().out + "\n".join(map(logger.registered_formatter.format, caplog.records))
    assert "erp sync finished" in logged and PASSWORD not in logged
    assert PASSWORD not in stored_items()


# --- The same story, briefly, on each ERP --------------------------------------------------------------

LEO = cpf(911)
LEO_PHONE, LEO_NEW_PHONE = mobile("11", 911), mobile("11", 912)
# What each simulator answers in plaintext with a customer (passwords of the customer's service, of
# the customer's portal): never to be logged nor stored.
SECRETS = ("senha-do-cliente", "senha-pppoe-", "central-")


def change_phone(erp: Erp, seeded: Any, phone: str) -> None:
    """The customer's phone, replaced in the ERP."""
    if erp.system == "ixc":
        erp.simulator.tables["cliente"][seeded]["telefone_celular"] = local_phone(phone)
    else:
        seeded.phones = (local_phone(phone),)


def test_a_customer_synced_from_each_erp_is_followed_to_paid_on_their_current_phone(
    engine: Engine, erp: Erp, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    campaign = engine.campaign(follow_up_after_days=3)
    older, newer = (
        SimInvoice("L-1", Decimal("99.90"), date(2025, 1, 15), 54),
        SimInvoice("L-2", Decimal("99.90"), date(2025, 2, 15), 23),
    )
    seeded = erp.simulator.add_debtor(LEO, "Leo Martins", [older, newer], phones=(local_phone(LEO_PHONE),))
    engine.clock.set(at(MONDAY, 9, tz=SAO_PAULO))
    assert (sync(campaign.id).imported, len(only_case(campaign.id).invoices)) == (2, 2)

    # The first message, then the invoices once he gave his CPF.
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    [message] = engine.evolution.texts_to(LEO_PHONE)
    assert "R$" not in message
    leo = Chat(LEO_PHONE, "Leo")
    engine.clock.set(at(MONDAY, 10, 30, tz=SAO_PAULO))
    leo.says("oi")
    leo.says(LEO)
    quote = engine.evolution.texts_to(LEO_PHONE)[-1]
    assert "Encontrei 2 faturas em aberto" in quote and "Total: R$ 199,80" in quote

    # He pays the older one in the ERP, and the ERP gets his new phone: each re-sync adds nothing.
    erp.simulator.pay_oldest(LEO)
    engine.clock.set(at(MONDAY + timedelta(days=1), 9, tz=SAO_PAULO))
    assert (sync(campaign.id).imported, sync(campaign.id).customers_created) == (0, 0)
    change_phone(erp, seeded, LEO_NEW_PHONE)
    engine.clock.set(at(MONDAY + timedelta(days=2), 9, tz=SAO_PAULO))
    sync(campaign.id)
    case = only_case(campaign.id)
    assert (case.phone, len(case.invoices)) == (LEO_NEW_PHONE, 2)

    # His follow-up goes to the new number; what is open is the newer invoice.
    sent_to_old = len(engine.evolution.texts_to(LEO_PHONE))
    business_day(engine, at(MONDAY + timedelta(days=3), 10, 30, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(LEO_PHONE)) == sent_to_old
    assert len(engine.evolution.texts_to(LEO_NEW_PHONE)) == 1
    assert engine.get(case).open_amount == Decimal("99.90")

    # He pays the rest and says so from the new number: paid.
    erp.simulator.pay_all(LEO)
    new = Chat(LEO_NEW_PHONE, "Leo")
    engine.clock.set(at(MONDAY + timedelta(days=3), 11, tz=SAO_PAULO))
    new.says(LEO)
    new.says("já paguei")
    case = engine.get(case)
    assert (case.state, case.outcome, case.open_amount) == (
        TargetState.COMPLETED,
        Outcome.PAID,
        Decimal("0.00"),
    )
    counters_agree_with_the_cases(campaign.id)
    logged = capsys.readouterr().out + "\n".join(map(logger.registered_formatter.format, caplog.records))
    items = stored_items()
    assert not [secret for secret in SECRETS if secret in logged or secret in items]

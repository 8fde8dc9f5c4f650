"""`POST /api/voice/campaigns/{id}/targets/sync`: the overdue customers of each ERP simulator folded
into one case each, page by page — the first page in the API, the rest in the ingest worker — resumed
after a failure, idempotent on a re-run, filtered; admins only; the generic CRM refused with a 422."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.hubsoft import HubsoftSimulator
from infra.local.simulators.ixc import IxcSimulator
from infra.local.simulators.server import serve_in_thread
from infra.local.simulators.sgp import SgpSimulator
from shared.adapters import clients
from shared.adapters.billing import BillingSystem
from shared.adapters.crm import CrmUnavailable, Debt
from shared.adapters.erp.hubsoft import HubsoftBilling
from shared.adapters.erp.ixc import IxcBilling
from shared.adapters.erp.sgp import SgpBilling
from shared.core.config import HubsoftConfig, IxcConfig, SgpConfig, reset_settings
from shared.data import imports
from shared.imports import erp_sync
from tests.integration.api.conftest import BUCKET, Api
from tests.integration.api.test_imports import _Context, _s3_event

TODAY = date(2025, 3, 10)  # the `clock` fixture's day in São Paulo
ANA, BRUNO, CARLA, DIANA = "52998224725", "41107296617", "11144477735", "39053344705"


def invoice(number: str, amount: str, days_ago: int) -> SimInvoice:
    return SimInvoice(number, Decimal(amount), TODAY - timedelta(days=days_ago), days_ago)


# Ana's invoices fall in three of Hubsoft's 30-day windows and over several pages of the others.
DEBTORS = {
    ANA: (
        "Ana Silva",
        [invoice("A1", "150.00", 10), invoice("A2", "150.00", 40), invoice("A3", "150.00", 70)],
    ),
    BRUNO: ("Bruno Souza", [invoice("B1", "59.90", 20)]),
    CARLA: ("Carla Dias", [invoice("C1", "119.90", 5), invoice("C2", "119.90", 45)]),
}

EVERY_CASE = {"Ana Silva": [10, 40, 70], "Bruno Souza": [20], "Carla Dias": [5, 45]}


@dataclass
class Erp:
    """One ERP simulator behind its adapter (small pages, so a sync spans several)."""

    system: str
    simulator: Any
    billing: BillingSystem
    suspended: str  # the ERP's own code of a contract suspended for debt (the contractStatus filter)
    add_active: Callable[[str, str, list[SimInvoice]], None]  # a debtor whose contract is not suspended

    def seed(self) -> None:
        for n, (document, (name, invoices)) in enumerate(DEBTORS.items()):
            self.simulator.add_debtor(document, name, invoices, phones=(f"(11) 99999-000{n}",))


def _ixc(url_of: Callable[[Any], str]) -> Erp:
    sim = IxcSimulator("7", "ixc-token")
    billing = IxcBilling(IxcConfig(url_of(sim), "7", SecretStr("ixc-token")), timeout=2.0, page_rows=2)

    def add_active(document: str, name: str, invoices: list[SimInvoice]) -> None:
        customer = sim.add_customer(document, name, phones=("(11) 98888-0000",))
        contract = sim.add_contract(customer, internet_status="A")
        for inv in invoices:
            sim.add_invoice(customer, inv.amount, inv.due_date, contract_id=contract)

    return Erp("ixc", sim, billing, "CA", add_active)


def _sgp(url_of: Callable[[Any], str]) -> Erp:
    sim = SgpSimulator("sgp-token", "Cobranca", max_limit=2)
    billing = SgpBilling(SgpConfig(url_of(sim), SecretStr("sgp-token"), "Cobranca"), timeout=2.0)

    def add_active(document: str, name: str, invoices: list[SimInvoice]) -> None:
        sim.add_debtor(document, name, invoices, phones=("(11) 98888-0000",), contract_status=1)

    return Erp("sgp", sim, billing, "Suspenso", add_active)


def _hubsoft(url_of: Callable[[Any], str]) -> Erp:
    sim = HubsoftSimulator("client", "secret", "cobranca@isp.example", "password")
    config = HubsoftConfig(
        url_of(sim), "client", SecretStr("secret"), "cobranca@isp.example", SecretStr("password")
    )
    billing = HubsoftBilling(config, timeout=2.0)

    def add_active(document: str, name: str, invoices: list[SimInvoice]) -> None:
        sim.add_debtor(
            document, name, invoices, phones=("(11) 98888-0000",), service_status="servico_habilitado"
        )

    return Erp("hubsoft", sim, billing, "suspenso_debito", add_active)


@pytest.fixture(params=[_ixc, _sgp, _hubsoft], ids=["ixc", "sgp", "hubsoft"])
def erp(request: pytest.FixtureRequest, api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Erp]:
    servers = []

    def url_of(sim: Any) -> str:
        servers.append(serve_in_thread(sim.app))
        return servers[-1].url

    built: Erp = request.param(url_of)
    monkeypatch.setenv("BILLING_SYSTEM", built.system)
    reset_settings()
    clients.install(crm=built.billing)
    yield built
    clients.reset()
    for server in servers:
        server.stop()


def sync(api: Api, campaign_id: str, role: str = "admin", **body: Any) -> Any:
    return api.post(f"/api/voice/campaigns/{campaign_id}/targets/sync", role=role, json=body)


def run_worker() -> list[dict[str, Any]]:
    """The ingest worker, invoked for every continuation the bucket holds, until none is left
    unfinished; returns the last invocation's answers."""
    from functions.ingest.handler import handler

    s3 = boto3.client("s3")
    finished: list[dict[str, Any]] = []
    for _ in range(20):
        keys = [
            item["Key"]
            for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="uploads/").get("Contents", [])
            if item["Key"].endswith(erp_sync.CONTINUE_OBJECT)
        ]
        finished = [handler(_s3_event(key, 64), _Context())["imports"][0] for key in keys]
        if all(answer["status"] != "processing" for answer in finished):
            return finished
    raise AssertionError("the sync never finished")


def invoices_by_customer(api: Api, campaign_id: str) -> dict[str, list[int]]:
    """Each case of the campaign (the API masks documents: by name) with its invoices' days overdue
    (IXC numbers its titles itself)."""
    targets = api.get(f"/api/voice/campaigns/{campaign_id}/targets", params={"limit": 100}).json()
    assert len({t["clientName"] for t in targets}) == len(targets)
    return {
        t["clientName"]: sorted((TODAY - date.fromisoformat(inv["dueDate"])).days for inv in t["invoices"])
        for t in targets
    }


def test_sync_folds_each_customers_invoices_into_one_case(api: Api, erp: Erp) -> None:
    erp.seed()
    campaign = api.create_campaign()

    response = sync(api, campaign["id"])

    assert response.status_code == 202, response.text  # several pages: the worker reads the rest
    job = response.json()
    assert (job["source"], job["filename"], job["status"]) == ("erp", erp.system, "processing")
    run_worker()
    job = api.get(f"/api/voice/imports/{job['id']}").json()
    assert job["status"] == "completed"
    assert (job["imported"], job["customersCreated"], job["customersUpdated"]) == (6, 3, 0)
    assert (job["duplicates"], job["rejected"]) == (0, 0)
    assert invoices_by_customer(api, campaign["id"]) == EVERY_CASE
    # Each invoice names the ERP's contract it bills (its installation point): one per customer here.
    # Hubsoft's overdue listing (`financeiro/fatura`) names no service: its invoices have none.
    targets = api.get(f"/api/voice/campaigns/{campaign['id']}/targets", params={"limit": 100}).json()
    points = [{invoice["installationPoint"] for invoice in target["invoices"]} for target in targets]
    if erp.system == "hubsoft":
        assert points == [{None}] * len(targets)
    else:
        assert all(len(point) == 1 and None not in point for point in points)
        assert len(set.union(*points)) == len(targets)


def test_a_small_sync_finishes_in_the_request(api: Api, erp: Erp) -> None:
    name, invoices = DEBTORS[BRUNO]
    erp.simulator.add_debtor(BRUNO, name, invoices, phones=("(11) 99999-0001",))
    campaign = api.create_campaign()

    response = sync(api, campaign["id"], maxDaysOverdue=25)

    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["status"], job["imported"], job["customersCreated"]) == ("completed", 1, 1)
    assert invoices_by_customer(api, campaign["id"]) == {"Bruno Souza": [20]}


def test_a_rerun_adds_nothing_and_reports_every_invoice_as_a_duplicate(api: Api, erp: Erp) -> None:
    erp.seed()
    campaign = api.create_campaign()
    sync(api, campaign["id"])
    run_worker()
    before = invoices_by_customer(api, campaign["id"])

    rerun = sync(api, campaign["id"]).json()
    run_worker()

    job = api.get(f"/api/voice/imports/{rerun['id']}").json()
    assert (job["status"], job["imported"], job["customersCreated"], job["customersUpdated"]) == (
        "completed",
        0,
        0,
        0,
    )
    assert job["duplicates"] == 6 and {e["code"] for e in job["errors"]} == {"duplicate"}
    assert job["reportUrl"] == f"/api/voice/imports/{job['id']}/report"
    assert invoices_by_customer(api, campaign["id"]) == before


def test_a_sync_stopped_by_an_erp_failure_resumes_from_its_cursor(api: Api, erp: Erp) -> None:
    erp.seed()
    campaign = api.create_campaign()
    first = sync(api, campaign["id"]).json()
    stored = imports.get(first["id"])
    assert stored.cursor is not None and 0 < stored.imported < 6

    erp.simulator.outage = "http_500"
    from functions.ingest.handler import handler

    key = f"uploads/{campaign['id']}/{first['id']}/{erp_sync.CONTINUE_OBJECT}"
    with pytest.raises(CrmUnavailable):
        handler(_s3_event(key, 64), _Context())  # Lambda retries the invocation
    assert imports.get(first["id"]).status.value == "processing"

    erp.simulator.outage = None
    run_worker()

    job = api.get(f"/api/voice/imports/{first['id']}").json()
    assert (job["status"], job["imported"], job["customersCreated"], job["duplicates"]) == (
        "completed",
        6,
        3,
        0,
    )
    assert invoices_by_customer(api, campaign["id"]) == EVERY_CASE


def test_a_crash_after_folding_a_page_reruns_it_without_doubling_an_invoice(
    api: Api, erp: Erp, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp.seed()
    campaign = api.create_campaign()
    first = sync(api, campaign["id"]).json()
    checkpoint = imports.update

    def crash_on_checkpoint(import_id: str, **changes: Any) -> Any:
        if "cursor" in changes:
            raise RuntimeError("the worker died before its checkpoint")
        return checkpoint(import_id, **changes)

    monkeypatch.setattr(erp_sync.imports, "update", crash_on_checkpoint)
    with pytest.raises(RuntimeError):
        erp_sync.resume(first["id"])  # the page is folded, the cursor not advanced
    monkeypatch.setattr(erp_sync.imports, "update", checkpoint)

    resumed = sync(api, campaign["id"], importId=first["id"])  # or the worker's retry
    assert resumed.status_code in (200, 202), resumed.text
    run_worker()

    job = api.get(f"/api/voice/imports/{first['id']}").json()
    assert job["status"] == "completed"
    # The re-read page's invoices come back as duplicates (as a redelivered upload's rows do): every
    # invoice is counted once, stored once.
    assert job["imported"] + job["duplicates"] == 6 and job["rejected"] == 0
    assert invoices_by_customer(api, campaign["id"]) == EVERY_CASE


def test_a_sync_whose_campaign_was_deleted_meanwhile_ends_as_failed(api: Api, erp: Erp) -> None:
    erp.seed()
    campaign = api.create_campaign()
    first = sync(api, campaign["id"]).json()
    assert api.delete(f"/api/voice/campaigns/{campaign['id']}").status_code == 200

    assert run_worker() == [{"importId": first["id"], "status": "failed", "imported": first["imported"]}]
    job = api.get(f"/api/voice/imports/{first['id']}").json()
    assert "not found" in job["failure"]


def test_filters_choose_days_overdue_minimum_amount_and_contract_status(api: Api, erp: Erp) -> None:
    erp.seed()
    erp.add_active(DIANA, "Diana Reis", [invoice("D1", "200.00", 30)])
    campaign = api.create_campaign()

    sync(
        api,
        campaign["id"],
        minDaysOverdue=15,
        maxDaysOverdue=60,
        minAmount="100.00",
        contractStatus=erp.suspended,
    )
    run_worker()

    # Ana: only her invoice 40 days overdue; Bruno owes too little; Carla's 45-day invoice; Diana's
    # contract is not suspended.
    assert invoices_by_customer(api, campaign["id"]) == {"Ana Silva": [40], "Carla Dias": [45]}


@pytest.mark.parametrize("role", ["supervisor", "viewer"])
def test_only_admins_sync(api: Api, role: str) -> None:
    campaign = api.create_campaign()
    assert sync(api, campaign["id"], role=role).status_code == 403


def test_a_window_that_ends_before_it_starts_is_refused(api: Api) -> None:
    campaign = api.create_campaign()
    response = sync(api, campaign["id"], minDaysOverdue=30, maxDaysOverdue=10)
    assert response.status_code == 422
    assert "maxDaysOverdue" in response.text


class _OneDocumentCrm:
    """The generic CRM contract: one document at a time, no list."""

    def consult(self, document: str) -> Debt | None:
        return None


def test_the_generic_crm_cannot_sync_and_says_why(api: Api) -> None:
    clients.install(crm=_OneDocumentCrm())
    try:
        campaign = api.create_campaign()
        response = sync(api, campaign["id"])
    finally:
        clients.reset()

    assert response.status_code == 422
    assert response.json()["code"] == "overdue_list_unsupported"
    assert "cannot list overdue customers" in response.json()["detail"]
    assert "import a spreadsheet" in response.json()["detail"]


def test_the_erps_phones_of_a_customer_are_on_file_for_the_identity_check(erp: Erp) -> None:
    name, invoices = DEBTORS[BRUNO]
    erp.simulator.add_debtor(BRUNO, name, invoices, phones=("(11) 99999-0001", "(11) 3333-4444"))

    debt = erp.billing.consult(BRUNO)

    assert debt is not None
    assert "5511999990001" in debt.phones  # normalized as conversations store them
    assert all(phone.isdigit() for phone in debt.phones)

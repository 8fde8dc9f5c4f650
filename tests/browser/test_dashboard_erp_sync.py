"""The campaign page's "Sincronizar do ERP" form: an admin pulls the overdue customers from the ERP
(here the IXC simulator) with filters and sees the job's result; a generic CRM's refusal is shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.ixc import IxcSimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients
from shared.adapters.crm import Debt
from shared.adapters.erp.ixc import IxcBilling
from shared.core.config import IxcConfig
from shared.domain.models import ContactMethod
from shared.engine import campaigns as campaign_rules
from tests.browser.conftest import Dashboard, shot, sign_in

pytestmark = pytest.mark.browser

TODAY = date(2025, 3, 10)  # the `clock` fixture's day in São Paulo


def invoice(number: str, amount: str, days_ago: int) -> SimInvoice:
    return SimInvoice(number, Decimal(amount), TODAY - timedelta(days=days_ago), days_ago)


@pytest.fixture
def ixc(dashboard: Dashboard) -> Iterator[IxcSimulator]:
    sim = IxcSimulator("7", "ixc-token")
    server = serve_in_thread(sim.app)
    clients.install(crm=IxcBilling(IxcConfig(server.url, "7", SecretStr("ixc-token")), timeout=2.0))
    yield sim
    clients.reset()
    server.stop()


def test_an_admin_syncs_the_overdue_customers_from_the_erp(
    page: Any, dashboard: Dashboard, ixc: IxcSimulator
) -> None:
    ixc.add_debtor(
        "52998224725",
        "Ana Silva",
        [invoice("A1", "150.00", 40), invoice("A2", "150.00", 70)],
        phones=("(11) 99999-0001",),
    )
    ixc.add_debtor("41107296617", "Bruno Souza", [invoice("B1", "59.90", 20)], phones=("(11) 99999-0002",))
    ixc.add_debtor("11144477735", "Carla Dias", [invoice("C1", "119.90", 5)], phones=("(11) 99999-0003",))
    campaign = campaign_rules.create(name="Maio", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    sign_in(page, dashboard, "admin")
    page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

    page.get_by_label("Dias em atraso, de").fill("10")
    page.get_by_label("Valor mínimo (R$)").fill("100,00")
    page.get_by_role("button", name="Sincronizar do ERP").click()

    expect(page.locator("[data-sync-status]")).to_have_text("Sincronização concluída.")
    expect(page.locator("[data-import-summary]")).to_have_text(
        "2 faturas importadas · 1 cliente novo · 0 clientes atualizados · 0 duplicados · 0 linhas rejeitadas"
    )
    expect(page.locator(".funnel-total")).to_have_text("Clientes na campanha: 1")
    shot(page, "sincronizacao-erp", full_page=True)

    # Again: nothing new, every invoice reported as already in the campaign.
    page.get_by_role("button", name="Sincronizar do ERP").click()
    expect(page.locator("[data-import-summary]")).to_have_text(
        "0 faturas importadas · 0 clientes novos · 0 clientes atualizados · 2 duplicados · 0 linhas rejeitadas"
    )
    expect(page.locator("[data-import-errors] tbody tr")).to_have_count(2)


class _OneDocumentCrm:
    def consult(self, document: str) -> Debt | None:
        return None


def test_a_billing_system_without_an_overdue_list_is_explained(page: Any, dashboard: Dashboard) -> None:
    clients.install(crm=_OneDocumentCrm())
    try:
        campaign = campaign_rules.create(name="Junho", contact_method=ContactMethod.WHATSAPP_PRIMARY)
        sign_in(page, dashboard, "admin")
        page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

        page.get_by_role("button", name="Sincronizar do ERP").click()

        expect(page.locator("[data-import-error]")).to_contain_text("A sincronização não foi feita:")
        expect(page.locator("[data-import-error]")).to_contain_text("cannot list overdue customers")
    finally:
        clients.reset()

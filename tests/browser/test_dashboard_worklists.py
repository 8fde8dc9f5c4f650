"""Lists that can be worked: a campaign's cases filtered and sorted (server-side, a page at a time),
and the "Não contatar" page where a supervisor registers an opt-out with its reason (a viewer only
reads it; nothing can be removed)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.core import clock as clock_module
from shared.data import optouts, targets
from shared.domain.models import ContactMethod, Invoice, Outcome, Target, TargetState
from shared.engine import campaigns as campaign_rules
from tests.browser.conftest import Dashboard, shot, sign_in

pytestmark = pytest.mark.browser

DOCUMENTS = {
    "52998224725": "50.00",
    "11144477735": "320.00",
    "39053344705": "89.90",
    "86288366757": "1200.00",
}


def test_a_supervisor_filters_and_sorts_a_campaigns_cases(
    page: Any, dashboard: Dashboard, make_target: Callable[..., Target]
) -> None:
    campaign = campaign_rules.create(name="Cobrança Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    inserted, _ = targets.insert_new(
        [
            make_target(
                campaign_id=campaign.id,
                document=document,
                client_name=f"Cliente {amount}",
                invoices=[Invoice(invoice_number=f"F-{document}", amount=Decimal(amount))],
            )
            for document, amount in DOCUMENTS.items()
        ]
    )
    paid = next(case for case in inserted if case.document == "86288366757")
    now = clock_module.now()
    targets.transition(
        paid.id,
        [TargetState.PENDING],
        TargetState.COMPLETED,
        outcome=Outcome.PAID,
        open_amount=Decimal("0.00"),
        open_amount_at=now,
    )
    sign_in(page, dashboard, "supervisor")
    page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

    cases = page.locator("[data-cases-list]")
    rows = cases.locator("[data-rows] tr")
    expect(rows).to_have_count(4)
    cases.get_by_label("Ordenar por").select_option(label="Maior valor")
    expect(rows.first.locator("td").nth(2)).to_have_text("R$ 1.200,00")
    assert [row.locator("td").nth(2).inner_text() for row in rows.all()] == [
        "R$ 1.200,00",
        "R$ 320,00",
        "R$ 89,90",
        "R$ 50,00",
    ]
    cases.locator('select[name="state"]').select_option(label="Pendente")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("td").nth(2)).to_have_text("R$ 320,00")
    cases.locator('select[name="state"]').select_option(label="Todos")
    cases.get_by_label("Resultado").select_option(label="Pago")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("Cliente 1200.00")
    open_cell = rows.first.locator("td").nth(3)  # what the CRM last showed still open, and when
    expect(cases.locator("th").nth(3)).to_have_text("Em aberto")
    expect(open_cell).to_have_text("R$ 0,00")
    expect(open_cell).to_have_attribute("title", re.compile(r"^Consultado no CRM em \d{2}/\d{2}/\d{4}"))
    cases.get_by_label("Resultado").select_option(label="Todos")
    expect(rows).to_have_count(4)
    expect(rows.nth(1).locator("td").nth(3)).to_have_text("—")  # never read
    shot(page, "casos-da-campanha", full_page=True)


def test_a_supervisor_adds_an_opt_out_with_its_reason_and_cannot_remove_it(
    page: Any, dashboard: Dashboard, clock: clock_module.VirtualClock
) -> None:
    optouts.add(phone="5521988887777", reason="PARAR", source="keyword")
    clock.advance(timedelta(minutes=5))
    sign_in(page, dashboard, "supervisor")

    page.get_by_role("link", name="Não contatar").click()
    rows = page.locator("[data-rows] tr")
    expect(rows).to_have_count(1)
    page.get_by_label("CPF ou CNPJ").fill("529.982.247-25")
    page.get_by_label("Motivo").fill("Pediu por telefone ao provedor")
    page.get_by_role("button", name="Registrar").click()

    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("***.982.247-**")
    expect(rows.first).to_contain_text("Pediu por telefone ao provedor")
    expect(rows.first).to_contain_text("Painel")
    expect(rows.nth(1)).to_contain_text("Palavra-chave (PARAR)")
    assert optouts.is_opted_out(document="52998224725")
    expect(page.get_by_role("button", name="Remover")).to_have_count(0)
    shot(page, "nao-contatar")


def test_an_opt_out_needs_a_phone_or_a_document_and_a_viewer_only_reads(
    page: Any, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard, "supervisor")
    page.goto(f"{dashboard.monitor}#/nao-contatar")
    page.get_by_label("Motivo").fill("sem dados")
    page.get_by_role("button", name="Registrar").click()
    expect(page.locator("[data-optout-error]")).to_have_text("Informe o telefone, o documento ou os dois.")

    page.get_by_role("button", name="Sair").click()
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.monitor}#/nao-contatar")
    expect(page.get_by_role("heading", name="Não contatar")).to_be_visible()
    expect(page.get_by_role("button", name="Registrar")).to_be_hidden()

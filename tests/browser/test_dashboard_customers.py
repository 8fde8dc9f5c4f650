"""A supervisor finds a customer by CPF and sees the story: the cases of both campaigns and the
timeline; a viewer is not offered the search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.core import clock as clock_module
from shared.data import access_log, counters, targets
from shared.domain.models import ContactMethod, Invoice, Target
from shared.engine import campaigns as campaign_rules
from tests.browser.conftest import Dashboard, shot, sign_in

pytestmark = pytest.mark.browser


def test_a_supervisor_finds_a_customer_by_cpf_and_sees_the_story(
    page: Any, dashboard: Dashboard, make_target: Callable[..., Target]
) -> None:
    march = campaign_rules.create(name="Cobrança Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    april = campaign_rules.create(name="Cobrança Abril", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    for campaign, amount, later in ((march, "1234.56", 0), (april, "89.90", 1)):
        at = clock_module.now() + timedelta(days=later)
        targets.insert_new(
            [
                make_target(
                    campaign_id=campaign.id,
                    document="52998224725",
                    invoices=[Invoice(invoice_number=f"F-{later}", amount=Decimal(amount))],
                    created_at=at,
                    updated_at=at,
                )
            ]
        )
    sign_in(page, dashboard, "supervisor")

    page.get_by_role("link", name="Clientes", exact=True).click()
    page.get_by_label("CPF, CNPJ ou telefone").fill("529.982.247-25")
    page.get_by_role("button", name="Buscar").click()

    expect(page.get_by_role("heading", name="Histórico do cliente ***.982.247-**")).to_be_visible()
    rows = page.locator("[data-cases] tr")
    expect(rows).to_have_count(2)
    assert [row.locator("td").first.inner_text() for row in rows.all()] == [
        "Cobrança Março",
        "Cobrança Abril",
    ]
    expect(rows.first.locator("td").nth(3)).to_have_text("R$ 1.234,56")
    events = page.locator("[data-events] li")
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("Caso aberto na campanha Cobrança Março")
    assert [entry.document for entry in access_log.of_day(clock_module.now().date())] == ["***.982.247-**"]
    shot(page, "cliente")


def test_a_viewer_is_not_offered_the_customer_search(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard, "viewer")
    expect(page.get_by_role("link", name="Campanhas")).to_be_visible()
    expect(page.get_by_role("link", name="Clientes", exact=True)).to_be_hidden()


def test_the_trend_chart_draws_the_apis_daily_series_and_switches_period(
    page: Any, dashboard: Dashboard
) -> None:
    campaign = campaign_rules.create(name="Cobrança Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    today = clock_module.now().date()  # 10/03/2025 in São Paulo
    for back, contacts in ((0, 12), (3, 4), (20, 7)):
        scope = counters.campaign_day_scope(campaign.id, today - timedelta(days=back))
        counters.increment_many(scope, {"contacts": contacts, "promises": 1, "cents:recovered": 10050})
    sign_in(page, dashboard, "supervisor")
    page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

    api = dashboard.get(f"/api/voice/campaigns/{campaign.id}/daily").json()
    bars = page.locator("svg.trend rect.bar")
    expect(bars).to_have_count(len(api))
    assert len(api) == 30
    expect(page.locator("[data-trend-total]")).to_have_text(
        "No período: 23 contatos, 0 respostas, 3 promessas, 0 cumpridas, R$ 301,50 recuperados."
    )
    expect(bars.last.locator("title")).to_have_text(
        "10/03/2025: 12 contatos, 0 respostas, 1 promessas, 0 cumpridas, R$ 100,50 recuperados"
    )
    page.get_by_role("button", name="7 dias").click()
    expect(bars).to_have_count(7)
    expect(page.locator("[data-trend-total]")).to_contain_text("16 contatos")
    shot(page, "tendencia", full_page=True)


def test_a_supervisor_finds_a_customer_by_phone_and_adds_a_phone_to_them(
    page: Any, dashboard: Dashboard, make_target: Callable[..., Target]
) -> None:
    march = campaign_rules.create(name="Cobrança Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    [case], _ = targets.insert_new(
        [
            make_target(
                campaign_id=march.id,
                document="52998224725",
                phone="5511999998888",
                invoices=[Invoice(invoice_number="F-1", amount=Decimal("250.00"))],
            )
        ]
    )
    sign_in(page, dashboard, "supervisor")

    page.get_by_role("link", name="Clientes", exact=True).click()
    page.get_by_label("Buscar por").select_option(label="Telefone")
    page.get_by_label("CPF, CNPJ ou telefone").fill("(11) 99999-8888")
    page.get_by_role("button", name="Buscar").click()

    expect(page.get_by_role("heading", name="Histórico do cliente ***.982.247-**")).to_be_visible()
    expect(page.locator("[data-cases] tr td").nth(3)).to_have_text("R$ 250,00")
    assert [e.action for e in access_log.of_day(clock_module.now().date())] == [
        "customer_search_phone",
        "customer_story",
    ]

    page.get_by_label("Telefone a adicionar").fill("(31) 99876-5432")
    page.get_by_role("button", name="Adicionar telefone").click()

    added = page.locator(f'tr[data-id="{case.id}"] [data-added-phones] li')
    expect(added).to_have_count(1)
    expect(added).to_contain_text("token:supervisor")
    stored = targets.get(case.id)
    assert "5531998765432" in stored.phones
    assert [(a.phone, a.added_by) for a in stored.added_phones] == [("5531998765432", "token:supervisor")]
    shot(page, "cliente-por-telefone")


def test_a_phone_no_case_carries_shows_no_story(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard, "supervisor")
    page.goto(f"{dashboard.monitor}#/clientes/tel/11912345678")

    expect(page.locator("#toast")).to_have_text("Nenhum cliente tem um caso com este telefone.")
    expect(page.locator("[data-story]")).to_have_count(0)

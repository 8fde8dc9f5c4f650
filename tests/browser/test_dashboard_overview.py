"""Signing in, the live metric cards, the alert badge and what each role is offered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.core import clock as clock_module
from shared.data import conversations, counters
from shared.data.targets import CaseMoney
from shared.domain.models import (
    Channel,
    ContactMethod,
    Conversation,
    ConversationSource,
    ConversationStatus,
    Outcome,
)
from shared.engine import campaigns as campaign_rules
from shared.engine import stats
from tests.browser.conftest import TOKENS, Dashboard, brazilian, shot, sign_in
from tests.integration.api.conftest import make_cpf

pytestmark = pytest.mark.browser


def seed_the_seed_counters() -> None:
    """The seed's example numbers: 247 calls, 1,834 messages, 34 pending and 128 fulfilled promises,
    and a campaign of 1,000 customers, all contacted, of whom 423 paid (42.3 %)."""
    counters.increment_many(
        counters.GLOBAL,
        {
            stats.contacts_counter(Channel.VOICE): 247,
            stats.contacts_counter(Channel.WHATSAPP): 1834,
            stats.promises_counter(): 162,
            "promises:pending": 34,
            "promises:fulfilled": 128,
        },
    )
    campaign = campaign_rules.create(
        name="Cobrança Janeiro 2025", contact_method=ContactMethod.WHATSAPP_PRIMARY
    )
    counters.increment_many(
        counters.campaign_scope(campaign.id),
        {
            "total": 1000,
            "contacted": 1000,
            f"outcome:{Outcome.PAID.value}": 423,
            CaseMoney.PAID_AFTER_CONTACT.value: 423,  # the conversion's numerator: paid after its contact
        },
    )


S = ConversationSource
PEOPLE = [
    ("Maria Silva", S.WHATSAPP_CAMPAIGN, ConversationStatus.AI),
    ("João Souza", S.VOICE_CAMPAIGN, ConversationStatus.TRANSFERRED),
    ("Ana Lima", S.INBOUND, ConversationStatus.AI),
    ("Pedro Costa", S.WHATSAPP_CAMPAIGN, ConversationStatus.RESOLVED),
    ("Carla Dias", S.VOICE_CAMPAIGN, ConversationStatus.AI),
    ("Beatriz Rocha", S.INBOUND, ConversationStatus.RESOLVED),
    ("Lucas Martins", S.WHATSAPP_CAMPAIGN, ConversationStatus.TRANSFERRED),
]


def seed_conversations(make_conversation: Callable[..., Conversation]) -> None:
    now = clock_module.now()
    for i, (name, source, status) in enumerate(PEOPLE):
        phone = f"55{11 + i * 10}9{87654321 - i * 1111:08d}"
        conversations.create(
            make_conversation(
                chat_id=f"voice_CA{i:032x}" if source is S.VOICE_CAMPAIGN else f"whatsapp_{phone}",
                phone=phone,
                source=source,
                status=status,
                client_name=name,
                document=make_cpf(123456789 + i * 7919),
                last_activity_at=now - timedelta(minutes=3 + i * 17),
            )
        )


def card(page: Any, title: str) -> Any:
    return page.locator(".card", has_text=title).locator("p")


def test_cards_show_the_numbers_the_api_returns_and_refresh_without_reloading(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    seed_the_seed_counters()
    seed_conversations(make_conversation)
    sign_in(page, dashboard, "supervisor")

    api = dashboard.get("/api/voice/metrics").json()
    expect(card(page, "Total Chamadas")).to_have_text(brazilian(api["totalCalls"]))
    expect(card(page, "Total WhatsApp")).to_have_text(brazilian(api["totalWhatsAppMessages"]))
    expect(card(page, "Total Contatos")).to_have_text(brazilian(api["totalContacts"]))
    expect(card(page, "Promessas Pendentes")).to_have_text(brazilian(api["pendingPromises"]))
    expect(card(page, "Promessas Cumpridas")).to_have_text(brazilian(api["fulfilledPromises"]))
    expect(card(page, "Taxa de Conversão")).to_have_text(api["conversionRate"].replace(".", ",") + "%")
    # ... which are the seed's numbers.
    assert [card(page, t).inner_text() for t in ("Total Chamadas", "Total WhatsApp", "Total Contatos")] == [
        "247",
        "1.834",
        "2.081",
    ]
    expect(card(page, "Taxa de Conversão")).to_have_text("42,3%")
    expect(page.locator("#alert-count")).to_have_text("34")
    expect(page.get_by_role("link", name="34 promessas pendentes")).to_be_visible()
    rows = page.locator("[data-rows] tr")
    expect(rows).to_have_count(len(PEOPLE))
    assert [row.locator("td").first.inner_text().split("\n")[0] for row in rows.all()] == [
        p[0] for p in PEOPLE
    ]
    shot(page, "painel")

    page.evaluate("window.__notReloaded = true")
    stats.count_outreach(None, Channel.VOICE)
    stats.count_outreach(None, Channel.WHATSAPP)

    expect(card(page, "Total Chamadas")).to_have_text("248")
    expect(card(page, "Total Contatos")).to_have_text("2.083")
    assert page.evaluate("window.__notReloaded") is True


def test_a_wrong_token_is_refused_with_a_message_and_nothing_is_shown(
    page: Any, dashboard: Dashboard
) -> None:
    page.goto(dashboard.monitor)
    page.get_by_label("Token de acesso").fill("not-a-token")
    page.get_by_role("button", name="Entrar").click()

    expect(page.get_by_role("alert")).to_have_text("Token inválido. Confira e tente de novo.")
    expect(page.get_by_role("navigation", name="Seções")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('cobranca.token')") is None
    shot(page, "login")


def test_the_token_lasts_the_browser_session_and_sair_forgets_it(page: Any, dashboard: Dashboard) -> None:
    sign_in(page, dashboard, "supervisor")
    expect(page.locator("#whoami")).to_have_text("Supervisão")

    page.reload()
    expect(page.get_by_role("navigation", name="Seções")).to_be_visible()

    page.get_by_role("button", name="Sair").click()
    expect(page.get_by_label("Token de acesso")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('cobranca.token')") is None


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        ("viewer", set()),
        ("supervisor", {"Ativar"}),
        ("admin", {"Ativar", "Nova campanha"}),
    ],
)
def test_each_role_is_offered_only_the_actions_it_may_take(
    page: Any, dashboard: Dashboard, role: str, offered: set[str]
) -> None:
    campaign_rules.create(name="Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    sign_in(page, dashboard, role)
    assert dashboard.get("/api/me", role=role).json()["role"] == role

    page.get_by_role("link", name="Campanhas").click()
    expect(page.get_by_role("link", name="Março")).to_be_visible()

    actions = {"Ativar", "Nova campanha"}
    shown = {name for name in actions if page.get_by_role("button", name=name, exact=False).count()}
    assert shown == offered


def test_the_api_tokens_of_every_role_are_accepted_by_api_me(dashboard: Dashboard) -> None:
    for role in TOKENS:
        body = dashboard.get("/api/me", role=role).json()
        assert body["role"] == role
        assert body["canOperate"] is (role != "viewer")
        assert body["canAdminister"] is (role == "admin")


def test_money_cards_show_the_apis_amounts_in_reais(page: Any, dashboard: Dashboard) -> None:
    campaign = campaign_rules.create(name="Cobrança Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    counters.increment_many(
        counters.campaign_scope(campaign.id),
        {"cents:in_collection": 123456789, "cents:recovered": 4567890, "cents:self_cured": 5},
    )
    counters.increment_many(counters.GLOBAL, {"cents:promised": 100000, "cents:kept": 99999})
    sign_in(page, dashboard, "supervisor")

    api = dashboard.get("/api/voice/metrics").json()
    assert (api["amountInCollection"], api["recoveryRate"]) == ("1234567.89", "3.7")
    expect(card(page, "Em cobrança")).to_have_text("R$ 1.234.567,89")
    expect(card(page, "Valor prometido")).to_have_text("R$ 1.000,00")
    expect(card(page, "Valor cumprido")).to_have_text("R$ 999,99")
    expect(card(page, "Recuperado após contato")).to_have_text("R$ 45.678,90")
    expect(card(page, "Pago sem contato")).to_have_text("R$ 0,05")
    expect(card(page, "Taxa de recuperação")).to_have_text("3,7%")

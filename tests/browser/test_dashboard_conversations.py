"""The conversations table: the seed's source filters, server-side paging, the thread and handoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.core import clock as clock_module
from shared.data import conversations, messages
from shared.domain.ids import new_id
from shared.domain.models import (
    CallDisposition,
    Channel,
    Conversation,
    ConversationSource,
    ConversationStatus,
    Disclosure,
    Message,
    Sender,
)
from tests.browser.conftest import Dashboard, shot, sign_in

pytestmark = pytest.mark.browser

SOURCES = [
    ConversationSource.WHATSAPP_CAMPAIGN,
    ConversationSource.VOICE_CAMPAIGN,
    ConversationSource.INBOUND,
]
NAMES = ["Maria Silva", "João Souza", "Ana Lima", "Pedro Costa", "Carla Dias", "Rui Alves"]


def seed_conversations(make_conversation: Callable[..., Conversation], count: int) -> list[Conversation]:
    """`count` conversations, one source after another, each a minute older than the previous."""
    now = clock_module.now()
    made = []
    for i in range(count):
        phone = f"55119{i:08d}"
        source = SOURCES[i % 3]
        made.append(
            conversations.create(
                make_conversation(
                    chat_id=f"voice_CA{i:032d}"
                    if source is ConversationSource.VOICE_CAMPAIGN
                    else f"whatsapp_{phone}",
                    phone=phone,
                    source=source,
                    client_name=f"{NAMES[i % len(NAMES)]} {i}",
                    document="52998224725",
                    last_activity_at=now - timedelta(minutes=i),
                    status=ConversationStatus.RESOLVED if i % 7 == 6 else ConversationStatus.AI,
                )
            )
        )
    return made


def add_thread(conversation: Conversation) -> None:
    start = clock_module.now() - timedelta(minutes=10)
    lines = [
        (
            Sender.ASSISTANT,
            "Olá, Maria! Aqui é a Lia, assistente virtual da TR Telecom. Podemos conversar?",
            True,
        ),
        (Sender.CUSTOMER, "Oi, pode falar", False),
        (Sender.ASSISTANT, "Para sua segurança, pode me confirmar o seu CPF?", False),
        (Sender.CUSTOMER, "Quero falar com uma pessoa, por favor", False),
    ]
    for minute, (sender, content, from_campaign) in enumerate(lines):
        messages.append(
            Message(
                id=new_id(),
                conversation_id=conversation.id,
                sender=sender,
                content=content,
                created_at=start + timedelta(minutes=minute),
                channel=Channel.WHATSAPP,
                is_from_campaign=from_campaign,
            )
        )


def conversation_requests(page: Any) -> list[str]:
    return [
        url
        for url in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        if "/api/voice/conversations?" in url
    ]


def test_the_seed_filters_page_through_the_server_never_fetching_everything(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    seed_conversations(make_conversation, 80)
    sign_in(page, dashboard, "viewer")

    rows = page.locator("[data-rows] tr")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("Maria Silva 0")  # most recent activity first
    first_row = rows.first.locator("td").all_inner_texts()
    # CPF and phone exactly as the API masks them.
    assert first_row == [
        "Maria Silva 0\n5511*****0000",
        "***.982.247-**",
        "Campanha WhatsApp",
        "Atendendo",
        "10/03/2025, 09:00",
        "Ver detalhes",
    ]
    shot(page, "conversas")

    page.get_by_role("button", name="Campanha Voz").click()
    expect(page.get_by_role("button", name="Campanha Voz")).to_have_attribute("aria-pressed", "true")
    expect(rows.first).to_contain_text("João Souza 1")
    expect(rows).to_have_count(25)
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {"Campanha Voz"}

    page.get_by_role("button", name="Próxima página").click()
    expect(page.locator("[data-page-info]")).to_have_text("Página 2")
    expect(rows).to_have_count(2)  # 27 voice conversations: 25 + 2
    expect(page.get_by_role("button", name="Próxima página")).to_be_disabled()
    page.get_by_role("button", name="Página anterior").click()
    expect(rows.first).to_contain_text("João Souza 1")

    page.get_by_role("button", name="Entrada").click()
    page.get_by_label("Status").select_option("resolved")
    expect(rows.first).to_contain_text("Resolvido")
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {"Entrada"}
    assert set(rows.locator("td:nth-child(4)").all_inner_texts()) == {"Resolvido"}

    requests = conversation_requests(page)
    assert requests and all("limit=25" in url for url in requests)
    assert any("source=voice_campaign" in url and "cursor=" in url for url in requests)
    assert any("source=inbound" in url and "status=resolved" in url for url in requests)


def test_a_supervisor_opens_a_conversation_reads_the_thread_and_transfers_it(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    maria = seed_conversations(make_conversation, 3)[0]
    add_thread(maria)
    sign_in(page, dashboard, "supervisor")

    page.get_by_role("link", name="Ver detalhes: Maria Silva 0").click()
    expect(page.get_by_role("heading", name="Maria Silva 0")).to_be_focused()
    thread = page.locator("[data-thread] li")
    expect(thread).to_have_count(4)
    expect(thread.nth(0)).to_contain_text("Assistente virtual · 10/03/2025, 08:50 · WhatsApp · campanha")
    expect(thread.nth(3)).to_contain_text("Quero falar com uma pessoa, por favor")
    expect(page.locator("[data-facts]")).to_contain_text("Atendendo")

    page.get_by_role("button", name="Transferir").click()
    expect(page.locator("[data-facts]")).to_contain_text("Transferido")
    expect(thread.last).to_contain_text("Conversa transferida para atendimento humano")
    expect(page.get_by_role("status")).to_have_text("Conversa transferida para atendimento humano.")
    assert conversations.get(maria.id).status is ConversationStatus.TRANSFERRED
    shot(page, "conversa")

    page.get_by_role("button", name="Devolver à IA").click()
    expect(page.locator("[data-facts]")).to_contain_text("Atendendo")
    assert conversations.get(maria.id).status is ConversationStatus.AI

    # From the table as well.
    page.get_by_role("link", name="← Voltar às conversas").click()
    page.get_by_role("button", name="Transferir: Maria Silva 0").click()
    row = page.get_by_role("row", name="Maria Silva 0")
    expect(row.locator("td:nth-child(4)")).to_have_text("Transferido")
    expect(row.get_by_role("button", name="Devolver à IA: Maria Silva 0")).to_be_visible()
    assert conversations.get(maria.id).status is ConversationStatus.TRANSFERRED


def test_a_supervisor_sees_what_was_disclosed_in_the_conversation_and_a_viewer_does_not(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    maria = seed_conversations(make_conversation, 1)[0]
    conversations.update(
        maria.id,
        disclosures=[
            Disclosure(
                tool="consultar_faturas_cpf",
                what="faturas",
                document=maria.document,
                phone=maria.phone,
                at=clock_module.now(),
            )
        ],
    )
    sign_in(page, dashboard, "supervisor")
    page.get_by_role("link", name="Ver detalhes: Maria Silva 0").click()
    facts = page.locator("[data-facts]")
    expect(facts).to_contain_text("Dados revelados")
    expect(facts.locator("ul.disclosures li")).to_have_text(["faturas · 5511*****0000 · 10/03/2025, 09:00"])


def test_a_viewer_reads_conversations_but_is_offered_no_handoff(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    seed_conversations(make_conversation, 2)
    sign_in(page, dashboard, "viewer")

    expect(page.locator("[data-rows] tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Transferir", exact=False)).to_have_count(0)
    page.get_by_role("link", name="Ver detalhes: Maria Silva 0").click()
    expect(page.locator("[data-facts]")).to_contain_text("Atendendo")
    expect(page.get_by_role("button", name="Transferir")).to_be_hidden()
    expect(page.locator("[data-facts]")).not_to_contain_text("Dados revelados")  # supervisors only


def test_a_voice_conversation_shows_its_call_transcript(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    call = seed_conversations(make_conversation, 2)[1]
    messages.append(
        Message(
            id=new_id(),
            conversation_id=call.id,
            sender=Sender.CUSTOMER,
            content="Alô? Quem fala?",
            created_at=clock_module.now(),
            channel=Channel.VOICE,
        )
    )
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.monitor}#/conversas/{call.id}")

    expect(page.get_by_role("heading", name="Transcrição da chamada")).to_be_visible()
    expect(page.locator("[data-thread] li")).to_have_text(
        ["Cliente · 10/03/2025, 09:00 · VozAlô? Quem fala?"]
    )


def test_a_recorded_call_shows_its_summary_disposition_and_recording_badge_with_the_transcript(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    plain, recorded = seed_conversations(make_conversation, 5)[1::3]
    conversations.update(
        recorded.id,
        recording_sid="RE" + "c" * 32,
        recording_seconds=125,
        call_summary="Chamada de 2 min 05 s. Promessa de pagamento: R$ 179,80 até 14/03/2025 via Pix.",
        call_disposition=CallDisposition.PROMISE_MADE,
    )
    messages.append(
        Message(
            id=new_id(),
            conversation_id=recorded.id,
            sender=Sender.CUSTOMER,
            content="Consigo pagar sexta-feira.",
            created_at=clock_module.now(),
            channel=Channel.VOICE,
        )
    )
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.monitor}#/conversas/{recorded.id}")

    summary = page.get_by_role("region", name="Resumo da chamada")
    expect(summary).to_contain_text("Promessa de pagamento: R$ 179,80 até 14/03/2025 via Pix.")
    facts = page.locator("[data-facts]")
    expect(facts).to_contain_text("Resultado da chamadaPromessa de pagamento")
    expect(facts.locator(".badge.recording")).to_have_text("Chamada gravada (2 min 05 s)")
    expect(page.locator("[data-thread] li")).to_contain_text(["Consigo pagar sexta-feira."])
    shot(page, "conversation-recorded-call")

    page.goto(f"{dashboard.monitor}#/conversas/{plain.id}")
    expect(page.get_by_role("heading", name=plain.client_name or "")).to_be_visible()
    expect(page.get_by_role("region", name="Resumo da chamada")).to_be_hidden()
    expect(page.locator("[data-facts]")).not_to_contain_text("Gravação")

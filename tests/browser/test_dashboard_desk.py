"""The agent desk in the browser: a supervisor sees the waiting count on every screen, opens the
"Fila de atendimento", takes a waiting customer, answers from the reply box (Enter sends, Shift+Enter
breaks the line), retries a message WhatsApp refused, records the customer's promise, sees her debt as
the CRM last showed it and asks the CRM whether she paid, and resolves the case; "Em atendimento" shows
the holds nobody ended."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients
from shared.adapters.crm import HttpCrmClient
from shared.adapters.evolution import EvolutionClient
from shared.core import clock
from shared.core.config import CrmConfig, EvolutionConfig, reset_settings
from shared.data import conversations, messages
from shared.data import targets as targets_data
from shared.domain.models import (
    Conversation,
    ConversationSource,
    ConversationStatus,
    Outcome,
    Sender,
    Target,
    TargetState,
)
from shared.engine import handoff, optouts
from tests.browser.conftest import Dashboard, shot, sign_in

pytestmark = pytest.mark.browser

PHONE = "5511987654321"
OTHER = "5511976543210"
STRANGER = "5592991234567"
JOAO = "11144477735"
AGENT = "token:supervisor"


@pytest.fixture
def evolution(dashboard: Dashboard) -> Iterator[EvolutionSimulator]:
    simulator = EvolutionSimulator(api_key="evo-key", instance="cobranca", hang_seconds=0.2)
    server = serve_in_thread(simulator.app)
    config = EvolutionConfig(server.url, SecretStr("evo-key"), "cobranca")
    clients.install(whatsapp=EvolutionClient(config, timeout=5.0))
    yield simulator
    clients.reset()
    server.stop()


def waiting_customer(make_conversation: Callable[..., Conversation], **fields: Any) -> Conversation:
    conversation = conversations.create(
        make_conversation(
            **{
                "chat_id": f"whatsapp_{PHONE}",
                "phone": PHONE,
                "source": ConversationSource.WHATSAPP_CAMPAIGN,
                "client_name": "Maria Silva",
                "document": "52998224725",
            }
            | fields
        )
    )
    messages.record(conversation.id, Sender.CUSTOMER, "Quero falar com uma pessoa, por favor")
    return handoff.transfer(conversation.id, by="assistant", reason="cliente pediu atendente")


def test_an_agent_answers_a_waiting_customer_from_the_queue_and_resolves_it(
    page: Any,
    dashboard: Dashboard,
    evolution: EvolutionSimulator,
    make_conversation: Callable[..., Conversation],
    make_target: Callable[..., Target],
) -> None:
    # Maria owes her case's R$ 89,90; João paid his; a stranger (no document) asked for a person too.
    owing = make_target(phone=PHONE, client_name="Maria Silva")
    paid = make_target(
        phone=OTHER,
        client_name="João Souza",
        document=JOAO,
        state=TargetState.COMPLETED,
        outcome=Outcome.PAID,
    )
    targets_data.insert_new([owing, paid])
    maria = waiting_customer(make_conversation, target_id=owing.id)
    for phone, name, document, case in ((OTHER, "João Souza", JOAO, paid.id), (STRANGER, "Zé", None, None)):
        waiting_customer(
            make_conversation,
            chat_id=f"whatsapp_{phone}",
            phone=phone,
            client_name=name,
            document=document,
            target_id=case,
        )
    sign_in(page, dashboard, "supervisor")

    queue_link = page.get_by_role("link", name="Fila de atendimento: 3 clientes aguardando")
    expect(queue_link).to_be_visible()  # on every screen, from the top bar
    queue_link.click()
    expect(page.get_by_role("heading", name="Fila de atendimento")).to_be_focused()
    row = page.get_by_role("row", name=re.compile("Maria Silva"))
    expect(row).to_contain_text("cliente pediu atendente")
    expect(row).to_contain_text("menos de 1 min")
    expect(row.locator("[data-queue-debt]")).to_have_text("R$ 89,90 em aberto")
    joao = page.get_by_role("row", name=re.compile("João Souza"))
    expect(joao.locator("[data-queue-debt] .badge")).to_have_text("Pago")
    expect(page.get_by_role("row", name=re.compile("Zé")).locator("[data-queue-debt]")).to_have_text("—")
    shot(page, "fila")

    row.get_by_role("button", name="Assumir: Maria Silva").click()
    expect(page.get_by_role("heading", name="Maria Silva")).to_be_visible()
    expect(page.locator("[data-facts]")).to_contain_text(AGENT)
    assert conversations.get(maria.id).assignee == AGENT

    box = page.get_by_label("Responder ao cliente pelo WhatsApp")
    box.fill("Olá Maria, aqui é a Ana.")
    box.press("Shift+Enter")
    box.press_sequentially("Vamos resolver juntas?")
    expect(box).to_have_value("Olá Maria, aqui é a Ana.\nVamos resolver juntas?")  # no send on Shift+Enter
    box.press("Enter")

    expect(page.locator("[data-reply-status]")).to_have_text("Mensagem enviada.")
    thread = page.locator("[data-thread] li")
    expect(thread.last).to_contain_text(f"Atendente ({AGENT})")
    expect(thread.last).to_contain_text("Vamos resolver juntas?")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    assert evolution.texts_to(PHONE) == ["Olá Maria, aqui é a Ana.\nVamos resolver juntas?"]
    expect(page.locator("#queue-count")).to_have_text("2")  # answered: out of the queue

    evolution.failure_rate = 1.0
    box.fill("Segue o Pix.")
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("[data-reply-status]")).to_contain_text("A mensagem não foi enviada")
    expect(thread.last).to_contain_text("falhou")
    evolution.failure_rate = 0.0
    page.get_by_role("button", name="Reenviar a mensagem: Segue o Pix.").click()
    expect(page.get_by_role("status").filter(has_text="Mensagem reenviada.")).to_be_visible()
    expect(thread.last).not_to_contain_text("falhou")
    assert evolution.texts_to(PHONE)[-1] == "Segue o Pix."
    shot(page, "conversa-atendente")

    page.get_by_role("button", name="Resolver").click()
    expect(page.locator("[data-facts]")).to_contain_text("Resolvido")
    expect(page.locator("[data-facts]")).to_contain_text(re.compile(rf"Resolvida por\s*{AGENT}"))
    expect(thread.last).to_contain_text(f"Conversa resolvida por {AGENT}")
    assert conversations.get(maria.id).status is ConversationStatus.RESOLVED


def test_the_reply_box_and_the_desk_buttons_show_only_once_the_conversation_has_loaded(
    page: Any,
    dashboard: Dashboard,
    evolution: EvolutionSimulator,
    make_conversation: Callable[..., Conversation],
) -> None:
    # Like the promise form (3a43b8e): shown by the role alone when the view rendered, the reply box could
    # be sent (a click on Enviar) before its submit was wired: natively, reloading the page with the text
    # in the address (`?text=...`).
    maria = waiting_customer(make_conversation)
    sign_in(page, dashboard, "supervisor")
    loading: list[Any] = []
    detail = f"**/api/voice/conversations/{maria.id}"
    page.route(detail, lambda route: loading.append(route))  # the detail is held until released below
    page.goto(f"{dashboard.monitor}#/conversas/{maria.id}")
    while not loading:
        page.wait_for_timeout(20)

    assert page.locator("[data-reply-form]").is_hidden()
    for name in ("Transferir", "Assumir", "Resolver", "Devolver à IA"):
        assert page.get_by_role("button", name=name, exact=True).is_hidden(), name

    loading[0].continue_()
    page.unroute(detail)
    box = page.get_by_label("Responder ao cliente pelo WhatsApp")
    box.fill("Olá Maria, aqui é a Ana.")
    box.press("Enter")
    expect(page.locator("[data-reply-status]")).to_have_text("Mensagem enviada.")
    assert evolution.texts_to(PHONE) == ["Olá Maria, aqui é a Ana."]
    assert page.url == f"{dashboard.monitor}#/conversas/{maria.id}"  # never submitted natively
    expect(page.get_by_role("button", name="Transferir", exact=True)).to_be_hidden()  # she is with a person


def test_a_viewer_sees_the_queue_but_no_reply_box_or_desk_buttons(
    page: Any, dashboard: Dashboard, make_conversation: Callable[..., Conversation]
) -> None:
    maria = waiting_customer(make_conversation)
    sign_in(page, dashboard, "viewer")

    page.get_by_role("link", name="Fila de atendimento: 1 cliente aguardando").click()
    row = page.get_by_role("row", name=re.compile("Maria Silva"))
    expect(row.get_by_role("link", name="Abrir conversa: Maria Silva")).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)
    row.get_by_role("link", name="Abrir conversa: Maria Silva").click()
    expect(page.get_by_role("heading", name="Maria Silva")).to_be_visible()
    expect(page.get_by_label("Responder ao cliente pelo WhatsApp")).to_be_hidden()
    for name in ("Assumir", "Resolver", "Devolver à IA"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_hidden()
    assert conversations.get(maria.id).status is ConversationStatus.TRANSFERRED


def test_on_the_cloud_api_the_reply_box_waits_for_the_customer_to_write_then_sends(
    page: Any,
    dashboard: Dashboard,
    evolution: EvolutionSimulator,
    make_conversation: Callable[..., Conversation],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    reset_settings()
    maria = waiting_customer(make_conversation)  # she never wrote on WhatsApp: no 24 h window
    sign_in(page, dashboard, "supervisor")

    _reply_box_is_closed(
        page,
        evolution,
        "Aguardando o cliente escrever no WhatsApp",
        "fora da janela de 24 h, só mensagens aprovadas",
    )
    _she_writes_and_the_reply_is_sent(page, evolution, maria, "Olá Maria, aqui é a Ana.")


def test_the_reply_box_is_closed_to_a_customer_who_opted_out_until_she_writes_again(
    page: Any,
    dashboard: Dashboard,
    clock: clock.VirtualClock,
    evolution: EvolutionSimulator,
    make_conversation: Callable[..., Conversation],
) -> None:
    maria = waiting_customer(make_conversation)
    clock.advance(timedelta(minutes=1))
    optouts.opt_out(phone=PHONE, document=None, reason="PARAR", source="keyword")
    sign_in(page, dashboard, "supervisor")

    _reply_box_is_closed(page, evolution, "Pediu para não ser contatado", "pediu para não ser mais contatado")
    clock.advance(timedelta(minutes=5))  # she writes again after the opt-out: she may be answered
    _she_writes_and_the_reply_is_sent(page, evolution, maria, "Oi Maria, aqui é a Ana. Como posso ajudar?")


def _reply_box_is_closed(page: Any, evolution: EvolutionSimulator, tag: str, why: str) -> None:
    """From the queue, Maria's row shows `tag` and her conversation's reply box says `why`, with
    Enviar disabled: Enter does not get around it, and nothing is sent."""
    page.get_by_role("link", name="Fila de atendimento: 1 cliente aguardando").click()
    row = page.get_by_role("row", name=re.compile("Maria Silva"))
    expect(row).to_contain_text(tag)
    row.get_by_role("link", name="Abrir conversa: Maria Silva").click()
    box = page.get_by_label("Responder ao cliente pelo WhatsApp")
    expect(box).to_have_accessible_description(re.compile(why))
    send = page.get_by_role("button", name="Enviar")
    expect(send).to_be_disabled()
    box.fill("Olá Maria, aqui é a Ana.")
    box.press("Enter")  # Enter does not get around the disabled button
    expect(send).to_be_disabled()
    assert evolution.sent == []


def _she_writes_and_the_reply_is_sent(
    page: Any, evolution: EvolutionSimulator, maria: Conversation, text: str
) -> None:
    """Maria writes (her conversation's last inbound now): the reloaded box opens and `text` is sent."""
    conversations.update(maria.id, last_inbound_at=clock.now())
    page.reload()
    expect(page.get_by_role("heading", name="Maria Silva")).to_be_visible()  # the detail is loaded again
    expect(page.locator("[data-reply-blocked]")).to_be_hidden()
    expect(page.get_by_role("button", name="Enviar")).to_be_enabled()
    box = page.get_by_label("Responder ao cliente pelo WhatsApp")
    box.fill(text)
    box.press("Enter")
    expect(page.locator("[data-reply-status]")).to_have_text("Mensagem enviada.")
    assert evolution.texts_to(PHONE) == [text]


def test_a_supervisor_finds_a_hold_nobody_ended_under_em_atendimento_and_resolves_it(
    page: Any, dashboard: Dashboard, clock: clock.VirtualClock, make_conversation: Callable[..., Conversation]
) -> None:
    maria = waiting_customer(make_conversation)
    handoff.take(maria.id, by="token:admin")
    conversations.update(maria.id, waiting_since=None)  # answered, then left: out of the queue
    clock.advance(timedelta(days=2, hours=3))
    sign_in(page, dashboard, "supervisor")

    page.get_by_role("link", name="Em atendimento").click()
    expect(page.get_by_role("heading", name="Em atendimento")).to_be_focused()
    expect(page.locator("[data-held-count]")).to_contain_text("1 conversa com a equipe")
    row = page.get_by_role("row", name=re.compile("Maria Silva"))
    expect(row).to_contain_text("token:admin")
    expect(row).to_contain_text("2 d 3 h")
    shot(page, "em-atendimento")

    row.get_by_role("button", name="Resolver: Maria Silva").click()
    expect(page.get_by_text("Nenhuma conversa com a equipe.")).to_be_visible()
    assert conversations.get(maria.id).resolved_by == AGENT


@pytest.fixture
def crm(dashboard: Dashboard) -> Iterator[CrmSimulator]:
    simulator = CrmSimulator(api_key="crm-key")
    server = serve_in_thread(simulator.app)
    clients.install(crm=HttpCrmClient(CrmConfig(server.url, SecretStr("crm-key")), timeout=5.0))
    yield simulator
    clients.reset()
    server.stop()


def test_an_agent_records_the_customers_promise_from_the_conversation(
    page: Any, dashboard: Dashboard, crm: CrmSimulator, make_conversation: Callable[..., Conversation]
) -> None:
    maria = waiting_customer(make_conversation)
    crm.add_customer("52998224725", "Maria Silva", [SimInvoice("F-1", Decimal("150.00"), date(2025, 2, 10))])
    sign_in(page, dashboard, "supervisor")
    page.goto(f"{dashboard.monitor}#/conversas/{maria.id}")
    form = page.locator("[data-promise-form]")
    due = (clock.now().date() + timedelta(days=10)).isoformat()

    form.get_by_label("Valor (R$)").fill("200,00")
    form.get_by_label("Pagar até").fill(due)
    form.get_by_role("button", name="Registrar promessa").click()
    expect(page.locator("[data-promise-status]")).to_contain_text("A promessa não foi registrada")

    form.get_by_label("Valor (R$)").fill("150,00")
    form.get_by_role("button", name="Registrar promessa").click()
    expect(page.locator("[data-promise-status]")).to_contain_text("Promessa registrada: R$ 150,00")
    expect(page.locator("[data-thread] li").last).to_contain_text(f"Promessa registrada por {AGENT}")
    assert conversations.get(maria.id).assignee == AGENT


def test_the_agent_sees_the_customers_debt_and_that_she_paid_after_asking_the_crm(
    page: Any,
    dashboard: Dashboard,
    crm: CrmSimulator,
    make_conversation: Callable[..., Conversation],
    make_target: Callable[..., Target],
) -> None:
    case = make_target(phone=PHONE, client_name="Maria Silva")
    targets_data.insert_new([case])
    maria = waiting_customer(make_conversation)
    crm.add_customer("52998224725", "Maria Silva", [SimInvoice("F-1", Decimal("89.90"), date(2025, 2, 10))])
    sign_in(page, dashboard, "supervisor")
    page.goto(f"{dashboard.monitor}#/conversas/{maria.id}")
    debt = page.locator("[data-debt]")
    expect(debt).to_contain_text("R$ 89,90 em aberto (ainda não verificado no CRM)")

    # She paid at the bank; the CRM is down at first: said so, nothing changes.
    crm.pay_all("52998224725")
    crm.outage = "http_500"
    debt.get_by_role("button", name="Verificar pagamento no CRM").click()
    expect(page.locator("#toast")).to_contain_text("indisponível")
    expect(debt).to_contain_text("R$ 89,90 em aberto")

    crm.outage = None
    debt.get_by_role("button", name="Verificar pagamento no CRM").click()
    expect(debt).to_contain_text("Pago")
    expect(debt).to_contain_text("o cliente pagou R$ 89,90 (verificado no CRM em")
    expect(debt).to_contain_text("Não cobre este cliente.")
    shot(page, "debito-pago")
    assert targets_data.get(case.id).outcome is Outcome.PAID
    assert conversations.get(maria.id).status is ConversationStatus.TRANSFERRED  # still held


def test_a_viewer_sees_the_customers_debt_but_cannot_ask_the_crm(
    page: Any,
    dashboard: Dashboard,
    make_conversation: Callable[..., Conversation],
    make_target: Callable[..., Target],
) -> None:
    targets_data.insert_new([make_target(phone=PHONE, client_name="Maria Silva")])
    maria = waiting_customer(make_conversation)
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.monitor}#/conversas/{maria.id}")

    expect(page.locator("[data-debt]")).to_contain_text("R$ 89,90 em aberto")
    expect(page.get_by_role("button", name="Verificar pagamento no CRM")).to_be_hidden()

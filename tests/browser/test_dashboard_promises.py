"""Promises in the browser: one appears (badge, list) after a real assistant conversation — Evolution's
webhook over loopback → API → FIFO queue → the inbound Lambda handler → the assistant (OpenAI
simulator) → tools (CRM simulator) — and a supervisor marks it renegotiated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
import pytest
from openai import OpenAI
from playwright.sync_api import expect

from infra.local.simulators.crm import CrmSimulator
from infra.local.simulators.evolution import EvolutionSimulator, deliver_webhook, messages_upsert
from infra.local.simulators.openai import OpenAISimulator, call, text, tool_calls
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients, promise_schedules
from shared.adapters.crm import HttpCrmClient
from shared.adapters.evolution import EvolutionClient
from shared.core.config import get_settings, reset_settings
from shared.data import campaigns, messages, promises
from shared.domain.models import Campaign, Conversation, PromiseStatus, Target
from tests.browser.conftest import Dashboard, shot, sign_in
from tests.integration.assistant.assistant_world import FakeContext, lambda_event, seed_debtor

pytestmark = pytest.mark.browser

CRM_KEY = "crm-browser-key"
EVOLUTION_KEY = "evolution-browser-key"
OPENAI_KEY = "sk-browser-test"
WEBHOOK_TOKEN = "webhook-browser-token"
INSTANCE = "cobranca"
GROUP = "cobranca-promises"
DOCUMENT = "52998224725"
PHONE = "5511999998888"


@dataclass
class Assistant:
    """The WhatsApp side of the system, wired to the dashboard's server."""

    dashboard: Dashboard
    crm: CrmSimulator
    evolution: EvolutionSimulator
    model: OpenAISimulator
    queue_url: str

    def customer_says(self, words: str) -> None:
        """Evolution posts the customer's message to the webhook; the inbound worker answers it."""
        envelope = messages_upsert(instance=INSTANCE, remote_jid=f"{PHONE}@s.whatsapp.net", text=words)
        deliver_webhook(
            f"{self.dashboard.url}/api/whatsapp/webhook", envelope, token=WEBHOOK_TOKEN, attempts=1
        )
        self._drain()

    def _drain(self) -> None:
        from functions.whatsapp.inbound import inbound_handler

        sqs = boto3.client("sqs")
        found = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        assert found, "the webhook queued nothing"
        response = inbound_handler(lambda_event(found, self.queue_url), FakeContext())
        assert response["batchItemFailures"] == []
        for message in found:
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def assistant(dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch) -> Iterator[Assistant]:
    crm = CrmSimulator(api_key=CRM_KEY, timeout_seconds=0.3)
    evolution = EvolutionSimulator(api_key=EVOLUTION_KEY, instance=INSTANCE, hang_seconds=0.3)
    model = OpenAISimulator(api_key=OPENAI_KEY)
    running = [serve_in_thread(crm.app), serve_in_thread(evolution.app), serve_in_thread(model.app)]
    queue_url = boto3.client("sqs").create_queue(
        QueueName="inbound.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "60"}
    )["QueueUrl"]
    boto3.client("scheduler").create_schedule_group(Name=GROUP)
    env = {
        "CRM_API_URL": running[0].url,
        "CRM_API_KEY": CRM_KEY,
        "EVOLUTION_API_URL": running[1].url,
        "EVOLUTION_API_KEY": EVOLUTION_KEY,
        "EVOLUTION_API_INSTANCE": INSTANCE,
        "EVOLUTION_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": running[2].url + "/v1",
        "INBOUND_QUEUE_URL": queue_url,
        "COMPANY_CNPJ": "12.345.678/0001-95",
        "SCHEDULER_GROUP_NAME": GROUP,
        "PROMISE_MONITOR_QUEUE_ARN": "arn:aws:sqs:sa-east-1:123456789012:promise-monitor",
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler-to-monitor",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _reset()
    settings = get_settings()
    clients.install(
        crm=HttpCrmClient(settings.crm(), timeout=1.0),
        whatsapp=EvolutionClient(settings.evolution(), timeout=1.0),
        openai=OpenAI(api_key=OPENAI_KEY, base_url=env["OPENAI_BASE_URL"], timeout=2.0, max_retries=0),
    )
    try:
        yield Assistant(dashboard, crm, evolution, model, queue_url)
    finally:
        _reset()
        for server in running:
            server.stop()


def _reset() -> None:
    reset_settings()
    promise_schedules.reset()
    clients.reset()


def maria_owes(
    assistant: Assistant, make_target: Callable[..., Target], make_conversation: Callable[..., Conversation]
) -> Conversation:
    """Maria, a target of a WhatsApp campaign who got its first message, with two open invoices."""
    maria, conversation = seed_debtor(assistant.crm, make_target, make_conversation)
    assert (maria.phone, maria.document) == (PHONE, DOCUMENT)
    return conversation


def test_a_promise_made_in_a_whatsapp_conversation_appears_and_a_supervisor_renegotiates_it(
    page: Any,
    dashboard: Dashboard,
    assistant: Assistant,
    make_target: Callable[..., Target],
    make_conversation: Callable[..., Conversation],
    make_campaign: Callable[..., Campaign],
) -> None:
    conversation = maria_owes(assistant, make_target, make_conversation)
    campaigns.create(make_campaign(id=conversation.campaign_id))  # the dashboard sums campaigns' counters
    sign_in(page, dashboard, "supervisor")
    page.get_by_role("link", name="Promessas", exact=True).click()
    expect(page.locator("#alert-count")).to_have_text("0")
    expect(page.locator("[data-rows]")).to_have_text("Nenhuma promessa nesta situação.")

    assistant.model.script(
        text("Oi, Maria! Para sua segurança, pode me confirmar o seu CPF?"),
        tool_calls(call("consultar_faturas_cpf", cpf_cnpj="529.982.247-25")),
        text("Maria, você tem 2 faturas em aberto, total R$ 179,80. Quando consegue pagar?"),
        tool_calls(
            call(
                "registrar_promessa_pagamento",
                cpf_cnpj=DOCUMENT,
                data_prevista_pagamento="20/03/2025",
                valor_prometido=179.8,
                metodo_pagamento="pix",
                observacoes=None,
            )
        ),
        text("Perfeito! Registrei R$ 179,80 até 20/03/2025. Você não receberá cobranças até lá."),
    )
    assistant.customer_says("Olá, vi a mensagem")
    assistant.customer_says("529.982.247-25")
    assistant.customer_says("Posso pagar dia 20")

    # The badge follows on its own (live refresh); the list on "Atualizar".
    expect(page.get_by_role("link", name="1 promessas pendentes")).to_be_visible()
    expect(page.locator(".card", has_text="Promessas Pendentes").locator("p")).to_have_text("1")
    page.get_by_role("button", name="Atualizar").click()
    # The empty-state message is a row too: wait for the promise's own row, not just any row.
    row = page.locator("[data-rows] tr", has_text="***.982.247-**")
    expect(row).to_have_count(1)
    expect(page.locator("[data-rows] tr")).to_have_count(1)
    assert [cell.replace("\xa0", " ") for cell in row.locator("td").all_inner_texts()[:5]] == [
        "***.982.247-**",
        "R$ 179,80",
        "20/03/2025",
        "Pix",
        "Pendente",
    ]
    shot(page, "promessas")

    # The conversation that produced it is on the panel, with the whole thread.
    page.get_by_role("link", name="Painel").click()
    page.get_by_role("link", name="Ver detalhes: Maria Silva").click()
    expect(page.locator("[data-thread] li").last).to_contain_text("Registrei R$ 179,80 até 20/03/2025")
    expect(page.locator("[data-facts]")).to_contain_text("Identidade confirmadaSim")
    assert len(messages.list_for(conversation.id)) == 7

    page.get_by_role("link", name="Promessas", exact=True).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Marcar como renegociada a promessa de ***.982.247-**").click()
    expect(page.locator("[data-rows]")).to_have_text("Nenhuma promessa nesta situação.")
    expect(page.locator("#alert-count")).to_have_text("0")
    [promise] = promises.list_page(status=PromiseStatus.RENEGOTIATED).items
    assert promise.document == DOCUMENT and promise.amount == Decimal("179.80")

    page.get_by_role("button", name="Renegociadas").click()
    expect(page.locator("[data-rows] tr")).to_have_count(1)
    expect(page.locator("[data-rows] tr .badge")).to_have_text("Renegociada")


def test_the_history_lists_fulfilled_and_broken_promises_and_a_viewer_cannot_settle(
    page: Any, dashboard: Dashboard, make_promise: Callable[..., Any]
) -> None:
    for status, amount in (
        (PromiseStatus.FULFILLED, "89.90"),
        (PromiseStatus.BROKEN, "45.00"),
        (PromiseStatus.PENDING, "10.00"),
    ):
        promises.create(make_promise(status=status, amount=Decimal(amount)))
    sign_in(page, dashboard, "viewer")
    page.get_by_role("link", name="Promessas", exact=True).click()

    expect(page.locator("[data-rows] tr td:nth-child(2)")).to_have_text(["R$\xa010,00"])
    expect(page.get_by_role("button", name="Marcar como renegociada", exact=False)).to_have_count(0)
    page.get_by_role("button", name="Cumpridas").click()
    expect(page.locator("[data-rows] tr td:nth-child(2)")).to_have_text(["R$\xa089,90"])
    page.get_by_role("button", name="Quebradas").click()
    expect(page.locator("[data-rows] tr td:nth-child(2)")).to_have_text(["R$\xa045,00"])
    expect(page.locator("[data-rows] tr .badge")).to_have_text(["Quebrada"])

"""EVOLUTION_INTEGRATION=cloud (WhatsApp's Cloud API through Evolution): business-initiated messages
go out as the campaign's approved templates; the customer's reply opens the 24 h window in which the
assistant answers in free text; once the window ends, the next outreach step is a template again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.core.config import reset_settings
from shared.core.jobs import InboundMessage
from shared.data import conversations, messages
from shared.domain.documents import format_document
from shared.domain.models import Channel, MessageStep, Outcome, TargetState
from shared.domain.templates import WhatsAppTemplate
from shared.engine import inbound
from tests.integration.engine.engine_world import COMPANY_CNPJ, Engine

BODY = (
    "Olá, {{1}}! Aqui é a Lia, assistente virtual da {{2}} (CNPJ {{3}}). Falo sobre um assunto "
    "financeiro da sua conta. Para não receber mais mensagens, responda PARAR."
)
TEMPLATES = {
    MessageStep.FIRST_CONTACT: WhatsAppTemplate(name="cobranca_primeiro_contato", language="pt_BR"),
    MessageStep.FOLLOW_UP: WhatsAppTemplate(name="cobranca_retomada", language="pt_BR"),
    MessageStep.AFTER_BROKEN_PROMISE: WhatsAppTemplate(name="cobranca_promessa", language="pt_BR"),
    MessageStep.LAST_NOTICE: WhatsAppTemplate(name="cobranca_ultimo_aviso", language="pt_BR"),
}


@pytest.fixture
def cloud(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the assistant's fallback dialogue answers
    reset_settings()
    for template in TEMPLATES.values():
        engine.evolution.approve_template(template.name, template.language, BODY)
    return engine


def _customer_writes(engine: Engine, phone: str, text: str, message_id: str) -> inbound.TurnResult:
    """The inbound worker's turn for a customer's message (as the FIFO queue hands it over)."""
    job = InboundMessage.model_validate(
        {"messageId": message_id, "remoteJid": f"{phone}@s.whatsapp.net", "phone": phone, "text": text}
    )
    return inbound.handle(job)


def test_the_first_contact_is_the_steps_approved_template_with_its_parameters(cloud: Engine):
    campaign = cloud.campaign(whatsapp_templates=TEMPLATES)
    target = cloud.scheduled(campaign, 1, client_name="Maria Souza")

    report = cloud.drain("whatsapp")

    assert report.succeeded == 1
    assert cloud.evolution.sent == []  # no free text to a stranger
    [sent] = cloud.evolution.templates_to(target.phone)
    assert (sent.name, sent.language) == ("cobranca_primeiro_contato", "pt_BR")
    assert sent.parameters == ["Maria Souza", "TR Telecom", format_document(COMPANY_CNPJ)]
    stored = cloud.get(target)
    assert stored.state is TargetState.CONTACTED
    assert stored.outcome_details == "Mensagem inicial enviada por WhatsApp"
    conversation = conversations.by_chat_id(f"whatsapp_{target.phone}")
    assert conversation is not None
    [message] = messages.list_for(conversation.id)  # the thread says what went: the template
    assert message.content == (
        f"[modelo cobranca_primeiro_contato (pt_BR)] Maria Souza · TR Telecom · {format_document(COMPANY_CNPJ)}"
    )
    assert message.external_id == sent.id


def test_a_reply_opens_the_window_for_free_text_and_its_end_brings_the_template_back(cloud: Engine):
    campaign = cloud.campaign(whatsapp_templates=TEMPLATES, follow_up_after_days=3)
    target = cloud.scheduled(campaign, 1, client_name="Maria Souza")
    cloud.drain("whatsapp")
    assert [t.name for t in cloud.evolution.templates_to(target.phone)] == ["cobranca_primeiro_contato"]

    cloud.clock.advance(timedelta(hours=2))
    turn = _customer_writes(cloud, target.phone, "Oi, quem é?", "MSG-1")

    assert turn.replied
    [answer] = cloud.evolution.texts_to(target.phone)  # the assistant answers in free text
    assert "CPF" in answer
    conversation = conversations.by_chat_id(f"whatsapp_{target.phone}")
    assert conversation is not None and conversation.last_inbound_at == cloud.clock.now()
    waiting = cloud.get(target)
    assert waiting.state is TargetState.PENDING and waiting.outcome is Outcome.ANSWERED

    # Three days later (the follow-up): the window closed 24 h after her message.
    cloud.clock.set(waiting.next_attempt_at + timedelta(minutes=1))
    cloud.tick()
    cloud.drain("whatsapp")

    assert [t.name for t in cloud.evolution.templates_to(target.phone)] == [
        "cobranca_primeiro_contato",
        "cobranca_retomada",
    ]
    assert len(cloud.evolution.texts_to(target.phone)) == 1  # no free text outside the window
    assert cloud.get(target).state is TargetState.CONTACTED


def test_inside_the_window_an_outreach_step_is_free_text(cloud: Engine):
    campaign = cloud.campaign(whatsapp_templates=TEMPLATES, follow_up_after_days=1)
    target = cloud.target(campaign, 1)
    _customer_writes(cloud, target.phone, "Oi, recebi uma ligação de vocês", "MSG-2")  # she wrote first
    texts_before = len(cloud.evolution.texts_to(target.phone))

    cloud.clock.advance(timedelta(hours=1))
    cloud.tick()
    cloud.drain("whatsapp")

    assert cloud.evolution.templates_to(target.phone) == []
    assert len(cloud.evolution.texts_to(target.phone)) == texts_before + 1
    assert cloud.get(target).channel is Channel.WHATSAPP


def test_a_step_without_a_template_fails_its_attempt_instead_of_sending_free_text(cloud: Engine):
    campaign = cloud.campaign(whatsapp_templates={})  # activated before the integration changed
    target = cloud.scheduled(campaign, 1)

    cloud.drain("whatsapp")

    assert cloud.evolution.sent == [] and cloud.evolution.sent_templates == []
    stored = cloud.get(target)
    assert stored.outcome is Outcome.FAILED
    assert "first_contact" in (stored.outcome_details or "")


def test_a_template_meta_does_not_know_is_refused_and_fails_the_attempt(cloud: Engine):
    unknown = TEMPLATES | {MessageStep.FIRST_CONTACT: WhatsAppTemplate(name="nao_aprovado", language="pt_BR")}
    campaign = cloud.campaign(whatsapp_templates=unknown)
    target = cloud.scheduled(campaign, 1)

    cloud.drain("whatsapp")

    assert cloud.evolution.sent_templates == []
    assert cloud.get(target).outcome is Outcome.FAILED

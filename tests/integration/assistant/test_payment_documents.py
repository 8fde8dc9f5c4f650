"""Payment documents in the chat: the payment tool sends the boleto PDF as a document and the Pix
copia-e-cola in its own message (one tap copies it), on WhatsApp and, during a call, to the
customer's WhatsApp; replies type like a person and mark the customer's message read."""

from __future__ import annotations

import pytest

from containers.voice_bridge.voice_prompt import VOICE_TOOLS
from infra.local.simulators.openai import call, text, tool_calls
from shared.assistant import texts
from shared.assistant.tools import ToolContext, invoke
from shared.core import clock
from shared.core.config import reset_settings
from shared.data import conversations, messages
from shared.domain.models import Channel, Sender
from shared.domain.phones import timezone_for_phone
from shared.engine.conversations import open_conversation
from shared.engine.whatsapp_out import TYPING_MAX_MS, TYPING_MIN_MS
from tests.integration.assistant.assistant_world import DOCUMENT, JID, PHONE, World

PIX = "00020101021226CRMPIXCODE6304ABCD"
BOLETO_PDF = "https://boletos.trtelecom.example/2via/FAT-2025-01.pdf"


@pytest.fixture
def maria(world: World, make_target, make_conversation):
    target, conversation = world.debtor(make_target=make_target, make_conversation=make_conversation)
    first, _ = world.crm.customers[DOCUMENT].invoices
    first.pix_copia_cola, first.link = PIX, BOLETO_PDF
    return target, conversation


def test_the_boleto_pdf_goes_as_a_document_and_the_pix_code_alone(world: World, maria):
    _, conversation = maria
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura="FAT-2025-01")),
        text("Pronto, te mandei o boleto e o Pix aqui."),
    )

    sent = world.turn("529.982.247-25 me manda o boleto")

    [document] = world.evolution.media_to(PHONE)
    assert (document.mediatype, document.mimetype) == ("document", "application/pdf")
    assert document.file_name == "boleto-FAT-2025-01.pdf" and document.media == BOLETO_PDF
    assert document.caption == "Boleto da fatura FAT-2025-01 (R$ 89,90)"
    assert sent == [PIX, "Pronto, te mandei o boleto e o Pix aqui."]  # the code alone, then the reply
    [result] = world.model.tool_results()
    assert result["whatsapp"] == "enviado"
    assert result["instrucao"] == texts.PAYMENT_DELIVERY_NOTES[(True, "whatsapp")]
    thread = [m.content for m in world.thread(conversation.id) if m.sender is Sender.ASSISTANT]
    assert "[documento boleto-FAT-2025-01.pdf] Boleto da fatura FAT-2025-01 (R$ 89,90)" in thread
    assert PIX in thread


def test_a_reply_types_first_and_marks_the_customers_message_read(world: World, maria):
    world.model.script(text("Oi, Maria! Pode me confirmar seu CPF?"))

    world.say("oi, quem fala?", message_id="MSG-READ-1")
    assert world.drain() == []

    assert world.evolution.read == [{"remoteJid": JID, "fromMe": False, "id": "MSG-READ-1"}]
    [reply] = [s for s in world.evolution.sent if s.number == PHONE]
    assert reply.delay == len(reply.text) * 25 and TYPING_MIN_MS <= reply.delay <= TYPING_MAX_MS
    assert world.conversation().last_inbound_at == world.clock.now()


def test_a_long_reply_types_at_most_four_seconds(world: World, maria):
    world.model.script(text("Entendo. " * 60))

    world.turn("oi")

    [reply] = [s for s in world.evolution.sent if s.number == PHONE]
    assert reply.delay == TYPING_MAX_MS


def _on_a_call(maria, said: str) -> ToolContext:
    """The voice bridge's context for an answered call: the call's own conversation, the customer's
    spoken words."""
    target, _ = maria
    conversation = open_conversation(Channel.VOICE, target.phone, target=target, call_sid="CA0123456789")
    return ToolContext(
        conversation,
        target,
        Channel.VOICE,
        timezone_for_phone(conversation.phone),
        customer_words=[(clock.now(), said)],
    )


def test_a_pix_code_asked_for_on_a_call_reaches_the_customers_whatsapp(world: World, maria):
    _, whatsapp_conversation = maria
    ctx = _on_a_call(maria, "meu cpf é 529.982.247-25")

    outcome = invoke("gerar_pagamento_pix", {"cpf_cnpj": DOCUMENT, "numero_fatura": None}, ctx, VOICE_TOOLS)

    assert outcome.ok, outcome.data
    assert outcome.data["whatsapp"] == "enviado"
    assert "te mandei agora pelo WhatsApp" in outcome.data["instrucao"]
    texts_sent = world.evolution.texts_to(PHONE)
    assert PIX in texts_sent  # Maria's own invoice code, alone
    assert any(code.startswith("000201") and "br.gov.bcb.pix" in code for code in texts_sent)  # the other's
    assert [m.file_name for m in world.evolution.media_to(PHONE)] == ["boleto-FAT-2025-01.pdf"]
    stored = messages.list_for(whatsapp_conversation.id)
    assert PIX in [m.content for m in stored if m.sender is Sender.ASSISTANT]  # in the WhatsApp thread


def test_a_call_sends_nothing_before_the_document_is_given(world: World, maria):
    ctx = _on_a_call(maria, "alô, quem fala?")

    outcome = invoke("gerar_pagamento_pix", {"cpf_cnpj": DOCUMENT, "numero_fatura": None}, ctx, VOICE_TOOLS)

    assert not outcome.ok and outcome.error == "identity_not_confirmed"
    assert world.evolution.texts_to(PHONE) == [] and world.evolution.media_to(PHONE) == []


def test_on_cloud_a_call_outside_the_window_does_not_send_free_text(
    world: World, maria, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    reset_settings()
    _, whatsapp_conversation = maria
    assert conversations.get(whatsapp_conversation.id).last_inbound_at is None  # she never wrote
    ctx = _on_a_call(maria, "meu cpf é 529.982.247-25")

    outcome = invoke("gerar_pagamento_pix", {"cpf_cnpj": DOCUMENT, "numero_fatura": None}, ctx, VOICE_TOOLS)

    assert outcome.ok and outcome.data["whatsapp"] == "nao_enviado"
    assert outcome.data["instrucao"] == texts.PAYMENT_DELIVERY_NOTES[(False, "voice")]
    assert world.evolution.texts_to(PHONE) == [] and world.evolution.media_to(PHONE) == []

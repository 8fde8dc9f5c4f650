"""The inbound path around the assistant: handoff silence, duplicate deliveries, per-chat FIFO order,
opt-out keywords before any model call, media messages, and Evolution outages retried safely."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from infra.local.simulators.openai import call, text, tool_calls
from shared.core.config import reset_settings
from shared.core.jobs import InboundMessage
from shared.data import conversations, messages, optouts
from shared.data import targets as targets_data
from shared.domain.models import Outcome, Sender, TargetState
from shared.engine import handoff
from shared.engine.inbound import HISTORY_LIMIT, handle
from tests.integration.assistant.assistant_world import DOCUMENT, JID, PHONE, World


@pytest.fixture
def maria(world: World, make_target, make_conversation):
    return world.debtor(make_target=make_target, make_conversation=make_conversation)


def test_a_transferred_conversation_stays_silent_but_keeps_the_message(world: World, maria):
    _, conversation = maria
    handoff.transfer(conversation.id, by="supervisor")

    assert world.turn("Oi, alguém aí?") == []

    assert world.model.requests == []
    thread = world.thread(conversation.id)
    assert thread[-1].sender is Sender.CUSTOMER and thread[-1].content == "Oi, alguém aí?"


def test_the_same_webhook_delivered_twice_gets_one_reply(world: World, maria):
    _, conversation = maria
    world.model.responder = lambda request: text("Olá! Pode me confirmar seu CPF?")

    first = world.say("Olá", message_id="3EB0AAAA0001")
    again = world.say("Olá", message_id="3EB0AAAA0001")
    assert first.json() == {"queued": True} and again.json() == {"ignored": "duplicate"}
    world.drain()
    # SQS may still redeliver a job (at-least-once): the handler recognises an answered message.
    redelivered = handle(InboundMessage(message_id="3EB0AAAA0001", remote_jid=JID, phone=PHONE, text="Olá"))

    assert redelivered.reason == "duplicate"
    assert world.evolution.texts_to(PHONE) == ["Olá! Pode me confirmar seu CPF?"]
    assert len(world.model.requests) == 1
    customer = [m for m in world.thread(conversation.id) if m.sender is Sender.CUSTOMER]
    assert [m.external_id for m in customer] == ["3EB0AAAA0001"]


def test_a_message_redriven_from_the_dlq_after_a_whole_history_is_not_stored_or_answered_again(
    world: World, maria
):
    _, conversation = maria
    world.model.responder = lambda request: text("Olá! Pode me confirmar seu CPF?")
    said_at = world.clock.now()
    world.say("Olá", message_id="3EB0AAAA0002")
    world.drain()
    # The thread goes on for more than the history a turn reads.
    for n in range(HISTORY_LIMIT):
        world.clock.advance(timedelta(minutes=1))
        messages.record(conversation.id, Sender.CUSTOMER if n % 2 else Sender.ASSISTANT, f"mensagem {n}")

    # Days later an operator re-drives the dead-letter queue, the first message's job among it.
    world.clock.advance(timedelta(days=2))
    redriven = handle(
        InboundMessage(
            message_id="3EB0AAAA0002",
            remote_jid=JID,
            phone=PHONE,
            text="Olá",
            timestamp=int(said_at.timestamp()),
        )
    )

    assert redriven.reason == "duplicate"
    assert world.evolution.texts_to(PHONE) == ["Olá! Pode me confirmar seu CPF?"]
    assert [m.content for m in world.thread(conversation.id)].count("Olá") == 1


def test_messages_are_grouped_per_chat_and_answered_in_order(world: World, maria):
    other_jid = "5521977776666@s.whatsapp.net"
    world.model.responder = lambda request: text("eco: " + request["messages"][-1]["content"])

    for n in range(1, 4):
        world.say(f"mensagem {n}")
    world.say("de outro cliente", jid=other_jid)

    queued = world.receive()
    bodies = [(m["Attributes"]["MessageGroupId"], json.loads(m["Body"])["text"]) for m in queued]
    assert [b for g, b in bodies if g == PHONE] == ["mensagem 1", "mensagem 2", "mensagem 3"]
    assert [b for g, b in bodies if g == "5521977776666"] == ["de outro cliente"]
    for message in queued:  # make them visible again for the handler
        world.queue_client().change_message_visibility(
            QueueUrl=world.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    assert world.drain() == []
    assert world.evolution.texts_to(PHONE) == ["eco: mensagem 1", "eco: mensagem 2", "eco: mensagem 3"]
    assert world.evolution.texts_to("5521977776666") == ["eco: de outro cliente"]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_failed_reply_fails_the_rest_of_the_fifo_batch_and_is_retried_without_duplicates(
    world: World, maria
):
    _, conversation = maria
    world.model.responder = lambda request: text("resposta a " + request["messages"][-1]["content"])
    world.say("primeira")
    world.say("segunda")
    world.evolution.failure_rate = 1.0  # Evolution answers 500 (half of them after a short hang)

    failed = world.drain()

    assert len(failed) == 2  # the first failed, the second was not attempted
    assert world.evolution.texts_to(PHONE) == []
    world.evolution.failure_rate = 0.0
    assert world.drain() == []
    assert world.evolution.texts_to(PHONE) == ["resposta a primeira", "resposta a segunda"]
    customer = [m.content for m in world.thread(conversation.id) if m.sender is Sender.CUSTOMER]
    assert customer == ["primeira", "segunda"]  # stored once each, in order


def test_an_opt_out_keyword_is_honoured_before_any_model_call(world: World, maria):
    target, _ = maria

    [reply] = world.turn("PARAR")

    assert world.model.requests == []
    assert "não receberá mais mensagens" in reply
    # The phone (what the law keys); not the document: nobody gave it in this conversation.
    assert optouts.is_opted_out(phone=PHONE) and not optouts.is_opted_out(document=DOCUMENT)
    stopped = targets_data.get(target.id)  # the case's number is this phone: it ends here
    assert stopped.state is TargetState.COMPLETED and stopped.outcome is Outcome.OPTED_OUT


def test_an_opt_out_after_the_identity_is_confirmed_also_opts_out_the_document(world: World, maria):
    world.model.script(
        tool_calls(call("consultar_faturas_cpf", cpf_cnpj=DOCUMENT)), text("Maria, você tem 2 faturas.")
    )
    world.turn("Meu CPF é 529.982.247-25")

    world.turn("PARAR")

    assert optouts.is_opted_out(phone=PHONE) and optouts.is_opted_out(document=DOCUMENT)


@pytest.mark.parametrize(
    "said", ["Não quero mais receber", "cancelar mensagens!", "sair", "Pare de me mandar mensagens"]
)
def test_opt_out_phrasings_are_recognised(world: World, maria, said):
    world.turn(said)
    assert optouts.is_opted_out(phone=PHONE)
    assert world.model.requests == []


def test_a_sentence_that_merely_contains_parar_is_not_an_opt_out(world: World, maria):
    world.model.responder = lambda request: text("Que bom ouvir isso!")
    world.turn("Não vou parar de pagar, só atrasei")
    assert not optouts.is_opted_out(phone=PHONE)
    assert len(world.model.requests) == 1


def test_a_media_message_is_answered_with_a_polite_text_only_note(world: World, maria):
    _, conversation = maria

    [reply] = world.turn(None)

    assert "apenas mensagens de texto" in reply
    assert world.model.requests == []
    stored = world.thread(conversation.id)[-2]
    assert stored.sender is Sender.CUSTOMER and stored.content.startswith("[mensagem sem texto")


def test_the_ninth_digit_is_tolerated_when_finding_the_conversation(world: World, maria):
    _, conversation = maria
    world.model.responder = lambda request: text("Oi!")

    world.say("oi", jid="551199998888@s.whatsapp.net")  # the JID without the mobile's ninth digit
    world.drain()

    assert world.evolution.texts_to("551199998888") == ["Oi!"]
    assert [m.content for m in world.thread(conversation.id) if m.sender is Sender.CUSTOMER] == ["oi"]


def test_the_customer_writing_first_opens_an_inbound_conversation_and_counts_nothing_else(world: World):
    world.model.responder = lambda request: text("Olá! Sou a Lia. Como posso ajudar?")

    world.turn("Boa tarde")

    conversation = world.conversation()
    assert conversation.source.value == "inbound" and conversation.target_id is None
    assert conversation.client_name == "Cliente"  # Evolution's pushName
    assert [m.sender for m in world.thread(conversation.id)] == [Sender.CUSTOMER, Sender.ASSISTANT]


def test_the_reply_is_stored_with_its_evolution_id_and_receipts_update_it(world: World, maria):
    _, conversation = maria
    world.model.responder = lambda request: text("Olá!")
    world.turn("oi")
    reply = world.thread(conversation.id)[-1]
    assert reply.sender is Sender.ASSISTANT and reply.delivery_status.value == "pending"
    sent_id = world.evolution.sent[-1].id
    assert reply.external_id == sent_id

    assert world.receipt(sent_id, "SERVER_ACK").json() == {"updated": False}  # not stored: the server's
    assert world.receipt(sent_id, "DELIVERY_ACK").json() == {"updated": True}
    assert world.thread(conversation.id)[-1].delivery_status.value == "delivered"
    assert world.receipt(sent_id, "READ").json() == {"updated": True}
    assert world.receipt(sent_id, "DELIVERY_ACK").json() == {"updated": False}  # late: never backwards
    assert world.thread(conversation.id)[-1].delivery_status.value == "read"
    assert world.receipt("UNKNOWN-ID", "READ").json() == {"updated": False}
    assert conversations.get(conversation.id).last_activity_at == world.clock.now()


def test_the_cloud_integrations_receipts_are_understood(world: World, maria):
    """On `EVOLUTION_INTEGRATION=cloud` Evolution forwards Meta's statuses upper-cased: SENT,
    DELIVERED, READ, FAILED."""
    _, conversation = maria
    world.model.responder = lambda request: text("Olá!")
    world.turn("oi")
    sent_id = world.evolution.sent[-1].id

    assert world.receipt(sent_id, "SENT").json() == {"updated": False}  # the server's, as SERVER_ACK
    assert world.receipt(sent_id, "DELIVERED").json() == {"updated": True}
    assert world.thread(conversation.id)[-1].delivery_status.value == "delivered"
    world.turn("e agora?")
    failed_id = world.evolution.sent[-1].id
    assert world.receipt(failed_id, "FAILED").json() == {"updated": True}
    assert world.thread(conversation.id)[-1].delivery_status.value == "failed"


def test_on_cloud_the_message_being_answered_opens_the_window_for_the_payment_codes(
    world: World, maria, monkeypatch
):
    _, conversation = maria
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    reset_settings()
    assert conversations.get(conversation.id).last_inbound_at is None  # she never wrote before
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura=None)),
        text("Enviei os códigos."),
    )

    world.turn("529.982.247-25 me manda o pix")

    [result] = world.model.tool_results()
    assert result["whatsapp"] == "enviado"
    *codes, reply = [m for m in world.thread(conversation.id) if m.sender is Sender.ASSISTANT]
    assert codes and reply.content == "Enviei os códigos."  # the codes went to her one conversation
    assert conversations.get(conversation.id).last_inbound_at is not None

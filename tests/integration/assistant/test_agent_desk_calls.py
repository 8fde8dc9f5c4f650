"""An agent answering a case that came from a call: a call has no WhatsApp of its own, so the agent's
reply goes to the customer's WhatsApp conversation — taken by the same agent and held, so Lia stays
silent there and the customer's answer waits in the queue — and is recorded on the call's
conversation, the one the agent is looking at."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.core.config import reset_settings
from shared.data import conversations, messages
from shared.domain.models import Channel, Conversation, ConversationStatus, Sender, Target
from shared.engine import desk, handoff, optouts, warm_transfer
from shared.engine.conversations import open_conversation
from tests.integration.assistant.assistant_world import DOCUMENT, PHONE, World

SUPERVISOR_TOKEN = "supervisor-token"
AGENT = "token:supervisor"
CALL_SID = "CA" + "5" * 32


@pytest.fixture
def call(
    world: World, make_target: Any, make_conversation: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Conversation, Conversation]:
    """Maria's WhatsApp conversation (Lia has it) and a call of hers the assistant handed to the desk."""
    monkeypatch.setenv("COBRANCA_API_TOKENS", f"supervisor:{SUPERVISOR_TOKEN}")
    reset_settings()
    target: Target
    target, chat = world.debtor(make_target=make_target, make_conversation=make_conversation)
    call = open_conversation(Channel.VOICE, PHONE, target=target, call_sid=CALL_SID)
    messages.record(call.id, Sender.CUSTOMER, "Quero falar com um atendente.", channel=Channel.VOICE)
    return chat, handoff.transfer(call.id, by="assistant", reason="cliente pediu um atendente")


def reply(world: World, conversation_id: str, text: str) -> Any:
    return world.api.post(
        f"/api/voice/conversations/{conversation_id}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {SUPERVISOR_TOKEN}"},
    )


def test_a_reply_on_a_call_reaches_the_customers_whatsapp_once_and_is_recorded_on_the_call(
    world: World, call: tuple[Conversation, Conversation]
) -> None:
    chat, on_call = call

    response = reply(world, on_call.id, "Olá Maria, aqui é a Ana. Vi que você ligou pedindo um atendente.")

    assert response.status_code == 201, response.text
    assert world.evolution.texts_to(PHONE) == [
        "Olá Maria, aqui é a Ana. Vi que você ligou pedindo um atendente."
    ]
    [stored] = [m for m in messages.list_for(on_call.id) if m.sender is Sender.AGENT]
    assert stored.author == AGENT and stored.external_id == world.evolution.sent[-1].id
    assert not [m for m in messages.list_for(chat.id) if m.sender is Sender.AGENT]
    answered = conversations.get(on_call.id)
    assert answered.assignee == AGENT and answered.waiting_since is None
    held = conversations.get(chat.id)
    assert held.status is ConversationStatus.TRANSFERRED and held.assignee == AGENT
    assert held.waiting_since is None  # the agent just wrote there
    assert conversations.held(PHONE, DOCUMENT)


def test_the_customers_whatsapp_answer_gets_no_reply_from_lia_and_waits_in_the_queue(
    world: World, call: tuple[Conversation, Conversation]
) -> None:
    chat, on_call = call
    assert reply(world, on_call.id, "Olá Maria, aqui é a Ana.").status_code == 201

    assert world.turn("Oi Ana! Consigo pagar na sexta.") == []  # Lia stays silent: a human has it

    assert chat.id in [c.id for c in desk.queue(50, None).items]
    assert on_call.id not in [c.id for c in desk.queue(50, None).items]  # answered


def test_another_agents_whatsapp_conversation_is_not_taken_from_them(
    world: World, call: tuple[Conversation, Conversation]
) -> None:
    chat, on_call = call
    handoff.take(chat.id, by="token:admin")

    response = reply(world, on_call.id, "Olá Maria.")

    assert response.status_code == 409
    assert world.evolution.texts_to(PHONE) == []
    assert conversations.get(chat.id).assignee == "token:admin"
    assert conversations.get(on_call.id).assignee is None  # the call's case is left as it was


def test_on_the_cloud_api_a_call_callback_waits_for_the_customer_to_write_then_the_reply_goes(
    world: World, call: tuple[Conversation, Conversation], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    monkeypatch.delenv("HUMAN_AGENT_NUMBER", raising=False)
    reset_settings()
    chat, on_call = call
    assert chat.last_inbound_at is None  # she never wrote on WhatsApp: no 24 h window

    handover = warm_transfer.begin(on_call)  # what Lia's `transferir_para_humano` decides on the call

    assert handover.customer_writes_first and handover.words == warm_transfer.WRITE_FIRST
    assert blocked_reason(world, on_call.id) == "whatsapp_window_closed"
    refused = reply(world, on_call.id, "Olá Maria, aqui é a Ana.")
    assert refused.status_code == 409 and refused.json()["code"] == "whatsapp_window_closed"
    assert world.evolution.texts_to(PHONE) == []

    world.say("Oi, me pediram para escrever aqui.")  # she writes on WhatsApp: the window opens
    assert world.drain() == []

    assert blocked_reason(world, on_call.id) is None
    sent = reply(world, on_call.id, "Olá Maria, aqui é a Ana.")
    assert sent.status_code == 201, sent.text
    assert world.evolution.texts_to(PHONE)[-1] == "Olá Maria, aqui é a Ana."


def blocked_reason(world: World, conversation_id: str) -> str | None:
    """`replyBlockedReason` as the desk's queue and the conversation's detail both show it."""
    headers = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}
    queue = world.api.get("/api/voice/conversations/queue", headers=headers).json()
    [entry] = [item for item in queue["items"] if item["id"] == conversation_id]
    detail = world.api.get(f"/api/voice/conversations/{conversation_id}", headers=headers).json()
    assert entry["replyBlockedReason"] == detail["replyBlockedReason"]
    return detail["replyBlockedReason"]


def test_a_customer_who_opted_out_on_the_call_gets_no_reply_from_the_desk_until_she_writes(
    world: World, call: tuple[Conversation, Conversation], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUMAN_AGENT_NUMBER", raising=False)
    reset_settings()
    _, on_call = call
    world.clock.advance(timedelta(minutes=1))
    optouts.opt_out(phone=PHONE, document=None, reason="pare de me ligar", source="assistant")

    handover = warm_transfer.begin(on_call)  # the desk may not write first: she is asked to write
    assert handover.blocked is desk.ReplyBlocked.OPTED_OUT and handover.words == warm_transfer.WRITE_FIRST
    note = [m.content for m in messages.list_for(on_call.id) if m.sender is Sender.SYSTEM][-1]
    assert note.endswith("o retorno espera o cliente escrever no WhatsApp (pediu para não ser contatado)")
    assert blocked_reason(world, on_call.id) == "opted_out"
    refused = reply(world, on_call.id, "Olá Maria, aqui é a Ana.")
    assert refused.status_code == 409 and refused.json()["code"] == "opted_out"
    assert world.evolution.texts_to(PHONE) == []
    assert not [m for m in messages.list_for(on_call.id) if m.sender is Sender.AGENT]

    world.clock.advance(timedelta(minutes=5))
    world.say("Oi, quero falar com a pessoa que ia me retornar.")  # she writes on WhatsApp herself
    assert world.drain() == []

    assert blocked_reason(world, on_call.id) is None
    sent = reply(world, on_call.id, "Olá Maria, aqui é a Ana.")
    assert sent.status_code == 201, sent.text
    assert world.evolution.texts_to(PHONE)[-1] == "Olá Maria, aqui é a Ana."

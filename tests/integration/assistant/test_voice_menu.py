"""When the model is down the call still helps: the keypad menu the bridge redirects a call to
(`shared.engine.voice_menu.start`, what test_voice_transfer.py sees the bridge send), driven as Twilio
drives it — each `<Gather>`'s digits posted, signed, to its action URL — through to each option's
effect: the payment code on WhatsApp (Evolution simulator), a promise stored, an opt-out stored, the
warm transfer's `<Dial>`. Same tools, same guards: a wrong document never opens the menu."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest

from infra.local.simulators.twilio import signature_for
from shared.core.config import reset_settings
from shared.data import conversations, messages, optouts, promises
from shared.domain.models import Channel, Conversation, ConversationStatus, Sender, Target
from shared.engine import desk, voice_menu, warm_transfer
from shared.engine.conversations import open_conversation
from tests.integration.assistant.assistant_world import DOCUMENT, OTHER_DOCUMENT, PHONE, World

TWILIO_TOKEN = "twilio-menu-token"
BASE = "https://cobranca.example.com"
CALL_SID = "CA" + "7" * 32
DESK = "+5511955554444"


class Caller:
    """Twilio playing the menu's TwiML: the caller's keys posted to each `<Gather action>`, signed."""

    def __init__(self, world: World, conversation: Conversation) -> None:
        self.world = world
        self.conversation = conversation
        self.twiml = voice_menu.start(conversation)  # what the bridge updates the call with

    @property
    def heard(self) -> str:
        return " ".join(say.text or "" for say in ET.fromstring(self.twiml).iter("Say"))

    def verbs(self) -> list[str]:
        return [verb.tag for verb in ET.fromstring(self.twiml)]

    def keys(self, digits: str) -> str:
        gather = ET.fromstring(self.twiml).find("Gather")
        assert gather is not None, f"the call is not waiting for keys: {self.twiml}"
        url = gather.get("action") or ""
        params = {"AccountSid": "AC" + "1" * 32, "CallSid": CALL_SID, "Digits": digits}
        headers = {"X-Twilio-Signature": signature_for(url, params, TWILIO_TOKEN)}
        response = self.world.api.post(url, data=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        self.twiml = response.text
        return self.twiml


@pytest.fixture
def caller(world: World, maria: tuple[Target, Conversation], monkeypatch: pytest.MonkeyPatch) -> Caller:
    for name, value in {
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_PHONE_NUMBER": "+5511400000000",
        "WEBHOOK_BASE_URL": BASE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HUMAN_AGENT_NUMBER", raising=False)
    reset_settings()
    target, _ = maria
    call = open_conversation(Channel.VOICE, PHONE, target=target, call_sid=CALL_SID)
    return Caller(world, call)


@pytest.fixture
def maria(world: World, make_target: Any, make_conversation: Any) -> tuple[Target, Conversation]:
    return world.debtor(make_target=make_target, make_conversation=make_conversation)


def identified(caller: Caller) -> None:
    assert "TR Telecom" in caller.heard and "CPF" in caller.heard  # the creditor named, the document asked
    caller.keys(DOCUMENT)
    assert "2 faturas em aberto" in caller.heard and "R$ 179,80" in caller.heard
    assert "digite 1" in caller.heard and "digite 4" in caller.heard


def test_option_1_sends_the_payment_code_to_the_customers_whatsapp(caller: Caller, world: World) -> None:
    identified(caller)
    caller.keys("1")

    assert "enviei o código de pagamento para o seu WhatsApp" in caller.heard
    [sent] = world.evolution.texts_to(PHONE)  # the Pix copia e cola alone: copied in one tap
    assert sent.startswith("000201") and "br.gov.bcb.pix" in sent and "179.80" in sent
    chat = world.conversation()
    assert [m.content for m in messages.list_for(chat.id) if m.sender is Sender.ASSISTANT][-1] == sent
    call = conversations.get(caller.conversation.id)
    assert call.identity_confirmed and call.document == DOCUMENT
    assert {d.tool for d in call.disclosures} == {"consultar_faturas_cpf", "gerar_pagamento_pix"}


def test_option_3_stores_the_date_keyed_as_a_promise_of_the_open_total(caller: Caller, world: World) -> None:
    identified(caller)
    assert "dia e o mês" in caller.keys("3")
    caller.keys("1503")

    assert "R$ 179,80 até 15/03/2025" in caller.heard
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.due_date == date(2025, 3, 15) and str(promise.amount) == "179.80"
    assert promise.conversation_id == caller.conversation.id


def test_a_date_past_the_promise_limit_is_refused_and_asked_again(caller: Caller, world: World) -> None:
    identified(caller)
    caller.keys("3")
    caller.keys("3012")  # 30/12: far beyond PROMISE_MAX_DAYS

    assert "Não foi possível registrar essa data" in caller.heard and caller.verbs() == ["Gather"]
    assert promises.active_for_document(DOCUMENT, world.clock.now()) == []


def test_option_4_opts_the_customer_out(caller: Caller) -> None:
    identified(caller)
    caller.keys("4")

    assert caller.verbs() == ["Say", "Hangup"] and "não vai mais receber" in caller.heard
    assert optouts.is_opted_out(phone=PHONE) and optouts.is_opted_out(document=DOCUMENT)


def test_option_2_dials_the_desk_when_it_is_open(caller: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUMAN_AGENT_NUMBER", DESK)
    reset_settings()
    identified(caller)
    caller.keys("2")

    dial = ET.fromstring(caller.twiml).find("Dial")
    assert dial is not None and dial.get("callerId") == "+5511400000000"
    assert dial.get("action") == f"{BASE}/api/voice/transfer/{caller.conversation.id}/status"
    number = dial.find("Number")
    assert number is not None and number.text == DESK
    assert conversations.get(caller.conversation.id).status is ConversationStatus.TRANSFERRED


@pytest.mark.parametrize(
    ("integration", "promise"),
    [("baileys", warm_transfer.CALLBACK), ("cloud", warm_transfer.WRITE_FIRST)],
    ids=["baileys", "cloud-no-window"],
)
def test_option_2_without_a_desk_number_offers_a_callback_and_queues_the_call(
    caller: Caller, monkeypatch: pytest.MonkeyPatch, integration: str, promise: str
) -> None:
    monkeypatch.setenv("EVOLUTION_INTEGRATION", integration)
    reset_settings()
    identified(caller)
    caller.keys("2")

    assert caller.verbs() == ["Say", "Hangup"] and promise in caller.heard  # Lia's own words, not a copy
    [queued] = desk.queue(50, None).items
    assert queued.id == caller.conversation.id
    thread = [m.content for m in messages.list_for(caller.conversation.id)]
    assert "CPF digitado no teclado: " + DOCUMENT in thread  # the call's record, for the agent


def test_another_persons_document_never_opens_the_menu(caller: Caller, world: World) -> None:
    caller.keys(OTHER_DOCUMENT)
    assert "Não consegui confirmar" in caller.heard and "/documento?tentativa=1" in caller.twiml
    caller.keys("3")  # a menu key where the document is asked: read as a (bad) document
    caller.keys(OTHER_DOCUMENT)

    assert caller.verbs() == ["Say", "Hangup"]
    assert world.crm.queries == []  # refused before the billing system is asked
    assert not conversations.get(caller.conversation.id).identity_confirmed


def test_the_menu_refuses_an_unsigned_request(caller: Caller, world: World) -> None:
    url = f"{BASE}/api/voice/menu/{caller.conversation.id}/menu"
    response = world.api.post(url, data={"CallSid": CALL_SID, "Digits": "4"})

    assert response.status_code == 403
    assert not optouts.is_opted_out(phone=PHONE)


def test_an_unknown_step_is_a_precise_422(caller: Caller, world: World) -> None:
    url = f"{BASE}/api/voice/menu/{caller.conversation.id}/pagar"
    params = {"CallSid": CALL_SID, "Digits": "1"}
    headers = {"X-Twilio-Signature": signature_for(url, params, TWILIO_TOKEN)}

    assert world.api.post(url, data=params, headers=headers).status_code == 422

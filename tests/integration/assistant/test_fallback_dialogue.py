"""The model is unavailable (500, 429, hang, malformed answer, no key): the deterministic dialogue still
confirms identity, quotes the invoices, registers a promise, verifies "já paguei" and offers a human."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from openai import OpenAI

from infra.local.simulators.openai import RATE_LIMITED, Failure, Hang, Malformed
from shared.adapters import clients
from shared.assistant import texts
from shared.core.config import get_settings
from shared.data import conversations, promises
from shared.data import targets as targets_data
from shared.domain.models import ConversationStatus, Outcome, TargetState
from tests.integration.assistant.assistant_world import DOCUMENT, OPENAI_KEY, OTHER_DOCUMENT, World


@pytest.fixture
def maria(world: World, make_target, make_conversation):
    return world.debtor(make_target=make_target, make_conversation=make_conversation)


@pytest.mark.parametrize(
    "outage", [Failure(500), RATE_LIMITED, Hang(1.0), Malformed()], ids=["500", "429", "hang", "malformed"]
)
def test_the_fallback_dialogue_answers_when_the_model_fails(world: World, maria, outage):
    world.model.responder = lambda request: outage
    if isinstance(outage, Hang):  # a client that gives up before the fake answers
        base_url = get_settings().openai_base_url
        clients.install(openai=OpenAI(api_key=OPENAI_KEY, base_url=base_url, timeout=0.3, max_retries=0))

    [reply] = world.turn("Oi, vi a mensagem")

    assert len(world.model.requests) == 1  # tried once (no SDK retries in tests), then the fallback
    assert "CPF ou CNPJ" in reply


def test_with_the_model_down_a_promise_is_registered_across_turns(world: World, maria):
    target, conversation = maria
    world.model.responder = lambda request: Failure(500)

    [ask_document] = world.turn("Olá, vi a mensagem")
    [quote] = world.turn("529.982.247-25")
    [confirmation] = world.turn("consigo pagar dia 20")

    assert "pode me informar o seu CPF ou CNPJ?" in ask_document
    assert "2 faturas em aberto" in quote and "FAT-2025-01" in quote and "Total: R$ 179,80" in quote
    assert "Até que dia você consegue pagar?" in quote
    assert confirmation.startswith("Perfeito! Registrei que você vai pagar R$ 179,80 até 20/03/2025.")
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.due_date == date(2025, 3, 20) and promise.conversation_id == conversation.id
    assert targets_data.get(target.id).outcome is Outcome.PROMISE_MADE
    assert conversations.get(conversation.id).identity_confirmed


def test_without_an_api_key_the_fallback_answers_and_the_model_is_never_called(
    world: World, maria, monkeypatch
):
    world.without_model_key(monkeypatch)

    world.turn("oi")
    world.turn("meu cpf 52998224725")
    [rejected] = world.turn("dia 30 de abril")  # more than 30 days ahead
    [accepted] = world.turn("sexta-feira, 50 reais")

    assert world.model.requests == []
    assert rejected == "Consigo registrar datas só até 09/04/2025. Até que dia você consegue pagar?"
    assert accepted.startswith("Perfeito! Registrei que você vai pagar R$ 50,00 até 14/03/2025.")


def test_the_fallback_refuses_another_document_without_asking_the_crm(world: World, maria, monkeypatch):
    world.without_model_key(monkeypatch)

    [reply] = world.turn("Quero ver as faturas do CPF 111.444.777-35")

    assert "só posso tratar da conta do titular" in reply
    assert OTHER_DOCUMENT not in world.crm.queries


def test_the_fallback_verifies_a_payment_claim_with_the_crm(world: World, maria, monkeypatch):
    target, _ = maria
    world.without_model_key(monkeypatch)
    world.crm.pay_all(DOCUMENT)

    [ask] = world.turn("Já paguei ontem!")
    [confirmed] = world.turn("52998224725")

    assert "vou verificar o seu pagamento" in ask
    assert confirmed.startswith("Confirmei aqui: não há faturas em aberto")
    assert targets_data.get(target.id).outcome is Outcome.PAID


def test_the_fallback_hands_over_to_a_human_and_then_stays_silent(world: World, maria, monkeypatch):
    _, conversation = maria
    world.without_model_key(monkeypatch)

    [reply] = world.turn("quero falar com um atendente")
    assert world.turn("alô?") == []

    assert "pessoa da nossa equipe" in reply
    assert conversations.get(conversation.id).status is ConversationStatus.TRANSFERRED


def test_the_fallback_offers_a_pix_code_after_identity(world: World, maria, monkeypatch):
    world.without_model_key(monkeypatch)
    world.turn("52998224725")

    pix, reply = world.turn("me manda o pix")

    assert pix.startswith("000201") and "br.gov.bcb.pix" in pix  # alone: one tap copies it
    assert reply == texts.PAYMENT_SENT_HERE


def test_the_fallback_sends_the_billing_systems_payment_link_with_its_code(world: World, maria, monkeypatch):
    first, second = world.crm.customers[DOCUMENT].invoices
    first.linha_digitavel, first.link = "23790001", "https://pague.example/FAT-2025-01"
    second.link = "https://pague.example/FAT-2025-02"  # no code: the link alone
    world.without_model_key(monkeypatch)
    world.turn("52998224725")

    sent = world.turn("me manda o boleto")

    assert sent == [
        "23790001",
        "Link para pagar a fatura FAT-2025-01 (R$ 89,90): https://pague.example/FAT-2025-01",
        "Link para pagar a fatura FAT-2025-02 (R$ 89,90): https://pague.example/FAT-2025-02",
        texts.PAYMENT_SENT_HERE,
    ]


def test_the_fallback_opts_out_a_request_inside_a_sentence(world: World, maria, monkeypatch):
    target, _ = maria
    world.without_model_key(monkeypatch)

    [reply] = world.turn("Olha, eu não quero mais receber essas cobranças no zap, ok?")

    assert "não receberá mais mensagens" in reply
    assert targets_data.get(target.id).state is TargetState.COMPLETED


def test_the_fallback_registers_at_once_when_document_and_day_come_together(world: World, maria, monkeypatch):
    world.without_model_key(monkeypatch)

    [reply] = world.turn("Meu CPF é 529.982.247-25, consigo pagar R$ 100,00 dia 25")

    assert reply.startswith("Perfeito! Registrei que você vai pagar R$ 100,00 até 25/03/2025.")
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.amount == Decimal("100.00")


def test_the_unscripted_model_stand_in_answers_503_so_the_sandbox_runs_the_fallback(world: World, maria):
    import httpx

    [reply] = world.turn("oi")

    assert "CPF ou CNPJ" in reply and len(world.model.requests) == 1
    raw = httpx.post(
        get_settings().openai_base_url + "/chat/completions",
        json={"model": "gpt-test", "messages": [{"role": "user", "content": "oi"}]},
        headers={"Authorization": f"Bearer {OPENAI_KEY}"},
    )
    assert raw.status_code == 503 and raw.json()["error"]["type"] == "server_error"

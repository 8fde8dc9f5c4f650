"""The seed's three scenarios end to end: Evolution webhook → API → FIFO queue → inbound handler →
assistant (the OpenAI fake on loopback, scripted) → tools (CRM simulator, moto) → reply via Evolution."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from infra.local.simulators.openai import call, text, tool_calls
from shared.data import conversations, promises
from shared.data import targets as targets_data
from shared.domain.models import Outcome, PromiseStatus, TargetState
from tests.integration.assistant.assistant_world import DOCUMENT, World


@pytest.fixture
def maria(world: World, make_target, make_conversation):
    return world.debtor(make_target=make_target, make_conversation=make_conversation)


def test_simple_debt_ends_in_a_promise_that_protects_the_customer(world: World, maria):
    target, conversation = maria
    world.model.script(
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

    assert world.turn("Olá, vi a mensagem") == ["Oi, Maria! Para sua segurança, pode me confirmar o seu CPF?"]
    assert world.turn("529.982.247-25") == [
        "Maria, você tem 2 faturas em aberto, total R$ 179,80. Quando consegue pagar?"
    ]
    assert world.turn("Posso pagar dia 20") == [
        "Perfeito! Registrei R$ 179,80 até 20/03/2025. Você não receberá cobranças até lá."
    ]

    consulted, promised = world.model.tool_results()
    assert consulted["faturas_em_aberto"] == 2 and consulted["total_devido"] == "179.80"
    assert [inv["numero"] for inv in consulted["detalhes_faturas"]] == ["FAT-2025-01", "FAT-2025-02"]
    assert promised["sucesso"] is True
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.due_date == date(2025, 3, 20) and promise.amount == Decimal("179.80")
    assert promise.status is PromiseStatus.PENDING and promise.target_id == target.id
    assert promise.conversation_id == conversation.id
    protected = targets_data.get(target.id)
    assert protected.state is TargetState.PENDING and protected.outcome is Outcome.PROMISE_MADE
    assert protected.next_attempt_at > promise.due_at  # deferred to the promise's end
    assert conversations.get(conversation.id).identity_confirmed
    # The model was told who collects and what day it is in the customer's zone.
    system = world.model.requests[0]["messages"][0]["content"]
    assert "TR Telecom (CNPJ 12.345.678/0001-95)" in system and "10/03/2025" in system
    assert all(tool["function"]["strict"] for tool in world.model.requests[0]["tools"])
    # The customer's and the assistant's messages are stored in order.
    senders = [m.sender.value for m in world.thread(conversation.id)]
    assert senders == ["assistant", "customer", "assistant", "customer", "assistant", "customer", "assistant"]


def test_already_paid_is_verified_with_the_crm_and_marks_the_target_paid(world: World, maria):
    target, _ = maria
    world.crm.pay_all(DOCUMENT)  # the payment is visible in the CRM
    world.model.script(
        text("Que bom! Para eu verificar, pode me informar o seu CPF?"),
        tool_calls(
            call(
                "atualizar_status_cobranca", cpf_cnpj=DOCUMENT, novo_status="paid", observacoes="pagou ontem"
            )
        ),
        text("Confirmei seu pagamento aqui. Desculpe o transtorno! Você não receberá mais cobranças."),
    )

    world.turn("Já paguei ontem! Por que ainda recebo cobrança?")
    assert world.turn("meu cpf é 52998224725") == [
        "Confirmei seu pagamento aqui. Desculpe o transtorno! Você não receberá mais cobranças."
    ]

    [verified] = world.model.tool_results()
    assert verified["status"] == "paid"
    paid = targets_data.get(target.id)
    assert paid.state is TargetState.COMPLETED and paid.outcome is Outcome.PAID
    assert world.crm.queries == [DOCUMENT]


def test_a_claimed_payment_not_yet_in_the_crm_is_never_taken_as_paid(world: World, maria):
    target, _ = maria
    world.model.script(
        tool_calls(
            call("atualizar_status_cobranca", cpf_cnpj=DOCUMENT, novo_status="paid", observacoes=None)
        ),
        text("Ainda não aparece aqui; pode levar até 3 dias úteis. Não vamos te contatar nesse período."),
    )

    world.turn("Já paguei, meu CPF é 529.982.247-25")

    [claim] = world.model.tool_results()
    assert claim["status"] == "payment_claimed" and "NÃO aparece" in claim["mensagem"]
    claimed = targets_data.get(target.id)
    assert claimed.state is TargetState.PENDING and claimed.outcome is Outcome.PAYMENT_CLAIMED
    assert claimed.next_attempt_at == world.clock.now() + timedelta(days=3)


def test_a_payment_claim_by_a_customer_the_crm_does_not_know_is_never_taken_as_paid(world: World, maria):
    target, _ = maria
    world.crm.customers.pop(DOCUMENT)  # the CRM answers 404 for the document
    world.model.script(
        tool_calls(
            call("atualizar_status_cobranca", cpf_cnpj=DOCUMENT, novo_status="paid", observacoes=None)
        ),
        text("Não encontrei seu cadastro no sistema. Vou chamar um atendente."),
    )

    world.turn("Já paguei, meu CPF é 529.982.247-25")

    [claim] = world.model.tool_results()
    assert claim["erro"] == "customer_not_found" and "status" not in claim
    ended = targets_data.get(target.id)
    assert (ended.state, ended.outcome) == (TargetState.COMPLETED, Outcome.UNKNOWN_CUSTOMER)


def test_hardship_gets_empathy_and_a_promise_thirty_days_ahead(world: World, maria):
    target, _ = maria
    thirty_days = (world.clock.now() + timedelta(days=30)).strftime("%d/%m/%Y")  # 09/04/2025
    world.model.script(
        tool_calls(call("consultar_faturas_cpf", cpf_cnpj=DOCUMENT)),
        text("Entendo perfeitamente sua situação, Maria. Você tem alguma previsão?"),
        tool_calls(
            call(
                "registrar_promessa_pagamento",
                cpf_cnpj=DOCUMENT,
                data_prevista_pagamento=thirty_days,
                valor_prometido=179.8,
                metodo_pagamento=None,
                observacoes="cliente desempregada, buscando emprego",
            )
        ),
        text(f"Combinado! Fique tranquila até {thirty_days}. Boa sorte na busca de emprego! 💙"),
    )

    world.turn("529.982.247-25 — estou desempregada, não tenho como pagar agora")
    assert world.turn(f"Posso tentar dia {thirty_days}") == [
        f"Combinado! Fique tranquila até {thirty_days}. Boa sorte na busca de emprego! 💙"
    ]

    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.due_date == date(2025, 4, 9)
    assert promise.notes == "cliente desempregada, buscando emprego"
    assert targets_data.get(target.id).outcome is Outcome.PROMISE_MADE

"""Identity before disclosure (issue 14): the person *and* the phone, on every tool, every answer.

A stranger typing a debtor's CPF learns nothing (not even whether it is a customer's) and the
registered number is contacted instead; a stranger's "PARAR", "já paguei" and "atendente" never touch
the debtor's account; the debtor from the phone on file is served; a confirmation expires; a wrong
number is recorded; a supervisor can put a phone on the case; every disclosure is logged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from infra.local.simulators.openai import call, text, tool_calls
from shared.assistant import texts
from shared.core.config import reset_settings
from shared.data import conversations, optouts, promises
from shared.data import targets as targets_data
from shared.domain.models import ConversationStatus, Outcome, TargetState
from tests.integration.assistant.assistant_world import DOCUMENT, OTHER_DOCUMENT, PHONE, World

STRANGER = "5521977776666"
STRANGER_JID = f"{STRANGER}@s.whatsapp.net"
NON_CUSTOMER = "39053344705"  # a valid CPF nobody has
SECRETS = ("Maria", "89,90", "89.90", "179", "FAT-2025", "br.gov.bcb.pix")
TOKENS = {"viewer": "viewer-token", "supervisor": "supervisor-token"}


@pytest.fixture
def maria(world: World, make_target, make_conversation):
    """Maria's case: her first message sent, a follow-up due in two days."""
    target, conversation = world.debtor(make_target=make_target, make_conversation=make_conversation)
    targets_data.reschedule(target.id, world.clock.now() + timedelta(days=2))
    return targets_data.get(target.id), conversation


def stranger_turn(world: World, said: str) -> list[str]:
    before = len(world.evolution.texts_to(STRANGER))
    world.say(said, jid=STRANGER_JID)
    assert world.drain() == []
    return world.evolution.texts_to(STRANGER)[before:]


def stranger_conversation() -> Any:
    found = conversations.by_chat_id(f"whatsapp_{STRANGER}")
    assert found is not None
    return found


def assert_nothing_of_maria(*outputs: Any) -> None:
    for output in outputs:
        dumped = json.dumps(output, ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in dumped, (secret, dumped)


def api_as(world: World, monkeypatch: pytest.MonkeyPatch, role: str) -> dict[str, str]:
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{r}:{t}" for r, t in TOKENS.items()))
    reset_settings()
    return {"Authorization": f"Bearer {TOKENS[role]}"}


# --- a stranger's phone ----------------------------------------------------------------------------


def test_a_stranger_typing_the_debtors_cpf_gets_nothing_and_the_registered_number_is_contacted(
    world: World, maria
):
    target, _ = maria
    world.model.script(tool_calls(call("consultar_faturas_cpf", cpf_cnpj=DOCUMENT)), text(texts.NOT_ON_FILE))
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura=None)),
        text(texts.NOT_ON_FILE),
    )

    first = stranger_turn(world, "Olá, quero saber das minhas faturas. Meu CPF é 529.982.247-25")
    second = stranger_turn(world, "me manda o pix")

    results = world.model.tool_results()
    assert [r["erro"] for r in results] == ["phone_not_on_file", "phone_not_on_file"]
    assert texts.NOT_ON_FILE in results[0]["mensagem"]
    assert_nothing_of_maria(results, first, second)
    conversation = stranger_conversation()
    assert conversation.document is None and conversation.target_id is None
    assert not conversation.identity_confirmed and conversation.disclosures == []
    # Her case is due now: the scheduler contacts her registered number (within the guards).
    moved = targets_data.get(target.id)
    assert moved.state is TargetState.PENDING and moved.next_attempt_at <= world.clock.now()
    assert moved.phone == PHONE


def test_the_fallback_answers_a_stranger_the_same_for_a_customers_cpf_and_anyone_elses(
    world: World, maria, monkeypatch
):
    world.without_model_key(monkeypatch)

    about_maria = stranger_turn(world, "Meu CPF é 529.982.247-25, quanto eu devo?")
    about_nobody = stranger_turn(world, f"Meu CPF é {NON_CUSTOMER}, quanto eu devo?")

    assert about_maria == about_nobody == [texts.NOT_ON_FILE]
    assert_nothing_of_maria(about_maria)


def test_the_tool_output_is_the_same_for_a_customers_cpf_and_anyone_elses(world: World, maria):
    from shared.assistant import ToolContext, invoke
    from shared.domain.models import Channel

    stranger_turn(
        world, f"CPF {DOCUMENT[:3]}.{DOCUMENT[3:6]}.{DOCUMENT[6:9]}-{DOCUMENT[9:]} e {NON_CUSTOMER}"
    )
    ctx = ToolContext.for_conversation(stranger_conversation(), Channel.WHATSAPP)
    outputs = [
        invoke("consultar_faturas_cpf", {"cpf_cnpj": doc}, ctx).data for doc in (DOCUMENT, NON_CUSTOMER)
    ]

    assert outputs[0] == outputs[1] and outputs[0]["erro"] == "phone_not_on_file"


def test_a_strangers_parar_ja_paguei_and_atendente_leave_the_debtors_case_alone(
    world: World, maria, monkeypatch
):
    target, _ = maria
    world.without_model_key(monkeypatch)

    stranger_turn(world, "Meu CPF é 529.982.247-25, já paguei")
    stranger_turn(world, "quero falar com um atendente")
    parar = stranger_turn(world, "PARAR")

    assert optouts.is_opted_out(phone=STRANGER)  # the stranger's own phone, as the law keys it
    assert not optouts.is_opted_out(document=DOCUMENT) and not optouts.is_opted_out(phone=PHONE)
    # Waiting for a human, the stranger still hears his own phone's opt-out confirmed, nothing more.
    [confirmation] = parar
    assert confirmation.startswith("Pronto: você não receberá mais mensagens de cobrança")
    assert stranger_conversation().status is ConversationStatus.TRANSFERRED
    case = targets_data.get(target.id)
    assert case.outcome not in (Outcome.PAYMENT_CLAIMED, Outcome.TRANSFERRED, Outcome.OPTED_OUT)
    assert case.state is not TargetState.COMPLETED
    assert promises.active_for_document(DOCUMENT, world.clock.now()) == []


def test_a_strangers_parar_opts_out_only_that_phone(world: World, maria):
    target, _ = maria

    stranger_turn(world, "Meu CPF é 529.982.247-25")
    stranger_turn(world, "PARAR")

    assert optouts.is_opted_out(phone=STRANGER)
    assert not optouts.is_opted_out(document=DOCUMENT) and not optouts.is_opted_out(phone=PHONE)
    assert targets_data.get(target.id).state is not TargetState.COMPLETED


# --- the debtor, the phone on file, expiry -----------------------------------------------------------


def test_the_debtor_from_the_phone_on_file_is_served_and_the_disclosure_is_logged(
    world: World, maria, monkeypatch
):
    _, conversation = maria
    world.without_model_key(monkeypatch)

    [quote] = world.turn("Meu CPF é 529.982.247-25")
    pix, _ = world.turn("me manda o pix")  # the code alone, then the note that it was sent

    assert "FAT-2025-01" in quote and "89,90" in quote
    assert "br.gov.bcb.pix" in pix
    log = conversations.get(conversation.id).disclosures
    assert [(d.tool, d.what, d.phone, d.document) for d in log] == [
        ("consultar_faturas_cpf", "faturas", PHONE, DOCUMENT),
        ("gerar_pagamento_pix", "codigo_pagamento", PHONE, DOCUMENT),
    ]
    supervisor = world.api.get(
        f"/api/voice/conversations/{conversation.id}", headers=api_as(world, monkeypatch, "supervisor")
    )
    assert supervisor.status_code == 200, supervisor.text
    shown = supervisor.json()["disclosures"]
    assert [entry["what"] for entry in shown] == ["faturas", "codigo_pagamento"]
    assert DOCUMENT not in json.dumps(shown) and PHONE not in json.dumps(shown)  # masked
    viewer = world.api.get(
        f"/api/voice/conversations/{conversation.id}", headers=api_as(world, monkeypatch, "viewer")
    )
    assert viewer.status_code == 200 and viewer.json()["disclosures"] is None


def test_identity_is_asked_again_after_the_ttl(world: World, maria, monkeypatch):
    world.without_model_key(monkeypatch)
    world.turn("Meu CPF é 529.982.247-25")

    world.clock.advance(timedelta(hours=23))
    still, _ = world.turn("me manda o pix")
    world.clock.advance(timedelta(hours=2))
    [expired] = world.turn("me manda o pix")

    assert "br.gov.bcb.pix" in still
    assert "br.gov.bcb.pix" not in expired and "CPF" in expired
    [again] = world.turn("529.982.247-25")  # given again: served again
    assert "FAT-2025-01" in again


def test_identity_is_asked_again_on_a_new_campaign(world: World, maria, make_target, monkeypatch):
    from shared.domain.models import Channel
    from shared.engine.conversations import open_conversation

    world.without_model_key(monkeypatch)
    world.turn("Meu CPF é 529.982.247-25")
    [new_case], _ = targets_data.insert_new([make_target(campaign_id="C2")])
    open_conversation(Channel.WHATSAPP, PHONE, target=new_case)  # the new campaign's first message

    [answer] = world.turn("me manda o pix")

    assert "br.gov.bcb.pix" not in answer and "CPF" in answer


def test_identity_is_asked_again_on_a_follow_up_of_the_same_campaign(world: World, maria, monkeypatch):
    target, _ = maria
    world.without_model_key(monkeypatch)
    world.turn("Meu CPF é 529.982.247-25")

    world.clock.advance(timedelta(hours=3))
    targets_data.record_contact(target, last_attempt_at=world.clock.now())  # the follow-up message
    [answer] = world.turn("me manda o pix")

    assert "br.gov.bcb.pix" not in answer and "CPF" in answer


# --- wrong numbers, a supervisor's phone ---------------------------------------------------------------


def test_numero_errado_records_a_wrong_number_and_moves_the_case_to_its_other_phone(
    world: World, make_target, make_conversation, monkeypatch
):
    other = "5511977770000"
    target, conversation = world.debtor(
        make_target=make_target, make_conversation=make_conversation, phones=[PHONE, other]
    )
    world.without_model_key(monkeypatch)

    [reply] = world.turn("Não conheço essa pessoa, número errado")

    assert reply == texts.WRONG_NUMBER
    assert_nothing_of_maria(reply)
    case = targets_data.get(target.id)
    assert case.outcome is Outcome.WRONG_NUMBER and case.phone == other
    assert optouts.wrong_numbers(DOCUMENT, [PHONE, other]) == {PHONE}
    assert not conversations.get(conversation.id).identity_confirmed
    # Then typing her CPF from that phone discloses nothing.
    assert world.turn("529.982.247-25") == [texts.NOT_ON_FILE]


def test_the_model_records_a_wrong_number_with_its_tool(world: World, maria):
    target, _ = maria
    world.model.script(tool_calls(call("numero_errado", motivo="não é a Maria")), text(texts.WRONG_NUMBER))

    world.turn("Não sou eu, vocês estão enganados")

    [result] = world.model.tool_results()
    assert result["sucesso"] is True
    assert_nothing_of_maria(result)
    case = targets_data.get(target.id)  # her only phone: nothing left to try
    assert case.state is TargetState.COMPLETED and case.outcome is Outcome.WRONG_NUMBER


def test_a_phone_a_supervisor_adds_is_then_served(world: World, maria, monkeypatch):
    target, _ = maria
    world.without_model_key(monkeypatch)
    assert stranger_turn(world, "Meu CPF é 529.982.247-25") == [texts.NOT_ON_FILE]

    refused = world.api.post(
        f"/api/voice/targets/{target.id}/phones",
        json={"phoneNumber": "+55 (21) 97777-6666"},
        headers=api_as(world, monkeypatch, "viewer"),
    )
    added = world.api.post(
        f"/api/voice/targets/{target.id}/phones",
        json={"phoneNumber": "+55 (21) 97777-6666"},
        headers=api_as(world, monkeypatch, "supervisor"),
    )
    bad = world.api.post(
        f"/api/voice/targets/{target.id}/phones",
        json={"phoneNumber": "12"},
        headers=api_as(world, monkeypatch, "supervisor"),
    )

    assert refused.status_code == 403
    assert added.status_code == 200, added.text
    assert 400 <= bad.status_code < 500
    [addition] = added.json()["addedPhones"]
    assert addition["addedBy"] and addition["addedAt"] and STRANGER not in addition["phoneNumber"]
    assert STRANGER in targets_data.get(target.id).phones
    [quote] = stranger_turn(world, "529.982.247-25")
    assert "FAT-2025-01" in quote


def test_a_phone_the_billing_system_has_for_the_customer_is_on_file(world: World, maria):
    world.crm.customers[DOCUMENT].phones = ["(21) 97777-6666"]
    world.model.script(
        tool_calls(call("consultar_faturas_cpf", cpf_cnpj=DOCUMENT)), text("Maria, 2 faturas.")
    )

    before = len(world.evolution.texts_to(STRANGER))
    world.say("Meu CPF é 529.982.247-25", jid=STRANGER_JID)
    assert world.drain() == []

    [result] = world.model.tool_results()
    assert result["faturas_em_aberto"] == 2 and len(world.evolution.texts_to(STRANGER)) == before + 1
    assert stranger_conversation().document == DOCUMENT


def test_other_document_is_still_refused_from_the_phone_on_file(world: World, maria):
    world.model.script(
        tool_calls(call("consultar_faturas_cpf", cpf_cnpj=OTHER_DOCUMENT)),
        text("Só posso tratar da sua conta."),
    )
    world.turn("Meu CPF é 111.444.777-35")
    assert world.model.tool_results()[0]["erro"] == "other_document"

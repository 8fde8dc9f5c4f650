"""Customers handed over to people, walked across days as the desk lives them: the customer asks for a
person on WhatsApp inside and outside the desk's hours, the queue the dashboard shows, the assistant
silent while a person has him, the hold over every campaign, a promise recorded from the desk, the
agent letting go with nothing agreed, a call nobody at the desk picks up, two agents on one customer,
and what a supervisor sees of the conversations people hold (the world: journeys.py; the desk API as
the dashboard calls it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.assistant.tools import invoke
from shared.core.config import reset_settings
from shared.data import conversations
from shared.data import promises as promises_data
from shared.domain.models import (
    Channel,
    ContactMethod,
    Conversation,
    ConversationStatus,
    Outcome,
    PromiseStatus,
    TargetState,
)
from shared.engine import warm_transfer
from shared.engine.warm_transfer import CALL_TOOLS
from tests.integration.api.conftest import Api
from tests.integration.engine.engine_world import Engine
from tests.integration.engine.journeys import (
    MARIA,
    MARIA_NEW_PHONE,
    MARIA_PHONE,
    MONDAY,
    SAO_PAULO,
    Call,
    Chat,
    Checks,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_maria,
    only_case,
    ring,
)

AGENT = "token:supervisor"
OTHER_AGENT = "token:admin"
DESK = "/api/voice/conversations"


def maria_chat() -> Conversation:
    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None
    return conversation


def maria_asks_for_a_person(engine: Engine) -> tuple[Chat, Conversation]:
    """Monday 10:00 in Manaus, the desk open: Maria asks for a person on WhatsApp; her chat and its
    conversation."""
    engine.clock.set(at(MONDAY, 10))
    maria = Chat(MARIA_PHONE, "Maria")
    maria.says("quero falar com um atendente")
    return maria, maria_chat()


def queue(api: Api) -> dict[str, Any]:
    response = api.get(f"{DESK}/queue")
    assert response.status_code == 200, response.text
    return dict(response.json())


def thread(api: Api, conversation_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{DESK}/{conversation_id}")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def maria_in_two_campaigns(engine: Engine, **cadence: Any) -> tuple[str, str]:
    """Maria's three invoices in March's campaign, its first message Monday 08:00 in Manaus; then her
    case in April's campaign too (due at once, it waits for her next day: one contact a day)."""
    march = engine.campaign(**cadence)
    import_maria(engine, march.id)
    business_day(engine, at(MONDAY, 8))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == 1
    april = engine.campaign(name="Cobrança Abril", **cadence)
    engine.target(april, 501, phone=MARIA_PHONE, document=MARIA, in_crm=False)
    return march.id, april.id


# --- 1. Inside the desk's hours: a person answers, records her promise, resolves ------------------------


def test_maria_asks_for_a_person_who_records_her_promise_from_the_desk_and_every_campaign_waits_for_it(
    engine: Engine, api: Api, checks: Checks
):
    march, april = maria_in_two_campaigns(engine)
    maria = Chat(MARIA_PHONE, "Maria")

    # Monday 10:00 in Manaus, the desk open: she asks for a person and is told one comes.
    engine.clock.set(at(MONDAY, 10))
    maria.says("quero falar com um atendente")
    told = engine.evolution.texts_to(MARIA_PHONE)[-1]
    assert "pessoa da nossa equipe" in told and "Em instantes" in told
    waiting = queue(api)
    assert waiting["waiting"] == 1
    [entry] = waiting["items"]
    conversation = maria_chat()
    assert entry["id"] == conversation.id and entry["reason"] == "cliente pediu um atendente"
    assert (case_of(march, MARIA).state, case_of(march, MARIA).outcome) == (
        TargetState.CONTACTED,
        Outcome.TRANSFERRED,
    )

    # She writes again: the assistant stays quiet, she is still waiting, no campaign writes to her.
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    engine.clock.set(at(MONDAY, 10, 20))
    maria.says("alô? alguém aí?")
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent
    assert queue(api)["waiting"] == 1
    business_day(engine, at(MONDAY + timedelta(days=1), 8))  # Tuesday: April's case is due
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent
    assert case_of(april, MARIA).state is TargetState.PENDING and case_of(april, MARIA).contact_count == 0

    # Tuesday 09:00 the agent answers from the desk: out of the queue, the reply on her WhatsApp.
    engine.clock.set(at(MONDAY + timedelta(days=1), 9))
    response = api.post(
        f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Olá Maria, sou a Ana."}
    )
    assert response.status_code == 201, response.text
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == "Olá Maria, sou a Ana."
    assert queue(api)["waiting"] == 0
    maria.says("consigo pagar tudo dia 20")
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == "Olá Maria, sou a Ana."  # Lia quiet

    # The agent records her promise from the desk, by the assistant's rules: not above what she owes,
    # not beyond PROMISE_MAX_DAYS; never by another agent than the one who holds her.
    promises_url = f"{DESK}/{conversation.id}/promises"
    for body, code in (
        ({"amount": "300,00", "dueDate": "2025-03-20"}, "amount_above_total"),
        ({"amount": "270,05", "dueDate": "2025-05-20"}, "date_too_far"),
        ({"amount": "duzentos", "dueDate": "2025-03-20"}, "invalid_amount"),
    ):
        refused = api.post(promises_url, "supervisor", json=body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    taken = api.post(promises_url, "admin", json={"amount": "270,05", "dueDate": "2025-03-20"})
    assert (taken.status_code, taken.json()["code"]) == (409, "conversation_taken")
    assert promises_data.active_for_document(MARIA, engine.clock.now()) == []
    promised = api.post(
        f"{DESK}/{conversation.id}/promises", "supervisor", json={"amount": "270,05", "dueDate": "2025-03-20"}
    )
    assert promised.status_code == 201, promised.text
    body = promised.json()
    assert (body["amount"], body["dueDate"], body["status"]) == ("270.05", "2025-03-20", "pending")
    [promise] = promises_data.active_for_document(MARIA, engine.clock.now())
    assert promise.status is PromiseStatus.PENDING and promise.conversation_id == conversation.id
    assert sorted(promise.invoice_numbers) == ["F-101", "F-102", "F-103"]
    assert f"Promessa registrada por {AGENT}: R$ 270,05 até 20/03/2025" in [
        m["content"] for m in thread(api, conversation.id) if m["sender"] == "system"
    ]
    for campaign_id in (march, april):
        case = case_of(campaign_id, MARIA)
        assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
        assert case.next_attempt_at is not None and case.next_attempt_at > promise.due_at

    # She is resolved; nobody contacts her until the promised day is over.
    assert api.post(f"{DESK}/{conversation.id}/resolve", "supervisor").status_code == 200
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    for offset in range(2, 11):
        day = MONDAY + timedelta(days=offset)
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent
    assert only_case(march).outcome is Outcome.PROMISE_MADE

    # She pays on the 19th; the monitor's check the day after the promised day finds it kept, and the
    # cases of both campaigns close paid.
    engine.crm.pay_all(MARIA)
    [checked] = checks.fire(engine, at(MONDAY + timedelta(days=11), 9, 1))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED, checked
    for campaign_id in (march, april):
        case = case_of(campaign_id, MARIA)
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    counters_agree_with_the_cases(march, april)

    # The next day she asks for a person again (about her plan): she waits in the queue, and her cases
    # stay paid — they were counted `transferred`, out of the paid ones, before.
    engine.clock.set(at(MONDAY + timedelta(days=12), 10))
    maria.says("quero falar com um atendente")
    assert queue(api)["waiting"] == 1
    for campaign_id in (march, april):
        case = case_of(campaign_id, MARIA)
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    counters_agree_with_the_cases(march, april)


# --- 2. Outside the desk's hours: told when a person answers; let go with nothing agreed -----------------


def test_maria_asking_for_a_person_on_friday_evening_is_told_when_the_desk_opens_and_followed_up_after(
    engine: Engine, api: Api
):
    march = engine.campaign(follow_up_after_days=3, max_contacts=6).id
    import_maria(engine, march)
    business_day(engine, at(MONDAY, 8))
    maria = Chat(MARIA_PHONE, "Maria")
    friday = MONDAY + timedelta(days=4)

    # Friday 19:00 in Manaus: the desk (08:00-18:00 on weekdays) is closed until Monday 08:00.
    engine.clock.set(at(friday, 19))
    maria.says("quero falar com um atendente")
    told = engine.evolution.texts_to(MARIA_PHONE)[-1]
    assert "Em instantes" not in told
    assert "segunda-feira" in told and "08:00" in told
    conversation = maria_chat()
    assert queue(api)["waiting"] == 1

    # Saturday, Monday: nothing while she waits for a person.
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    business_day(engine, at(friday + timedelta(days=1), 9))
    business_day(engine, at(friday + timedelta(days=3), 8))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent

    # Monday 09:00 the agent answers, talks, and gives her back to the assistant with nothing agreed.
    monday = friday + timedelta(days=3)
    engine.clock.set(at(monday, 9))
    assert api.post(f"{DESK}/{conversation.id}/take", "supervisor").status_code == 200
    api.post(
        f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Oi Maria, como posso ajudar?"}
    )
    maria.says("só queria entender as faturas, vou ver e te falo")
    released = api.post(f"{DESK}/{conversation.id}/release", "supervisor")
    assert released.status_code == 200 and released.json()["status"] == "ai"

    # March's case follows the cadence: its follow-up three days later, in her window, counted.
    case = case_of(march, MARIA)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == at(monday + timedelta(days=3), 9)
    contacts = case.contact_count
    for offset in range(1, 4):
        business_day(engine, at(monday + timedelta(days=offset), 9, 5))
        engine.delivered()
    case = case_of(march, MARIA)
    assert case.contact_count == contacts + 1 and case.state is TargetState.CONTACTED
    assert engine.evolution.texts_to(MARIA_PHONE)[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    counters_agree_with_the_cases(march)


# --- 3. A call handed to a person nobody picks up: the desk calls back on WhatsApp ----------------------


def test_joao_handed_over_on_a_call_nobody_at_the_desk_picks_up_waits_then_the_desk_writes_and_resolves(
    engine: Engine, api: Api, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HUMAN_AGENT_NUMBER", "+5511955554444")
    reset_settings()
    campaign = engine.campaign(
        contact_method=ContactMethod.VOICE, allowed_methods=[Channel.VOICE], follow_up_after_days=3
    )
    joao = engine.target(campaign, 71, client_name="João Lima", channel=Channel.VOICE)
    engine.clock.set(at(MONDAY, 10, tz=SAO_PAULO))
    [ringing] = ring(engine)
    call = Call(engine, ringing)
    call.says(f"Sou eu, meu CPF é {joao.document}")
    assert call.tool("consultar_faturas_cpf", cpf_cnpj=joao.document).ok
    call.says("quero falar com um atendente")
    handed = invoke("transferir_para_humano", {"motivo": "cliente pediu um atendente"}, call.ctx, CALL_TOOLS)
    assert handed.ok and handed.data["transferencia"] == "ligacao"

    # The desk's phone rings out: João hears a goodbye and that the team will write on WhatsApp.
    ending = warm_transfer.dial_finished(call.conversation.id, "no-answer")
    assert "WhatsApp" in ending and "ninguém da nossa equipe pôde atender" in ending
    call.hang_up(duration=120)
    case = engine.get(joao)
    assert (case.state, case.outcome) == (TargetState.CONTACTED, Outcome.TRANSFERRED)
    assert [item["id"] for item in queue(api)["items"]] == [call.conversation.id]

    # Tuesday, Wednesday: nobody calls him while he waits for the desk.
    for offset in (1, 2):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
    assert len(engine.twilio.calls_to("+" + joao.phone)) == 1

    # Wednesday 11:00 an agent writes from the call's conversation: the text goes to his WhatsApp.
    engine.clock.set(at(MONDAY + timedelta(days=2), 11, tz=SAO_PAULO))
    written = api.post(
        f"{DESK}/{call.conversation.id}/messages", "supervisor", json={"text": "Oi João, é a Ana."}
    )
    assert written.status_code == 201, written.text
    assert engine.evolution.texts_to(joao.phone) == ["Oi João, é a Ana."]
    Chat(joao.phone, "João").says("oi Ana, só queria saber o valor, vou ver se consigo pagar")
    assert engine.evolution.texts_to(joao.phone) == ["Oi João, é a Ana."]  # Lia quiet
    [waiting] = queue(api)["items"]
    assert waiting["id"] != call.conversation.id  # his WhatsApp answer is what waits now

    # The agent resolves where he answered, with nothing agreed: he is no longer held anywhere, and the
    # case follows the cadence (the follow-up call three days later, counted).
    assert api.post(f"{DESK}/{waiting['id']}/resolve", "supervisor").status_code == 200
    assert not conversations.held(joao.phone, joao.document)
    assert conversations.get(call.conversation.id).status is ConversationStatus.RESOLVED  # the call's too
    case = engine.get(joao)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == engine.clock.now() + timedelta(days=3)
    business_day(engine, at(MONDAY + timedelta(days=5), 11, 5, tz=SAO_PAULO))  # Saturday
    assert len(engine.twilio.calls_to("+" + joao.phone)) == 2
    assert engine.get(joao).contact_count == 2
    counters_agree_with_the_cases(campaign.id)


# --- 4. Two agents on one customer, a viewer, and the customer writing from a new number ----------------


def test_one_agent_holds_maria_the_other_gets_a_clear_409_a_viewer_only_reads_and_her_new_number_learns_nothing(
    engine: Engine, api: Api
):
    campaign = engine.campaign()
    import_maria(engine, campaign.id)
    business_day(engine, at(MONDAY, 8))
    _, conversation = maria_asks_for_a_person(engine)
    url = f"{DESK}/{conversation.id}"

    # Two agents open her at once: the first takes her, the second is told who has her.
    assert api.post(f"{url}/take", "supervisor").json()["assignee"] == AGENT
    for action, body in (
        ("take", None),
        ("messages", {"text": "Oi Maria"}),
        ("promises", {"amount": "10,00", "dueDate": "2025-03-20"}),
    ):
        refused = api.post(f"{url}/{action}", "admin", json=body)
        assert refused.status_code == 409, (action, refused.text)
        assert refused.json() == {"detail": f"conversa já assumida por {AGENT}", "code": "conversation_taken"}
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] != "Oi Maria"

    # A viewer reads the queue and her thread, and can do nothing in it.
    assert api.get(url, "viewer").json()["assignee"] == AGENT
    for action in ("take", "messages", "promises", "resolve", "release"):
        assert api.post(f"{url}/{action}", "viewer", json={"text": "x"}).status_code == 403

    # She writes from a new number while held: a stranger to the desk and to the assistant — nothing
    # about her debt is said there, and her held conversation is left as it is.
    new = Chat(MARIA_NEW_PHONE, "Maria")
    new.says("oi, sou a Maria, estou esperando o atendente")
    new.says(MARIA)
    answers = engine.evolution.texts_to(MARIA_NEW_PHONE)
    assert answers and not any("R$" in text or "F-10" in text for text in answers)
    held = conversations.get(conversation.id)
    assert (held.status, held.assignee) == (ConversationStatus.TRANSFERRED, AGENT)

    # Nor can the desk act on her account from there: nothing ties that conversation to her yet.
    stranger = conversations.by_chat_id(f"whatsapp_{MARIA_NEW_PHONE}")
    assert stranger is not None
    refused = api.post(
        f"{DESK}/{stranger.id}/promises", "admin", json={"amount": "270,05", "dueDate": "2025-03-20"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "no_customer"), refused.text
    assert promises_data.active_for_document(MARIA, engine.clock.now()) == []
    assert case_of(campaign.id, MARIA).phone == MARIA_PHONE

    # The agent writes to her on her own number and resolves.
    assert api.post(f"{url}/messages", "supervisor", json={"text": "Oi Maria, sou a Ana."}).status_code == 201
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == "Oi Maria, sou a Ana."
    assert api.post(f"{url}/resolve", "supervisor").json()["resolvedBy"] == AGENT
    counters_agree_with_the_cases(campaign.id)


# --- 5. A hold nobody ends: no timeout, but the supervisor sees who holds whom, and since when ----------


def test_a_customer_the_desk_never_resolves_stays_held_and_the_supervisor_sees_the_oldest_holds_first(
    engine: Engine, api: Api
):
    campaign = engine.campaign(follow_up_after_days=3)
    import_maria(engine, campaign.id)
    pedro = engine.target(campaign, 81, client_name="Pedro Alves", ddd="92")
    business_day(engine, at(MONDAY, 8))

    # Monday Maria, Tuesday Pedro ask for a person; one agent answers each, then nobody resolves them.
    _, maria = maria_asks_for_a_person(engine)
    api.post(f"{DESK}/{maria.id}/messages", "supervisor", json={"text": "Oi Maria, sou a Ana."})
    engine.clock.set(at(MONDAY + timedelta(days=1), 15))
    Chat(pedro.phone, "Pedro").says("quero falar com um atendente")
    pedro_chat = conversations.by_chat_id(f"whatsapp_{pedro.phone}")
    assert pedro_chat is not None
    api.post(f"{DESK}/{pedro_chat.id}/messages", "admin", json={"text": "Oi Pedro, sou o Caio."})

    # Two weeks later they are still held (a person has them: no timeout), nobody contacted them, and
    # the queue, which lists who waits for an answer, is empty.
    for offset in range(2, 15):
        day = MONDAY + timedelta(days=offset)
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10))
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == "Oi Maria, sou a Ana."
    assert engine.evolution.texts_to(pedro.phone)[-1] == "Oi Pedro, sou o Caio."
    assert queue(api)["waiting"] == 0

    # The supervisor's list of holds: oldest first, by whom, for how long, untouched for how long.
    now = engine.clock.now()
    response = api.get(f"{DESK}/held")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["held"] == 2
    assert [(item["id"], item["assignee"]) for item in body["items"]] == [
        (maria.id, AGENT),
        (pedro_chat.id, OTHER_AGENT),
    ]
    first = body["items"][0]
    assert first["heldSeconds"] == int((now - at(MONDAY, 10)).total_seconds())
    assert first["idleSeconds"] == int((now - at(MONDAY, 10)).total_seconds())
    assert first["waitingSeconds"] is None and first["reason"] == "cliente pediu um atendente"

    # The supervisor resolves Maria's stale hold: her case follows the cadence again.
    assert api.post(f"{DESK}/{maria.id}/resolve", "supervisor").status_code == 200
    assert [item["id"] for item in api.get(f"{DESK}/held").json()["items"]] == [pedro_chat.id]
    case = case_of(campaign.id, MARIA)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == now + timedelta(days=3)
    counters_agree_with_the_cases(campaign.id)


# --- 6. "PARAR" while a person has her: the desk answers only what she writes afterwards ---------------


def test_maria_saying_parar_while_a_person_has_her_stops_every_campaign_and_the_desk_only_answers_her_after(
    engine: Engine, api: Api
):
    march, april = maria_in_two_campaigns(engine)
    maria, conversation = maria_asks_for_a_person(engine)
    api.post(f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Oi Maria, sou a Ana."})
    assert queue(api)["waiting"] == 0

    # She answers the agent with PARAR: her opt-out holds in every campaign and is confirmed to her
    # even though a person holds the conversation (the desk may not write to her after it); nothing is
    # left waiting for the desk, and the agent reads it in the conversation he holds.
    engine.clock.set(at(MONDAY, 10, 30))
    maria.says("PARAR")
    confirmation = engine.evolution.texts_to(MARIA_PHONE)[-1]
    assert confirmation.startswith("Pronto: você não receberá mais mensagens de cobrança da TR Telecom.")
    assert queue(api)["waiting"] == 0
    assert [m["content"] for m in thread(api, conversation.id)[-2:]] == ["PARAR", confirmation]
    for campaign_id in (march, april):
        case = case_of(campaign_id, MARIA)
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT)
    counters_agree_with_the_cases(march, april)
    # Her identity was never confirmed: her phone opted out, not her CPF.
    optouts = api.get("/api/voice/optouts").json()
    assert [o["key"].split("#")[0] for o in optouts] == ["phone"]

    # The agent may not write to her on the desk's own initiative: the conversation says why, and a
    # reply (or a retry) is refused with nothing stored or sent.
    assert api.get(f"{DESK}/{conversation.id}").json()["replyBlockedReason"] == "opted_out"
    engine.clock.set(at(MONDAY, 11))
    before = thread(api, conversation.id)
    refused = api.post(f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Tudo bem, Maria?"})
    assert (refused.status_code, refused.json()["code"]) == (409, "opted_out"), refused.text
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == confirmation
    assert thread(api, conversation.id) == before

    # No campaign writes to her the next days either.
    business_day(engine, at(MONDAY + timedelta(days=1), 9))
    business_day(engine, at(MONDAY + timedelta(days=2), 9))
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == confirmation

    # Wednesday she writes again herself: the agent may answer her, and does.
    engine.clock.set(at(MONDAY + timedelta(days=2), 10))
    maria.says("pensei melhor, quero negociar a dívida com você")
    assert queue(api)["items"][0]["replyBlockedReason"] is None
    answered = api.post(
        f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Claro, Maria. Vamos ver juntas."}
    )
    assert answered.status_code == 201, answered.text
    assert engine.evolution.texts_to(MARIA_PHONE)[-1] == "Claro, Maria. Vamos ver juntas."
    assert queue(api)["waiting"] == 0
    for campaign_id in (march, april):  # her opt-out still stands for the campaigns
        assert case_of(campaign_id, MARIA).outcome is Outcome.OPTED_OUT


def test_maria_opted_out_by_cpf_at_the_isp_is_not_written_to_by_the_desk_but_her_promise_is_recorded(
    engine: Engine, api: Api
):
    march, april = maria_in_two_campaigns(engine)
    maria, conversation = maria_asks_for_a_person(engine)
    sent = engine.evolution.texts_to(MARIA_PHONE)

    # She calls the ISP and asks to be left alone: a supervisor records her CPF's opt-out (not her phone).
    engine.clock.set(at(MONDAY, 10, 5))
    stored = api.post("/api/voice/optouts", "supervisor", json={"clientDocument": MARIA, "reason": "ligou"})
    assert stored.status_code == 201, stored.text
    assert [o["key"].split("#")[0] for o in stored.json()] == ["document"]

    # Her WhatsApp message came before it: the desk does not write to her.
    [entry] = queue(api)["items"]
    assert entry["replyBlockedReason"] == "opted_out"
    refused = api.post(f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Oi Maria!"})
    assert (refused.status_code, refused.json()["code"]) == (409, "opted_out"), refused.text
    assert engine.evolution.texts_to(MARIA_PHONE) == sent

    # What she agreed on the phone is recorded from the desk all the same: nothing goes to her.
    promised = api.post(
        f"{DESK}/{conversation.id}/promises", "supervisor", json={"amount": "270,05", "dueDate": "2025-03-20"}
    )
    assert promised.status_code == 201, promised.text
    assert engine.evolution.texts_to(MARIA_PHONE) == sent
    for campaign_id in (march, april):
        case = case_of(campaign_id, MARIA)
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT)
    counters_agree_with_the_cases(march, april)


# --- 7. A call the desk's phone picks up: the person on the phone ends it on the dashboard -------------


def test_a_call_the_desk_picks_up_stays_held_until_someone_ends_it_under_em_atendimento(
    engine: Engine, api: Api, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HUMAN_AGENT_NUMBER", "+5511955554444")
    reset_settings()
    campaign = engine.campaign(
        contact_method=ContactMethod.VOICE, allowed_methods=[Channel.VOICE], follow_up_after_days=3
    )
    joao = engine.target(campaign, 72, client_name="João Lima", channel=Channel.VOICE)
    engine.clock.set(at(MONDAY, 10, tz=SAO_PAULO))
    [ringing] = ring(engine)
    call = Call(engine, ringing)
    call.says("quero falar com um atendente")
    handed = invoke("transferir_para_humano", {"motivo": "cliente pediu um atendente"}, call.ctx, CALL_TOOLS)
    assert handed.data["transferencia"] == "ligacao"
    warm_transfer.dial_finished(call.conversation.id, "completed", "240")  # a person answered the phone
    call.hang_up(duration=300)

    # Nobody waits in the queue (a person talked to him), but he is held: listed, with nobody assigned.
    assert queue(api)["waiting"] == 0
    business_day(engine, at(MONDAY + timedelta(days=3), 10, tz=SAO_PAULO))
    assert len(engine.twilio.calls_to("+" + joao.phone)) == 1
    [held] = api.get(f"{DESK}/held").json()["items"]
    assert (held["id"], held["assignee"]) == (call.conversation.id, None)
    assert held["heldSeconds"] == 3 * 24 * 3600

    # A supervisor ends it: the case follows the cadence.
    assert api.post(f"{DESK}/{call.conversation.id}/resolve", "supervisor").status_code == 200
    case = engine.get(joao)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == engine.clock.now() + timedelta(days=3)
    counters_agree_with_the_cases(campaign.id)


# --- 8. On the Cloud API the desk can write only inside the customer's 24 h window --------------------


def test_on_the_cloud_api_maria_asking_on_friday_evening_is_asked_to_write_again_when_the_desk_opens(
    engine: Engine, api: Api, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    reset_settings()
    campaign = engine.campaign()
    import_maria(engine, campaign.id)
    maria = Chat(MARIA_PHONE, "Maria")
    friday = MONDAY + timedelta(days=4)

    # Friday 19:00 she asks for a person: by Monday 08:00 her 24 h window is long closed, so the desk
    # could not write to her then; she is told to write again once it opens.
    engine.clock.set(at(friday, 19))
    maria.says("quero falar com um atendente")
    told = engine.evolution.texts_to(MARIA_PHONE)[-1]
    assert "segunda-feira" in told and "08:00" in told and "mande uma mensagem" in told
    monday = friday + timedelta(days=3)
    engine.clock.set(at(monday, 8, 30))
    assert queue(api)["items"][0]["replyBlockedReason"] == "whatsapp_window_closed"

    # Monday she writes: the window opens, the agent answers.
    maria.says("bom dia, estou aqui")
    assert queue(api)["items"][0]["replyBlockedReason"] is None
    conversation = maria_chat()
    reply = api.post(f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Bom dia, Maria!"})
    assert reply.status_code == 201, reply.text
    counters_agree_with_the_cases(campaign.id)

"""Whole journeys on the voice channel and its fallbacks, walked day by day on the virtual clock as a
collection team would watch them: the scheduler's ticks, the dialer placing real calls through the
Twilio simulator, Twilio's status callbacks through the post-call queue, and what the customer says on
the call going through the assistant's very tools (the voice bridge's conversation and transcript,
without the audio)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from infra.local.simulators.twilio import SimCall, signature_for
from shared.adapters import clients
from shared.core.jobs import InboundMessage
from shared.data import campaigns as campaigns_data
from shared.data import contact_log
from shared.data import conversations as conversations_data
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.models import (
    CampaignStatus,
    Channel,
    ContactMethod,
    Outcome,
    TargetState,
)
from shared.domain.phones import timezone_for_phone
from shared.engine import handoff, inbound, outreach, promise_monitor, upkeep
from tests.integration.engine.engine_world import TWILIO_TOKEN, WEBHOOK_BASE, Engine
from tests.integration.engine.journeys import Call, call_status, ring

MANAUS = timezone_for_phone("5592900000000")
SAO_PAULO = timezone_for_phone("5511900000000")


# --- the world's voice side ----------------------------------------------------------------------------


def _voice_campaign(engine: Engine, **overrides: object):
    fields: dict[str, object] = {
        "contact_method": ContactMethod.VOICE,
        "allowed_methods": [Channel.VOICE],
        "fallback_order": [Channel.VOICE],
    }
    return engine.campaign(**(fields | overrides))


def _amd(engine: Engine, call: SimCall, answered_by: str) -> None:
    params = engine.twilio.amd_params(call, answered_by)
    engine.sqs.send_message(QueueUrl=engine.urls["post_call"], MessageBody=json.dumps(params))
    assert engine.drain("post_call").failed == 0


def _tick_days(engine: Engine, days: int, at_utc_hour: int) -> None:
    """A tick every few hours of each day for `days` days (the cron), nothing drained but the queues."""
    for _ in range(days):
        engine.clock.advance(timedelta(days=1))
        day = engine.clock.now().date()
        for hour in range(at_utc_hour, at_utc_hour + 10, 3):
            engine.clock.set(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))
            engine.tick()
            engine.drain("dialer")
            engine.drain("whatsapp")


# --- 1. "vou ver" on the call: followed up in the customer's own window, inside the budget -------------


def test_a_customer_who_answers_and_will_see_is_called_again_in_his_own_window_until_exhausted(
    engine: Engine,
):
    campaign = _voice_campaign(engine, follow_up_after_days=3, max_contacts=2)
    # Monday 10/03, 21:50 UTC: 17:50 in Manaus (AM's window closes at 18:00), 18:50 in São Paulo.
    engine.clock.set(datetime(2025, 3, 10, 21, 50, tzinfo=UTC))
    manaus = engine.target(campaign, 1, ddd="92")
    paulista = engine.target(campaign, 2, ddd="11")

    placed = ring(engine)
    assert sorted(c.to for c in placed) == sorted(f"+{t.phone}" for t in (manaus, paulista))
    for call in placed:
        answered = Call(engine, call)
        target = answered.ctx.target
        assert target is not None
        answered.says(f"Sou eu, meu CPF é {target.document}")
        consulted = answered.tool("consultar_faturas_cpf", cpf_cnpj=target.document)
        assert consulted.ok and consulted.data["total_devido"] == "89.90"
        answered.says("Tá, vou ver e depois eu vejo isso")
        answered.hang_up(duration=95)

    for target in (manaus, paulista):
        stored = engine.get(target)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
        assert stored.contact_count == 1
        assert stored.next_attempt_at is not None
        assert stored.next_attempt_at - engine.clock.now() == timedelta(days=3)
    counts = targets_data.counts(campaign.id)
    assert (counts.get("contacted"), counts.get("responded"), counts.get("promised", 0)) == (2, 2, 0)

    # Two days on, nobody is called (the follow-up is not due).
    engine.clock.set(datetime(2025, 3, 12, 21, 55, tzinfo=UTC))
    assert ring(engine) == []

    # Thursday 13/03, 22:05 UTC: the follow-ups are due; 19:05 in São Paulo (open), 18:05 in Manaus (closed).
    engine.clock.set(datetime(2025, 3, 13, 22, 5, tzinfo=UTC))
    [called] = ring(engine)
    assert called.to == f"+{paulista.phone}"
    waiting = engine.get(manaus)
    assert waiting.state is TargetState.PENDING
    assert waiting.next_attempt_at == datetime(2025, 3, 14, 8, 0, tzinfo=MANAUS)  # Friday's opening, his zone

    engine.clock.set(datetime(2025, 3, 14, 12, 0, tzinfo=UTC))  # 08:00 in Manaus
    [follow_up] = ring(engine)
    assert follow_up.to == f"+{manaus.phone}"
    assert engine.get(manaus).contact_count == 2  # the follow-up call spends the budget

    again = Call(engine, follow_up)
    again.says(f"CPF {manaus.document}")
    again.says("vou ver, tá")
    again.hang_up(duration=60)
    ended = engine.get(manaus)
    assert (ended.state, ended.outcome, ended.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 2)
    assert "limite de 2 contato(s)" in (ended.outcome_details or "")
    assert len(engine.twilio.calls_to(f"+{manaus.phone}")) == 2  # never a third call


# --- 2. nobody answers: retries, the fallback, one budget, the last notice, exhausted ------------------


def test_unanswered_calls_retry_then_fall_back_to_whatsapp_inside_one_budget_and_end_exhausted(
    engine: Engine,
):
    campaign = engine.campaign(
        contact_method=ContactMethod.VOICE,
        allowed_methods=[Channel.VOICE, Channel.WHATSAPP],
        fallback_order=[Channel.VOICE, Channel.WHATSAPP],
        max_attempts_per_channel=2,
        max_contacts=3,
    )
    target = engine.target(campaign, 11, ddd="11")

    # Monday 09:00 in São Paulo: the first call reaches an answering machine, hung up, nothing said.
    [first] = ring(engine)
    _amd(engine, first, "machine_start")
    assert engine.twilio.hangups == [first.sid]
    call_status(engine, first, "completed", duration=12)  # Twilio's final status after it: changes nothing
    stored = engine.get(target)
    assert (stored.state, stored.outcome, stored.channel, stored.channel_attempts, stored.contact_count) == (
        TargetState.PENDING,
        Outcome.VOICEMAIL,
        Channel.VOICE,
        1,
        1,
    )

    # Its retry is due two hours later, but one contact a local day is the cap: tomorrow's opening.
    engine.clock.advance(timedelta(hours=2, minutes=5))
    assert ring(engine) == []
    deferred = engine.get(target)
    assert deferred.state is TargetState.PENDING
    assert deferred.next_attempt_at is not None and deferred.next_attempt_at.astimezone(SAO_PAULO).date() == (
        engine.clock.now().astimezone(SAO_PAULO).date() + timedelta(days=1)
    )

    # Tuesday: the second call is busy; the voice attempts are spent: WhatsApp next, on Wednesday (the cap).
    engine.clock.set(datetime(2025, 3, 11, 11, 5, tzinfo=UTC))
    [second] = ring(engine)
    call_status(engine, second, "busy")
    moved = engine.get(target)
    assert (moved.state, moved.channel, moved.channel_attempts, moved.contact_count) == (
        TargetState.PENDING,
        Channel.WHATSAPP,
        0,
        2,
    )
    engine.clock.advance(timedelta(minutes=10))
    engine.tick()
    engine.drain("whatsapp")
    assert engine.evolution.texts_to(target.phone) == []

    # Wednesday: the third and last contact is the last notice, on WhatsApp.
    engine.clock.set(datetime(2025, 3, 12, 11, 5, tzinfo=UTC))
    engine.tick()
    engine.drain("whatsapp")
    [last] = engine.evolution.texts_to(target.phone)
    assert "último contato" in last and "PARAR" in last and "89,90" not in last
    assert engine.get(target).contact_count == 3
    engine.delivered()

    # Nobody answers it either: the budget is spent, the case ends exhausted, the campaign by itself.
    engine.clock.advance(timedelta(hours=25))
    upkeep.run(campaign.id, engine.clock.now())
    ended = engine.get(target)
    assert (ended.state, ended.outcome, ended.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 3)
    _tick_days(engine, 3, at_utc_hour=11)
    assert len(engine.twilio.calls_to(f"+{target.phone}")) == 2
    assert len(engine.evolution.texts_to(target.phone)) == 1
    done = campaigns_data.get(campaign.id)
    assert done.status is CampaignStatus.COMPLETED and done.completed_at is not None
    counts = targets_data.counts(campaign.id)
    assert (counts.get("contacted"), counts.get("responded", 0)) == (1, 0)


# --- 3. a promise on the call: every case of the customer deferred, then broken -----------------------


def test_a_promise_made_on_the_call_defers_every_case_of_the_customer_until_it_is_broken(engine: Engine):
    voice = _voice_campaign(engine)
    chat = engine.campaign(name="Cobrança Abril")
    engine.clock.set(datetime(2025, 3, 10, 13, 0, tzinfo=UTC))  # Monday, 09:00 in Manaus
    called = engine.target(voice, 21, ddd="92")
    # The same customer in the WhatsApp campaign, due tomorrow.
    other = engine.target(chat, 21, ddd="92", next_attempt_at=engine.clock.now() + timedelta(days=1))

    [call] = ring(engine)
    answered = Call(engine, call)
    answered.says(f"Sim, sou eu. CPF {called.document}")
    assert answered.tool("consultar_faturas_cpf", cpf_cnpj=called.document).ok
    answered.says("Posso pagar na sexta, dia 14")
    promised = answered.tool(
        "registrar_promessa_pagamento",
        cpf_cnpj=called.document,
        data_prevista_pagamento="14/03/2025",
        valor_prometido=89.90,
        metodo_pagamento="pix",
    )
    assert promised.ok, promised.data
    answered.hang_up(duration=180)

    end_of_friday_in_manaus = datetime(2025, 3, 15, 0, 0, tzinfo=MANAUS)
    [promise] = promises_data.active_for_document(called.document, engine.clock.now())
    assert promise.amount == Decimal("89.90") and isinstance(promise.amount, Decimal)
    assert promise.due_at == end_of_friday_in_manaus - timedelta(milliseconds=1)
    for case in (called, other):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE), case.campaign_id
        assert stored.next_attempt_at is not None and stored.next_attempt_at >= end_of_friday_in_manaus
    counts = targets_data.counts(voice.id)
    assert (counts.get("contacted"), counts.get("responded"), counts.get("promised")) == (1, 1, 1)

    # Tuesday to Friday, the cron ticks all day: no call, no message to him in any campaign.
    _tick_days(engine, 4, at_utc_hour=12)
    assert len(engine.twilio.calls_to(f"+{called.phone}")) == 1
    assert engine.evolution.texts_to(called.phone) == []

    # Seven days after the promised day, nothing paid: the monitor breaks it; both cases are back.
    engine.clock.set(datetime(2025, 3, 22, 13, 0, tzinfo=UTC))  # Saturday 22/03, 09:00 in Manaus
    checked = promise_monitor.check(promise.id, clients.crm())
    assert checked.result is promise_monitor.CheckResult.BROKEN
    for case in (called, other):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)

    # The next contact: one, whatever the campaigns (one a local day), and it says the promise was broken.
    engine.clock.set(datetime(2025, 3, 24, 13, 0, tzinfo=UTC))  # Monday 09:00 in Manaus
    engine.tick()
    engine.drain("dialer")
    engine.drain("whatsapp")
    calls_now = engine.twilio.calls_to(f"+{called.phone}")
    texts_now = engine.evolution.texts_to(called.phone)
    assert len(calls_now) - 1 + len(texts_now) == 1
    if texts_now:
        assert "Não identificamos o pagamento combinado" in texts_now[0]


# --- 4. "não me ligue mais": opted out everywhere, for good --------------------------------------------


def test_an_opt_out_said_on_the_call_ends_every_case_of_the_customer_and_of_the_phone(engine: Engine):
    voice = _voice_campaign(engine)
    chat = engine.campaign(name="Cobrança Abril")
    called = engine.target(voice, 31)
    # The same customer in another campaign, and his wife's case on the same phone.
    other = engine.target(chat, 31, next_attempt_at=engine.clock.now() + timedelta(days=1))
    shared_phone = engine.target(
        chat, 32, phone=called.phone, next_attempt_at=engine.clock.now() + timedelta(days=1)
    )

    [call] = ring(engine)
    answered = Call(engine, call)
    answered.says(f"Sou eu, CPF {called.document}")
    assert answered.tool("consultar_faturas_cpf", cpf_cnpj=called.document).ok
    answered.says("Não me ligue mais, não quero mais receber essas ligações")
    assert answered.tool("registrar_opt_out", motivo="não me ligue mais").ok
    answered.hang_up(duration=40)

    for case in (called, other, shared_phone):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT), case.client_name

    _tick_days(engine, 6, at_utc_hour=12)
    assert len(engine.twilio.calls) == 1
    assert engine.evolution.texts_to(called.phone) == []

    # A new campaign importing him later never contacts him either.
    engine.clock.set(datetime(2025, 3, 17, 13, 0, tzinfo=UTC))  # Monday, 10:00 in São Paulo
    later = engine.campaign(name="Cobrança Maio")
    again = engine.target(later, 31)
    engine.tick()
    engine.drain("whatsapp")
    engine.drain("dialer")
    assert engine.evolution.texts_to(called.phone) == [] and len(engine.twilio.calls) == 1
    assert (engine.get(again).state, engine.get(again).outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT)


# --- 5. the wrong person answers: nothing disclosed, and the number is left alone ---------------------


def test_a_call_answered_by_the_wrong_person_discloses_nothing_and_moves_contact_to_the_next_phone(
    engine: Engine,
):
    campaign = _voice_campaign(engine, follow_up_after_days=3)
    first_phone, second_phone = "5511987650041", "5511987650042"
    target = engine.target(campaign, 41, phone=first_phone, phones=[first_phone, second_phone])

    [call] = ring(engine)
    assert call.to == f"+{first_phone}"
    answered = Call(engine, call)
    answered.says("Alô? Não, aqui não tem nenhum Cliente 41, você ligou errado")
    # Whatever the model tries, the debt is not disclosed to someone who never gave the document.
    refused = answered.tool("consultar_faturas_cpf", cpf_cnpj=target.document)
    assert not refused.ok and "total_devido" not in refused.data
    assert answered.tool("numero_errado", motivo="não conhece o cliente").ok
    answered.hang_up(duration=25)

    conversation = conversations_data.get(answered.conversation.id)
    assert conversation.disclosures == [] and not conversation.identity_confirmed
    stored = engine.get(target)
    assert stored.phone == second_phone and stored.state is TargetState.PENDING
    assert stored.outcome is Outcome.WRONG_NUMBER
    assert stored.next_attempt_at is not None
    assert stored.next_attempt_at < engine.clock.now() + timedelta(days=1)  # not a follow-up days later
    # A stranger picking up is not the customer responding.
    assert targets_data.counts(campaign.id).get("responded", 0) == 0

    # The next local day's opening, the customer's other phone is called; the wrong one never again.
    engine.clock.set(datetime(2025, 3, 11, 12, 0, tzinfo=UTC))
    [next_call] = ring(engine)
    assert next_call.to == f"+{second_phone}"

    # There the customer himself answers and will see: that is his engagement, followed up as any.
    his = Call(engine, next_call)
    his.says(f"Sou eu, CPF {target.document}")
    assert his.tool("consultar_faturas_cpf", cpf_cnpj=target.document).ok
    his.says("vou ver")
    his.hang_up(duration=50)
    followed = engine.get(target)
    assert (followed.state, followed.outcome, followed.contact_count) == (
        TargetState.PENDING,
        Outcome.ANSWERED,
        2,
    )
    assert followed.next_attempt_at == engine.clock.now() + timedelta(days=3)
    assert targets_data.counts(campaign.id).get("responded") == 1

    _tick_days(engine, 5, at_utc_hour=12)
    assert len(engine.twilio.calls_to(f"+{first_phone}")) == 1


# --- 6. the frequency cap: one contact a local day, three a week, across campaigns and channels ---------


def test_one_customer_in_three_campaigns_gets_at_most_one_contact_a_local_day_and_three_a_week(
    engine: Engine,
):
    acre = timezone_for_phone("5568900000000")  # UTC-5: its evening is the next day in UTC
    campaigns = [
        _voice_campaign(engine, name="Voz", max_attempts_per_channel=5),
        engine.campaign(name="WhatsApp A", max_attempts_per_channel=5),
        engine.campaign(
            name="Voz e WhatsApp",
            contact_method=ContactMethod.VOICE,
            fallback_order=[Channel.VOICE, Channel.WHATSAPP],
            max_attempts_per_channel=5,
        ),
    ]
    engine.clock.set(datetime(2025, 3, 10, 15, 0, tzinfo=acre))  # Monday 15:00 in Rio Branco
    cases = [engine.target(campaign, 51, ddd="68") for campaign in campaigns]
    phone = cases[0].phone

    contacts: list[datetime] = []
    start = engine.clock.now()
    while engine.clock.now() < start + timedelta(days=9):
        calls_before, texts_before = len(engine.twilio.calls), len(engine.evolution.sent)
        for call in ring(engine):
            call_status(engine, call, "no-answer")
        engine.drain("whatsapp")
        upkeep.run(campaigns[1].id, engine.clock.now())
        new = len(engine.twilio.calls) - calls_before + len(engine.evolution.sent) - texts_before
        contacts.extend([engine.clock.now()] * new)
        engine.clock.advance(timedelta(hours=1, minutes=30))

    assert len(engine.twilio.calls_to(f"+{phone}")) + len(engine.evolution.texts_to(phone)) == len(contacts)
    local_days = [at.astimezone(acre).date() for at in contacts]
    assert len(local_days) == len(set(local_days)), local_days  # never two on one local day
    for at in contacts:
        assert 8 <= at.astimezone(acre).hour < 20 and at.astimezone(acre).isoweekday() != 7
        assert sum(1 for other in contacts if at - timedelta(days=7) < other <= at) <= 3
    assert len(contacts) >= 4  # the cap paces him, it does not stop him
    assert sum(engine.get(case).contact_count for case in cases) == len(contacts)


# --- "já paguei" on the call: the customer is quiet in every campaign, then the CRM decides -----------


def test_a_payment_claimed_on_the_call_quiets_the_customer_everywhere_until_the_crm_shows_it(engine: Engine):
    voice = _voice_campaign(engine)
    chat = engine.campaign(name="Cobrança Abril")
    called = engine.target(voice, 81)
    other = engine.target(chat, 81, next_attempt_at=engine.clock.now() + timedelta(days=1))

    [call] = ring(engine)
    answered = Call(engine, call)
    answered.says(f"Sou eu, CPF {called.document}. Eu já paguei ontem")
    claimed = answered.tool("atualizar_status_cobranca", cpf_cnpj=called.document, novo_status="paid")
    assert claimed.ok and claimed.data["status"] == "payment_claimed"
    answered.hang_up(duration=70)
    for case in (called, other):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PAYMENT_CLAIMED)

    # Two days of ticks: nobody contacts him; then the payment shows in the CRM.
    _tick_days(engine, 2, at_utc_hour=12)
    assert len(engine.twilio.calls) == 1 and engine.evolution.texts_to(called.phone) == []
    engine.crm.pay_all(called.document)

    # Once the quiet days are over, the CRM is asked again: both cases end paid, without a contact.
    _tick_days(engine, 2, at_utc_hour=12)
    assert len(engine.twilio.calls) == 1 and engine.evolution.texts_to(called.phone) == []
    for case in (called, other):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    for campaign in (voice, chat):
        engine.tick()
        assert campaigns_data.get(campaign.id).status is CampaignStatus.COMPLETED


# --- WhatsApp first, the call as the fallback, and the follow-up ----------------------------------------


def test_an_undelivered_whatsapp_falls_back_to_a_call_whose_vou_ver_is_followed_up_in_the_budget(
    engine: Engine,
):
    campaign = engine.campaign(
        contact_method=ContactMethod.WHATSAPP_FALLBACK,
        fallback_order=[Channel.WHATSAPP, Channel.VOICE],
        max_attempts_per_channel=1,
        follow_up_after_days=2,
        max_contacts=3,
    )
    target = engine.target(campaign, 91, ddd="92")
    engine.clock.set(datetime(2025, 3, 10, 9, 0, tzinfo=MANAUS))
    engine.tick()
    engine.drain("whatsapp")
    assert len(engine.evolution.texts_to(target.phone)) == 1  # never delivered: no receipt comes

    engine.clock.advance(timedelta(hours=7))  # past the delivery deadline: on to a call, tomorrow (the cap)
    engine.tick()
    engine.drain("dialer")
    moved = engine.get(target)
    assert (moved.state, moved.channel, moved.outcome) == (
        TargetState.PENDING,
        Channel.VOICE,
        Outcome.NOT_DELIVERED,
    )
    assert engine.twilio.calls == {}

    engine.clock.set(datetime(2025, 3, 11, 9, 0, tzinfo=MANAUS))
    [call] = ring(engine)
    answered = Call(engine, call)
    answered.says(f"CPF {target.document}")
    assert answered.tool("consultar_faturas_cpf", cpf_cnpj=target.document).ok
    answered.says("vou ver")
    answered.hang_up(duration=80)
    stored = engine.get(target)
    assert (stored.state, stored.outcome, stored.contact_count) == (TargetState.PENDING, Outcome.ANSWERED, 2)
    assert stored.next_attempt_at == engine.clock.now() + timedelta(days=2)

    # The follow-up, two days later, is the budget's last contact; unanswered, the case is exhausted.
    engine.clock.set(datetime(2025, 3, 13, 9, 30, tzinfo=MANAUS))
    [last] = ring(engine)
    call_status(engine, last, "no-answer")
    ended = engine.get(target)
    assert (ended.state, ended.outcome, ended.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 3)
    _tick_days(engine, 3, at_utc_hour=12)
    assert len(engine.twilio.calls) == 2 and len(engine.evolution.texts_to(target.phone)) == 1


# --- an opt-out while the phone rings: the answered call is not a collection call any more --------------


def test_a_call_answered_after_the_customer_opted_out_while_it_rang_says_goodbye_and_hangs_up(engine: Engine):
    from fastapi.testclient import TestClient

    from functions.api.app import create_app

    campaign = engine.campaign(
        contact_method=ContactMethod.VOICE,
        allowed_methods=[Channel.VOICE, Channel.WHATSAPP],
        fallback_order=[Channel.VOICE, Channel.WHATSAPP],
    )
    target = engine.target(campaign, 95)
    [call] = ring(engine)
    # While it rings, he answers an earlier WhatsApp chat with "PARAR".
    inbound.handle(
        InboundMessage(
            message_id="3EB0PARAR0001",
            remote_jid=f"{target.phone}@s.whatsapp.net",
            phone=target.phone,
            text="PARAR",
        )
    )
    assert (engine.get(target).state, engine.get(target).outcome) == (
        TargetState.COMPLETED,
        Outcome.OPTED_OUT,
    )

    params = {"AccountSid": engine.twilio.account_sid, "CallSid": call.sid, "CallStatus": "in-progress"}
    signature = signature_for(call.url, params, TWILIO_TOKEN)
    with TestClient(create_app()) as api:
        answered = api.post(
            call.url.removeprefix(WEBHOOK_BASE), data=params, headers={"X-Twilio-Signature": signature}
        )

    assert answered.status_code == 200
    twiml = ET.fromstring(answered.text)
    assert twiml.find("Connect") is None and twiml.find("Hangup") is not None  # no assistant, no debt
    call_status(engine, call, "completed", duration=4)
    assert (engine.get(target).state, engine.get(target).outcome) == (
        TargetState.COMPLETED,
        Outcome.OPTED_OUT,
    )


# --- a dialer that died after claiming the call: no double call, and no case left behind ---------------


def test_a_call_whose_delivery_is_unknown_is_not_repeated_that_day_and_is_retried_the_next(engine: Engine):
    campaign = _voice_campaign(engine)
    target = engine.scheduled(campaign, 97, channel=Channel.VOICE)
    # The worker claimed the call (and may have dialed) and died before recording the CallSid.
    targets_data.transition(
        target.id,
        [TargetState.SCHEDULED],
        TargetState.CALLING,
        attempt_count=1,
        last_attempt_at=engine.clock.now(),
        outcome_details=outreach.sending_marker(Channel.VOICE, 1),
    )
    now = engine.clock.now()  # its contact slot was taken before dialing
    assert contact_log.reserve_contact(
        target.document, now, now.astimezone(SAO_PAULO).date(), 1, Channel.VOICE, target.id
    )
    engine.clock.advance(timedelta(minutes=10))
    engine.drain("dialer")  # the job's redelivery finds the claim unrecorded

    for _ in range(4):  # the rest of the day: nothing (the day's contact may have happened)
        engine.clock.advance(timedelta(hours=2))
        assert ring(engine) == []
    engine.clock.set(datetime(2025, 3, 11, 12, 0, tzinfo=UTC))
    [retry] = ring(engine)
    assert retry.to == f"+{target.phone}"
    assert engine.get(target).state is TargetState.CALLING and engine.get(target).call_sid == retry.sid


# --- the desk lets go of a transferred call before the call's end is processed --------------------------


def test_a_call_the_desk_resolved_before_its_end_was_processed_follows_the_cadence(engine: Engine):
    campaign = _voice_campaign(engine, follow_up_after_days=3)
    target = engine.target(campaign, 61)
    [call] = ring(engine)
    answered = Call(engine, call)
    answered.says(f"Sou eu, CPF {target.document}")
    assert answered.tool("consultar_faturas_cpf", cpf_cnpj=target.document).ok
    answered.says("quero falar com um atendente")
    assert answered.tool("transferir_para_humano", motivo="cliente pediu um atendente").ok
    assert engine.get(target).outcome is Outcome.TRANSFERRED

    handoff.resolve(answered.conversation.id, by="agente@isp")  # the person at the desk was quick
    answered.hang_up(duration=180)  # Twilio's completed, processed after

    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert stored.next_attempt_at == engine.clock.now() + timedelta(days=3)

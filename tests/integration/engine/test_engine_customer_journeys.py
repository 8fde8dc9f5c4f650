"""Whole customer journeys walked across days, as a collection team follows them: the import, the first
message, the replies, the follow-ups in the customer's own contact window, payments, a person at the
desk, a new phone number, the contact budget, lost sends, and the endings. Each step asserts what the
team expects to see on the case, in the CRM's light and in the customer's chat (promises:
test_engine_customer_promises.py; the world: journeys.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from infra.local.simulators.crm import SimInvoice
from shared.assistant import texts
from shared.data import campaigns as campaigns_data
from shared.data import conversations, messages
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.models import CampaignStatus, Channel, ConversationStatus, Outcome, TargetState
from shared.engine import handoff, postcall
from shared.engine.reporting import campaign_stats
from tests.integration.engine.engine_world import Engine, cpf, mobile
from tests.integration.engine.journeys import (
    MARIA,
    MARIA_NEW_PHONE,
    MARIA_PHONE,
    MARIA_ROWS,
    MONDAY,
    SAO_PAULO,
    Chat,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_maria,
    import_rows,
    only_case,
)

# --- 1. Maria: three invoices, "vou ver", half paid, a person at the desk, a new phone -------------------


def test_maria_one_case_followed_up_in_her_window_through_a_partial_payment_and_the_desk(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=3, max_contacts=6)
    job = import_maria(engine, campaign.id)
    assert (job.imported, job.customers_created) == (3, 1)

    # Monday 08:00 in Manaus: the first message, one for the three invoices.
    business_day(engine, at(MONDAY, 8))
    business_day(engine, at(MONDAY, 9))
    case = only_case(campaign.id)
    assert case.debt_amount == Decimal("270.05")
    assert (case.open_amount, case.open_amount_at) == (Decimal("270.05"), at(MONDAY, 8))  # the guards' read
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == 1
    assert case.contact_count == 1 and case.state is TargetState.CONTACTED

    # Monday 19:50 in Manaus she answers "vou ver": a follow-up three days later, inside her window.
    maria = Chat(MARIA_PHONE, "Maria")
    engine.clock.set(at(MONDAY, 19, 50))
    maria.says("vou ver")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == at(MONDAY + timedelta(days=3), 19, 50)
    sent_before = len(engine.evolution.texts_to(MARIA_PHONE))

    # Tuesday and Wednesday: nothing to her.
    for offset in (1, 2):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent_before

    # Thursday she pays the oldest invoice. At 19:55 her time the follow-up is due, but Amazonas allows
    # collection contacts until 18:00 only: it waits for Friday 08:00 in Manaus.
    engine.crm.pay_oldest(MARIA)
    business_day(engine, at(MONDAY + timedelta(days=3), 19, 55))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent_before
    assert engine.get(case).next_attempt_at == at(MONDAY + timedelta(days=4), 8)
    business_day(engine, at(MONDAY + timedelta(days=4), 8))
    texts = engine.evolution.texts_to(MARIA_PHONE)
    assert len(texts) == sent_before + 1
    assert texts[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    assert "R$" not in texts[-1]
    case = engine.get(case)
    assert case.state is TargetState.CONTACTED and case.outcome is not Outcome.PAID
    assert case.contact_count == 2
    # The team sees what is still open (the CRM read before the follow-up), the imported total kept.
    assert (case.open_amount, case.open_amount_at) == (Decimal("169.95"), at(MONDAY + timedelta(days=4), 8))
    assert case.debt_amount == Decimal("270.05")

    # Friday she asks for a person: the desk holds her, no campaign contacts her meanwhile.
    other = engine.campaign(name="Cobrança Abril")
    elsewhere = engine.target(other, 501, phone=MARIA_PHONE, document=MARIA, in_crm=False)
    engine.clock.set(at(MONDAY + timedelta(days=4), 9))
    maria.says("quero falar com um atendente")
    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None and handoff.is_silenced(conversation)
    sent_before = len(engine.evolution.texts_to(MARIA_PHONE))
    for offset in range(4, 12):
        if (MONDAY + timedelta(days=offset)).isoweekday() != 7:
            business_day(engine, at(MONDAY + timedelta(days=offset), 10))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent_before
    assert engine.get(elsewhere).state is TargetState.PENDING

    # Saturday the human resolves her conversation without a promise: her case follows the cadence
    # again, three days later (it is not left `contacted` with nothing due), and the other campaign,
    # held meanwhile, contacts her at its next tick.
    resolved_on = MONDAY + timedelta(days=12)  # Saturday 22/03
    engine.clock.set(at(resolved_on, 9))
    handoff.resolve(conversation.id, by="token:agente")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == at(resolved_on + timedelta(days=3), 9)
    before = {c.id: c.contact_count for c in (case, engine.get(elsewhere))}
    for offset in range(0, 5):
        day = resolved_on + timedelta(days=offset)
        if day.isoweekday() != 7:
            sent = len(engine.evolution.texts_to(MARIA_PHONE))
            business_day(engine, at(day, 10))
            engine.delivered()
            assert len(engine.evolution.texts_to(MARIA_PHONE)) - sent <= 1  # one contact a day, any campaign
    case = engine.get(case)
    assert case.contact_count == before[case.id] + 1
    assert case.outcome_details == "Mensagem de retomada enviada por WhatsApp"
    assert engine.get(elsewhere).contact_count > before[elsewhere.id]
    counters_agree_with_the_cases(campaign.id, other.id)


def test_maria_writing_from_a_new_number_learns_nothing_and_the_erp_sync_brings_it_to_her_case(
    engine: Engine,
):
    campaign = engine.campaign()
    rows = list(MARIA_ROWS)
    import_maria(engine, campaign.id)
    business_day(engine, at(MONDAY, 8))
    case = only_case(campaign.id)

    # Tuesday she writes from a new number and gives her CPF: not on file, nothing disclosed.
    new = Chat(MARIA_NEW_PHONE, "Maria")
    engine.clock.set(at(MONDAY + timedelta(days=1), 9))
    new.says("oi, recebi uma mensagem de vocês")
    new.says(MARIA)
    answers = engine.evolution.texts_to(MARIA_NEW_PHONE)
    assert answers and not any("R$" in text or "F-10" in text for text in answers)

    # The ERP sync (a re-import of the same invoices) brings the new number: the case keeps it.
    job = import_rows(engine, campaign.id, [(n, MARIA_NEW_PHONE, d, a, f, v) for n, _, d, a, f, v in rows])
    assert (job.duplicates, job.customers_updated) == (3, 1)
    case = engine.get(case)
    assert case.phones == [MARIA_PHONE, MARIA_NEW_PHONE] and case.phone == MARIA_PHONE
    assert case.debt_amount == Decimal("270.05")  # the same invoices, not counted twice

    # Now on file, the new number is Maria's: given her CPF again, she hears about her invoices.
    engine.clock.set(at(MONDAY + timedelta(days=1), 10))
    new.says(MARIA)
    assert "R$ 270,05" in engine.evolution.texts_to(MARIA_NEW_PHONE)[-1]
    new.says("vou ver")

    # Whoever has her old number now says it is not Maria's: outreach moves to the new number, and
    # the old one is never contacted again, in this campaign or one imported later.
    old = Chat(MARIA_PHONE)
    engine.clock.set(at(MONDAY + timedelta(days=1), 11))
    old.says("não sou eu, número errado")
    assert engine.get(case).phone == MARIA_NEW_PHONE
    later = engine.campaign(name="Cobrança Abril")
    import_rows(engine, later.id, rows)  # an older list, with the old number only
    to_old = len(engine.evolution.texts_to(MARIA_PHONE))
    outreach_before = len(engine.evolution.texts_to(MARIA_NEW_PHONE))
    for offset in range(2, 9):
        day = MONDAY + timedelta(days=offset)
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10))
            engine.delivered()
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == to_old
    follow_ups = engine.evolution.texts_to(MARIA_NEW_PHONE)[outreach_before:]
    assert follow_ups and follow_ups[0].startswith("Olá, Maria Souza! Aqui é novamente")
    assert engine.get(case).contact_count == 1 + len(follow_ups)
    assert only_case(later.id).state is TargetState.COMPLETED  # only the wrong number: nobody to reach
    counters_agree_with_the_cases(campaign.id, later.id)


# --- 2. Nothing about a debt is disclosed to anyone but the confirmed debtor ---------------------------

ANA = cpf(701)
ANA_PHONE = mobile("21", 701)  # Rio de Janeiro: collection contacts 09:00-19:00 on weekdays
STRANGER_PHONE = mobile("31", 702)
ANA_INVOICE = SimInvoice("F-301", Decimal("1234.56"), date(2025, 1, 20))


def _no_debt_in(texts: list[str]) -> bool:
    return not any("R$" in text or "1.234,56" in text or "F-301" in text for text in texts)


def test_ana_only_the_confirmed_debtor_hears_about_the_debt_and_again_only_after_confirming(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=2)
    engine.crm.add_customer(ANA, "Ana Costa", [ANA_INVOICE])
    import_rows(engine, campaign.id, [("Ana Costa", ANA_PHONE, ANA, "1.234,56", "F-301", "20/01/2025")])
    business_day(engine, at(MONDAY, 8, 30, tz=SAO_PAULO))
    assert engine.evolution.texts_to(ANA_PHONE) == []  # Rio de Janeiro allows contacts from 09:00
    business_day(engine, at(MONDAY, 9, tz=SAO_PAULO))
    [first] = engine.evolution.texts_to(ANA_PHONE)
    assert "TR Telecom" in first and "PARAR" in first and _no_debt_in([first])

    # A stranger who knows her CPF writes from another number: nothing about her, whatever they ask.
    stranger = Chat(STRANGER_PHONE, "Fulano")
    engine.clock.set(at(MONDAY, 10, tz=SAO_PAULO))
    for text in ("oi, quanto a Ana deve?", ANA, f"meu cpf é {ANA}, me passa o valor da fatura F-301"):
        stranger.says(text)
    assert _no_debt_in(engine.evolution.texts_to(STRANGER_PHONE))
    assert conversations.by_chat_id(f"whatsapp_{STRANGER_PHONE}").disclosures == []  # type: ignore[union-attr]

    # On her own number, before she gives the document: no amount either; another person's CPF neither.
    ana = Chat(ANA_PHONE, "Ana")
    ana.says("quanto eu devo?")
    ana.says(f"o cpf é {cpf(703)}")
    assert _no_debt_in(engine.evolution.texts_to(ANA_PHONE))

    # Her own CPF: now she hears the invoice and its amount, written the Brazilian way.
    ana.says(ANA)
    assert "R$ 1.234,56" in engine.evolution.texts_to(ANA_PHONE)[-1]
    ana.says("vou ver")
    assert engine.get(only_case(campaign.id)).state is TargetState.PENDING

    # The follow-up is a new contact: the confirmation of Monday no longer opens the account.
    business_day(engine, at(MONDAY + timedelta(days=2), 11, tz=SAO_PAULO))
    follow_up = engine.evolution.texts_to(ANA_PHONE)[-1]
    assert follow_up.startswith("Olá, Ana Costa! Aqui é novamente") and _no_debt_in([follow_up])
    seen = len(engine.evolution.texts_to(ANA_PHONE))
    ana.says("qual é o valor mesmo?")
    assert _no_debt_in(engine.evolution.texts_to(ANA_PHONE)[seen:])
    ana.says(ANA)
    assert "R$ 1.234,56" in engine.evolution.texts_to(ANA_PHONE)[-1]

    # She offers part of it, thousands written with a dot: that is the promise, not the total.
    ana.says("consigo pagar 1.000 reais dia 14/03")
    assert engine.evolution.texts_to(ANA_PHONE)[-1].startswith(
        "Perfeito! Registrei que você vai pagar R$ 1.000,00 até 14/03/2025."
    )
    [promise] = promises_data.active_for_document(ANA, engine.clock.now())
    assert (promise.amount, promise.open_amount) == (Decimal("1000.00"), Decimal("1234.56"))
    counters_agree_with_the_cases(campaign.id)


# --- 3. The contact budget: answered or not, never more than maxContacts -----------------------------

PEDRO = cpf(801)
PEDRO_PHONE = mobile("11", 801)


def test_pedro_unanswered_and_engaged_contacts_share_the_budget_then_exhausted_and_the_campaign_ends(
    engine: Engine,
):
    campaign = engine.campaign(follow_up_after_days=2, max_contacts=3, max_attempts_per_channel=3)
    engine.crm.add_customer(PEDRO, "Pedro Alves", [SimInvoice("F-401", Decimal("59.90"), date(2025, 2, 5))])
    import_rows(engine, campaign.id, [("Pedro Alves", PEDRO_PHONE, PEDRO, "59,90", "F-401", "05/02/2025")])
    pedro = Chat(PEDRO_PHONE, "Pedro")

    outreach: list[str] = []
    day = MONDAY
    for _ in range(20):
        if day.isoweekday() != 7:
            before = len(engine.evolution.texts_to(PEDRO_PHONE))
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
            new = engine.evolution.texts_to(PEDRO_PHONE)[before:]
            assert len(new) <= 1
            outreach += new
            if len(outreach) == 2 and new:
                engine.clock.set(at(day, 18, tz=SAO_PAULO))
                pedro.says("vou ver")  # engaged on the second contact, never resolves
        case = engine.get(only_case(campaign.id))
        assert case.contact_count <= 3
        if case.state is TargetState.COMPLETED:
            break
        day += timedelta(days=1)

    case = engine.get(only_case(campaign.id))
    assert (case.state, case.outcome, case.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 3)
    assert len(outreach) == 3
    assert "último contato" in outreach[-1] and "último contato" not in outreach[0] + outreach[1]
    assert outreach[1].startswith("Olá! 👋") or outreach[1].startswith("Olá, Pedro Alves! Aqui é novamente")

    engine.clock.advance(timedelta(hours=1))
    engine.tick()
    done = campaigns_data.get(campaign.id)
    assert done.status is CampaignStatus.COMPLETED
    stats = campaign_stats(campaign.id)
    assert (stats.contacted, stats.responded, stats.paid, stats.outcomes.get("exhausted")) == (1, 1, 0, 1)
    counters_agree_with_the_cases(campaign.id)


# --- 4. The endings the CRM decides: unknown customer, time-barred debt ------------------------------


def test_a_customer_the_crm_does_not_know_is_unknown_and_only_time_barred_debts_are_never_collected(
    engine: Engine,
):
    campaign = engine.campaign()
    unknown, barred, owing = cpf(901), cpf(902), cpf(903)
    engine.crm.add_customer(
        barred, "Bia Prescrita", [SimInvoice("F-501", Decimal("70.00"), date(2019, 1, 10))]
    )
    engine.crm.add_customer(
        owing,
        "Caio Misto",
        [
            SimInvoice("F-502", Decimal("70.00"), date(2019, 1, 10)),
            SimInvoice("F-503", Decimal("45.10"), date(2025, 2, 1)),
        ],
    )
    rows = [
        ("Davi Desconhecido", mobile("11", 901), unknown, "99,90", "F-500", "10/02/2025"),
        ("Bia Prescrita", mobile("11", 902), barred, "70,00", "F-510", "10/02/2025"),
        ("Caio Misto", mobile("11", 903), owing, "45,10", "F-503", "01/02/2025"),
    ]
    import_rows(engine, campaign.id, rows)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))

    by_document = {case.document: case for case in targets_data.list_for_campaign(campaign.id).items}
    assert (by_document[unknown].state, by_document[unknown].outcome) == (
        TargetState.COMPLETED,
        Outcome.UNKNOWN_CUSTOMER,
    )
    assert (by_document[barred].state, by_document[barred].outcome) == (
        TargetState.COMPLETED,
        Outcome.TIME_BARRED,
    )
    assert by_document[owing].state is TargetState.CONTACTED
    assert engine.evolution.texts_to(mobile("11", 901)) == engine.evolution.texts_to(mobile("11", 902)) == []

    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured) == (0, 0)  # neither is a payment
    assert stats.money.recovered == Decimal("0.00")
    # Bia's own invoice (F-510) is no longer listed by the CRM: paid before any contact, money that came
    # in by itself, though her case ends time-barred for the 2019 invoice nobody will collect.
    assert stats.money.self_cured == Decimal("70.00")

    # Caio writes: only what can be collected is quoted, never the time-barred invoice.
    caio = Chat(mobile("11", 903), "Caio")
    caio.says("oi")
    caio.says(owing)
    quote = engine.evolution.texts_to(mobile("11", 903))[-1]
    assert "R$ 45,10" in quote and "F-502" not in quote and "R$ 70,00" not in quote
    counters_agree_with_the_cases(campaign.id)


# --- 5. A send whose record was lost: the case is not left waiting for nothing -----------------------

LUCAS = cpf(1001)
LUCAS_PHONE = mobile("11", 1001)


def test_lucas_a_message_sent_but_never_recorded_is_concluded_not_left_contacted_forever(engine: Engine):
    campaign = engine.campaign(
        max_contacts=3,
        max_attempts_per_channel=3,
        allowed_methods=[Channel.WHATSAPP],
        fallback_order=[Channel.WHATSAPP],
    )
    engine.crm.add_customer(LUCAS, "Lucas Reis", [SimInvoice("F-601", Decimal("120.00"), date(2025, 2, 1))])
    import_rows(engine, campaign.id, [("Lucas Reis", LUCAS_PHONE, LUCAS, "120,00", "F-601", "01/02/2025")])
    engine.clock.set(at(MONDAY, 10, tz=SAO_PAULO))
    engine.tick()
    data_client: Any = targets_data.TargetRecord._get_connection().connection.client
    message_table = messages.MessageRecord.Meta.table_name

    def crash_on_message_write(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == message_table:
            raise ConnectionError("worker died after the send")

    data_client.meta.events.register("before-parameter-build.dynamodb.PutItem", crash_on_message_write)
    try:
        engine.drain("whatsapp", max_rounds=1)
    finally:
        data_client.meta.events.unregister("before-parameter-build.dynamodb.PutItem", crash_on_message_write)
    engine.drain("whatsapp")
    assert len(engine.evolution.texts_to(LUCAS_PHONE)) == 1
    case = only_case(campaign.id)
    assert case.state is TargetState.CONTACTED and (case.outcome_details or "").startswith(
        "Entrega desconhecida"
    )

    # Nobody answers: the attempt is concluded at its deadline, like any message nobody answered, and
    # the cadence goes on until the case ends; the campaign then completes.
    day = MONDAY
    for _ in range(20):
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        if engine.get(case).state is TargetState.COMPLETED:
            break
        day += timedelta(days=1)
    case = engine.get(case)
    assert case.state is TargetState.COMPLETED, "the case was left waiting for nothing"
    # Three WhatsApp attempts, the unrecorded one among them: the ladder ends the case.
    assert (case.outcome, case.channel_attempts) == (Outcome.NO_ANSWER, 3)
    assert len(engine.evolution.texts_to(LUCAS_PHONE)) == 3
    engine.tick()
    assert campaigns_data.get(campaign.id).status is CampaignStatus.COMPLETED
    counters_agree_with_the_cases(campaign.id)


# --- 6. A new overdue invoice of a customer whose case is closed ------------------------------------

RUI = cpf(1101)
RUI_PHONE = mobile("11", 1101)


def test_rui_paid_then_a_new_invoice_is_refused_by_his_closed_case_not_silently_left_uncollected(
    engine: Engine,
):
    campaign = engine.campaign()
    engine.target(campaign, 77)  # another customer keeps the campaign running
    engine.crm.add_customer(RUI, "Rui Prado", [SimInvoice("F-701", Decimal("50.00"), date(2025, 2, 1))])
    import_rows(engine, campaign.id, [("Rui Prado", RUI_PHONE, RUI, "50,00", "F-701", "01/02/2025")])
    engine.crm.pay_all(RUI)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    case = case_of(campaign.id, RUI)
    assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    before = campaign_stats(campaign.id).money

    # A month later his next invoice is overdue and the list is imported again into the campaign.
    engine.crm.add_customer(RUI, "Rui Prado", [SimInvoice("F-702", Decimal("70.00"), date(2025, 3, 1))])
    rows = [
        ("Rui Prado", RUI_PHONE, RUI, "50,00", "F-701", "01/02/2025"),
        ("Rui Prado", RUI_PHONE, RUI, "70,00", "F-702", "01/03/2025"),
    ]
    job = import_rows(engine, campaign.id, rows)

    assert (job.imported, job.duplicates, job.rejected, job.customers_updated) == (0, 1, 1, 0)
    assert [(error.line, error.code) for error in job.errors] == [(2, "duplicate"), (3, "case_closed")]
    assert "(paid)" in job.errors[1].message
    stored = engine.get(case)
    assert (stored.state, stored.outcome, stored.debt_amount) == (
        TargetState.COMPLETED,
        Outcome.PAID,
        Decimal("50.00"),
    )
    assert campaign_stats(campaign.id).money == before
    counters_agree_with_the_cases(campaign.id)


# --- 7. A customer who never answered is not told "we talked" -----------------------------------------


def test_bruno_never_answers_and_the_next_message_does_not_claim_a_conversation_that_never_happened(
    engine: Engine,
):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    bruno, phone = cpf(1201), mobile("11", 1201)
    engine.crm.add_customer(bruno, "Bruno Dias", [SimInvoice("F-801", Decimal("99.00"), date(2025, 2, 1))])
    import_rows(engine, campaign.id, [("Bruno Dias", phone, bruno, "99,00", "F-801", "01/02/2025")])
    sent: list[str] = []
    for offset in range(3):
        before = len(engine.evolution.texts_to(phone))
        business_day(engine, at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
        engine.delivered()
        sent += engine.evolution.texts_to(phone)[before:]
    assert len(sent) == 2  # the first message, then its retry a day after it went unanswered
    assert sent[1].startswith("Olá, Bruno Dias! Aqui é novamente")
    assert "Conversamos" not in sent[1] and "TR Telecom" in sent[1] and "PARAR" in sent[1]


# --- 8. The voicemail asks for a WhatsApp reply: the reply is an engagement --------------------------


def test_carla_answers_on_whatsapp_after_the_voicemail_and_gets_her_follow_up_not_another_call(
    engine: Engine,
):
    campaign = engine.campaign(follow_up_after_days=3, max_attempts_per_channel=2, voicemail_drop=True)
    carla, phone = cpf(1301), mobile("11", 1301)
    engine.crm.add_customer(carla, "Carla Nunes", [SimInvoice("F-901", Decimal("75.00"), date(2025, 2, 1))])
    import_rows(engine, campaign.id, [("Carla Nunes", phone, carla, "75,00", "F-901", "01/02/2025")])
    day = MONDAY  # two WhatsApp messages, delivered, never answered; then a call, the next channel
    while (case := only_case(campaign.id)).state is not TargetState.CALLING:
        assert day < MONDAY + timedelta(days=7)
        business_day(engine, at(day, 12, tz=SAO_PAULO))
        engine.delivered()
        day += timedelta(days=1)
    assert case.channel is Channel.VOICE and len(engine.evolution.texts_to(phone)) == 2

    # A machine answers and takes the neutral voicemail, which asks her to reply on WhatsApp.
    left = postcall.conclude_attempt(case, Outcome.VOICEMAIL_LEFT)
    assert left.target is not None and left.target.outcome is Outcome.VOICEMAIL_LEFT

    engine.clock.advance(timedelta(minutes=30))
    Chat(phone, "Carla").says("oi, vi a ligação de vocês, do que se trata?")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == engine.clock.now() + timedelta(days=3)
    business_day(
        engine, engine.clock.now() + timedelta(days=1)
    )  # the call's retry would have been due by now
    assert len(engine.twilio.calls_to("+" + phone)) == 1
    counters_agree_with_the_cases(campaign.id)


# --- 9. "Já paguei": every campaign keeps quiet until the CRM is asked again -------------------------


def test_eva_says_she_paid_asks_for_a_person_and_no_campaign_contacts_her_until_the_crm_confirms_it(
    engine: Engine,
):
    eva, phone = cpf(1501), mobile("11", 1501)
    engine.crm.add_customer(eva, "Eva Lins", [SimInvoice("F-1101", Decimal("64.30"), date(2025, 2, 1))])
    march, april = engine.campaign(), engine.campaign(name="Cobrança Abril")
    for campaign in (march, april):
        import_rows(engine, campaign.id, [("Eva Lins", phone, eva, "64,30", "F-1101", "01/02/2025")])
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    chat = Chat(phone, "Eva")
    chat.says("oi")
    chat.says(eva)
    chat.says("já paguei ontem")
    assert engine.evolution.texts_to(phone)[-1] == texts.PAYMENT_NOT_YET_VISIBLE
    claimed = (TargetState.PENDING, Outcome.PAYMENT_CLAIMED, engine.clock.now() + timedelta(days=3))

    def her_cases() -> list[tuple[Any, ...]]:
        return [(c.state, c.outcome, c.next_attempt_at) for c in (case_of(m.id, eva) for m in (march, april))]

    assert her_cases() == [claimed, claimed]
    for campaign in (march, april):
        case = case_of(campaign.id, eva)
        assert (case.open_amount, case.open_amount_at) == (Decimal("64.30"), engine.clock.now())
    # She asks for a person too, who answers and resolves her conversation: her cases still say what
    # they wait on, before and after.
    chat.says("quero falar com um atendente")
    held = conversations.by_chat_id(f"whatsapp_{phone}")
    assert held is not None and held.status is ConversationStatus.TRANSFERRED
    assert her_cases() == [claimed, claimed]
    handoff.resolve(held.id, by="token:supervisor")
    assert her_cases() == [claimed, claimed]

    sent = len(engine.evolution.texts_to(phone))
    for offset in (1, 2):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
    engine.crm.pay_all(eva)  # the payment shows in the CRM on Wednesday
    business_day(engine, at(MONDAY + timedelta(days=3), 10, tz=SAO_PAULO))  # still quiet until 11:00
    business_day(engine, at(MONDAY + timedelta(days=3), 11, 5, tz=SAO_PAULO))

    assert len(engine.evolution.texts_to(phone)) == sent  # nobody contacted her
    for campaign in (march, april):
        case = case_of(campaign.id, eva)
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
        assert case.open_amount == Decimal("0.00") and case.debt_amount == Decimal("64.30")
    engine.tick()
    assert {campaigns_data.get(c.id).status for c in (march, april)} == {CampaignStatus.COMPLETED}
    counters_agree_with_the_cases(march.id, april.id)

"""Customer journeys around promises, walked across days with the promise monitor's checks fired on the
virtual clock: one promise for a customer in two campaigns (deferred, broken, kept in part), a promise
made late at night in the customer's own zone, and a customer who comes back to pay after the cadence
gave up on the case (the world: journeys.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from infra.local.simulators.crm import SimInvoice
from shared.data import promises as promises_data
from shared.domain.models import Channel, Outcome, Promise, PromiseStatus, Target, TargetState
from shared.engine.reporting import campaign_stats
from tests.integration.engine.engine_world import Engine, cpf, mobile
from tests.integration.engine.journeys import (
    MANAUS,
    MARIA,
    MARIA_PHONE,
    MONDAY,
    SAO_PAULO,
    Chat,
    Checks,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_maria,
    import_rows,
    only_case,
)

# --- 1. João in two campaigns: one promise for both ----------------------------------------------------

JOAO = cpf(601)
JOAO_PHONE = mobile("11", 601)
F1 = SimInvoice("F-201", Decimal("100.00"), date(2025, 1, 10))
F2 = SimInvoice("F-202", Decimal("80.50"), date(2025, 2, 10))


def _joao_in_two_campaigns(engine: Engine) -> tuple[Target, Target]:
    engine.crm.add_customer(JOAO, "João Lima", [F1, F2])
    march, april = engine.campaign(), engine.campaign(name="Cobrança Abril")
    held = {march.id: F1, april.id: F2}
    cases = []
    for campaign in (march, april):
        invoice = held[campaign.id]
        job = import_rows(
            engine,
            campaign.id,
            [
                (
                    "João Lima",
                    JOAO_PHONE,
                    JOAO,
                    f"{invoice.amount}".replace(".", ","),
                    invoice.number,
                    "10/01/2025",
                )
            ],
        )
        assert job.imported == 1
        cases.append(only_case(campaign.id))
    return cases[0], cases[1]


def _promise_by_chat(engine: Engine, words: str) -> Promise:
    joao = Chat(JOAO_PHONE, "João")
    joao.says("sou eu")
    joao.says(JOAO)
    quote = engine.evolution.texts_to(JOAO_PHONE)[-1]
    assert "Total: R$ 180,50" in quote and "F-201" in quote and "F-202" in quote
    joao.says(words)
    [promise] = promises_data.active_for_document(JOAO, engine.clock.now())
    return promise


def test_joao_a_promise_in_one_campaign_defers_both_and_broken_returns_both(engine: Engine, checks: Checks):
    march_case, april_case = _joao_in_two_campaigns(engine)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == 1  # one contact a day, whichever campaign

    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    promise = _promise_by_chat(engine, "pago dia 14/03")
    assert (promise.amount, promise.open_amount) == (Decimal("180.50"), Decimal("180.50"))
    saturday = datetime(2025, 3, 15, tzinfo=SAO_PAULO)
    for case in (march_case, april_case):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
        assert stored.next_attempt_at >= saturday - timedelta(milliseconds=1)

    # Until the end of the promised Friday nobody contacts him, in either campaign.
    sent = len(engine.evolution.texts_to(JOAO_PHONE))
    for offset in range(1, 5):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
    business_day(engine, at(date(2025, 3, 14), 19, 59, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == sent

    # Unpaid, it is checked every morning and broken seven days after the promised day; the cadence
    # goes on meanwhile (one contact a day, whichever campaign).
    day = date(2025, 3, 14)
    while promises_data.get(promise.id).status is PromiseStatus.PENDING:
        day += timedelta(days=1)
        assert day < MONDAY + timedelta(days=20), "the promise was never settled"
        checks.fire(engine, at(day, 9, 1, tz=SAO_PAULO))
        if promises_data.get(promise.id).status is PromiseStatus.PENDING and day.isoweekday() != 7:
            sent = len(engine.evolution.texts_to(JOAO_PHONE))
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
            assert len(engine.evolution.texts_to(JOAO_PHONE)) - sent <= 1
    assert (day, promises_data.get(promise.id).status) == (date(2025, 3, 22), PromiseStatus.BROKEN)
    for case in (march_case, april_case):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)
        assert stored.next_attempt_at == engine.clock.now()

    sent = len(engine.evolution.texts_to(JOAO_PHONE))
    business_day(engine, at(day, 10, tz=SAO_PAULO))
    after = engine.evolution.texts_to(JOAO_PHONE)[sent:]
    assert len(after) == 1 and "Não identificamos o pagamento combinado" in after[0]
    assert "R$" not in after[0]
    counters_agree_with_the_cases(march_case.campaign_id, april_case.campaign_id)


def test_joao_keeps_a_partial_promise_and_the_open_invoice_is_still_collected(engine: Engine, checks: Checks):
    march_case, april_case = _joao_in_two_campaigns(engine)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    promise = _promise_by_chat(engine, "consigo pagar R$ 100,00 dia 14/03")
    assert (promise.amount, promise.open_amount) == (Decimal("100.00"), Decimal("180.50"))

    engine.crm.pay_oldest(JOAO)  # F-201, 100.00: the promised amount
    saturday = date(2025, 3, 15)
    engine.clock.set(at(saturday, 9, tz=SAO_PAULO))
    checks.fire(engine, engine.clock.now())
    assert promises_data.get(promise.id).status.value == "fulfilled"

    paid, continued = engine.get(march_case), engine.get(april_case)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert continued.state is TargetState.PENDING and continued.outcome is None
    # The monitor's read, on each: what is still open of its own invoices, the imported totals kept.
    assert (paid.open_amount, continued.open_amount) == (Decimal("0.00"), Decimal("80.50"))
    assert paid.open_amount_at == continued.open_amount_at == engine.clock.now()
    assert (paid.debt_amount, continued.debt_amount) == (march_case.debt_amount, april_case.debt_amount)
    assert continued.next_attempt_at == engine.clock.now() + timedelta(days=3)

    sent = len(engine.evolution.texts_to(JOAO_PHONE))
    business_day(engine, at(saturday + timedelta(days=3), 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == sent + 1
    assert campaign_stats(paid.campaign_id).paid == 1
    assert campaign_stats(continued.campaign_id).paid == 0
    assert campaign_stats(promise.campaign_id or "").fulfilled == 1
    money = campaign_stats(promise.campaign_id or "").money
    assert (money.promised, money.kept) == (Decimal("100.00"), Decimal("100.00"))
    counters_agree_with_the_cases(march_case.campaign_id, april_case.campaign_id)


# --- 2. Local time: a promise made late at night in Manaus -------------------------------------------


def test_maria_promising_tomorrow_late_at_night_in_manaus_is_held_to_the_end_of_her_tomorrow(
    engine: Engine, checks: Checks
):
    campaign = engine.campaign()
    import_maria(engine, campaign.id)
    business_day(engine, at(MONDAY, 9))
    case = only_case(campaign.id)

    # 21:30 on Monday in Manaus is already Tuesday in UTC: "amanhã" is her Tuesday.
    maria = Chat(MARIA_PHONE, "Maria")
    engine.clock.set(at(MONDAY, 21, 30))
    maria.says("oi")
    maria.says(MARIA)
    maria.says("pago amanhã")
    assert "até 11/03/2025" in engine.evolution.texts_to(MARIA_PHONE)[-1]
    [promise] = promises_data.active_for_document(MARIA, engine.clock.now())
    assert promise.due_date == date(2025, 3, 11)
    assert promise.due_at == datetime(2025, 3, 11, 23, 59, 59, 999000, tzinfo=MANAUS)
    assert promise.amount == Decimal("270.05")

    # Nothing on her Tuesday: the case waits for her Wednesday, whose first check at 09:00 her time
    # finds the promise unpaid (checked again daily); the cadence may contact her from then on.
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    business_day(engine, at(MONDAY + timedelta(days=1), 10))
    assert engine.get(case).next_attempt_at == datetime(2025, 3, 12, tzinfo=MANAUS)  # her Wednesday
    assert checks.due == [(promise.id, datetime(2025, 3, 12, 9, tzinfo=MANAUS))]
    checks.fire(engine, at(MONDAY + timedelta(days=2), 9))
    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert checks.due == [(promise.id, datetime(2025, 3, 13, 9, tzinfo=MANAUS))]
    business_day(engine, at(MONDAY + timedelta(days=2), 9, 30))
    texts = engine.evolution.texts_to(MARIA_PHONE)
    assert len(texts) == sent + 1 and texts[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    counters_agree_with_the_cases(campaign.id)


# --- 3. Answering the last notice late: a promise kept after the case was exhausted -----------------


DAVI = cpf(1401)
DAVI_PHONE = mobile("11", 1401)


def _exhausted_davi(engine: Engine) -> tuple[Target, str, date]:
    """Davi's case, exhausted after its two contacts went unanswered; his phone and the day it ended."""
    campaign = engine.campaign(
        max_contacts=2, allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP]
    )
    engine.target(campaign, 78)  # another customer keeps the campaign running
    engine.crm.add_customer(DAVI, "Davi Rocha", [SimInvoice("F-1001", Decimal("150.00"), date(2025, 2, 1))])
    import_rows(engine, campaign.id, [("Davi Rocha", DAVI_PHONE, DAVI, "150,00", "F-1001", "01/02/2025")])
    day = MONDAY
    while (case := engine.get(case_of(campaign.id, DAVI))).state is not TargetState.COMPLETED:
        assert day < MONDAY + timedelta(days=10)
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        day += timedelta(days=1)
    assert (case.outcome, case.contact_count) == (Outcome.EXHAUSTED, 2)
    assert "último contato" in engine.evolution.texts_to(DAVI_PHONE)[-1]
    return case, DAVI_PHONE, day


def test_davi_answers_the_last_notice_after_his_case_ended_promises_pays_and_his_case_is_paid(
    engine: Engine, checks: Checks
):
    case, phone, day = _exhausted_davi(engine)

    # Two days later he answers the last notice, as it invites him to, and promises to pay.
    engine.clock.set(at(day + timedelta(days=2), 11, tz=SAO_PAULO))
    davi_chat = Chat(phone, "Davi")
    davi_chat.says("oi, quero resolver")
    davi_chat.says(DAVI)
    promised = engine.clock.now().astimezone(SAO_PAULO).date() + timedelta(days=2)
    davi_chat.says(f"pago dia {promised:%d/%m}")
    [promise] = promises_data.active_for_document(DAVI, engine.clock.now())
    engine.crm.pay_all(DAVI)
    checks.fire(engine, at(promised + timedelta(days=1), 9, 1, tz=SAO_PAULO))

    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    paid = engine.get(case)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    stats = campaign_stats(case.campaign_id)
    assert (stats.fulfilled, stats.paid, stats.money.recovered) == (1, 1, Decimal("150.00"))
    counters_agree_with_the_cases(case.campaign_id)


def test_lia_answers_the_last_notice_with_vou_ver_then_promises_and_her_case_waits_on_the_promise(
    engine: Engine, checks: Checks
):
    """She answers the last notice "vou ver" (her case stays open while she writes), an hour later
    confirms her CPF and promises: the case waits on the promise, not `exhausted`; kept, it is paid."""
    campaign = engine.campaign(
        max_contacts=2, allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP]
    )
    engine.crm.add_customer(LIA, "Lia Souza", [SimInvoice("F-1101", Decimal("90.00"), date(2025, 2, 1))])
    import_rows(engine, campaign.id, [("Lia Souza", LIA_PHONE, LIA, "90,00", "F-1101", "01/02/2025")])
    day = MONDAY
    while engine.get(case_of(campaign.id, LIA)).contact_count < 2:  # the first message goes unanswered
        assert day < MONDAY + timedelta(days=10)
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        day += timedelta(days=1)
    assert "último contato" in engine.evolution.texts_to(LIA_PHONE)[-1]

    engine.clock.set(at(day, 12, tz=SAO_PAULO))
    lia = Chat(LIA_PHONE, "Lia")
    lia.says("vou ver")
    assert engine.get(case_of(campaign.id, LIA)).state is TargetState.CONTACTED
    engine.clock.set(at(day, 13, tz=SAO_PAULO))
    lia.says("oi, quero resolver")
    lia.says(LIA)
    promised = day + timedelta(days=2)
    lia.says(f"pago dia {promised:%d/%m}")
    [promise] = promises_data.active_for_document(LIA, engine.clock.now())
    waiting = engine.get(case_of(campaign.id, LIA))
    assert (waiting.state, waiting.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)

    business_day(engine, at(day + timedelta(days=1), 10, tz=SAO_PAULO))  # upkeep ends nothing
    assert engine.get(waiting).outcome is Outcome.PROMISE_MADE
    engine.crm.pay_all(LIA)
    checks.fire(engine, at(promised + timedelta(days=1), 9, 1, tz=SAO_PAULO))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    paid = engine.get(waiting)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    stats = campaign_stats(campaign.id)
    assert (stats.promised, stats.paid, stats.outcomes.get("exhausted")) == (1, 1, 0)
    counters_agree_with_the_cases(campaign.id)


LIA = cpf(1402)
LIA_PHONE = mobile("11", 1402)


def test_davi_says_he_paid_after_his_case_ended_and_the_crm_confirms_it(engine: Engine):
    case, phone, day = _exhausted_davi(engine)
    engine.crm.pay_all(DAVI)
    engine.clock.set(at(day + timedelta(days=1), 11, tz=SAO_PAULO))
    davi = Chat(phone, "Davi")
    davi.says("oi")
    davi.says(DAVI)
    davi.says("já paguei essa fatura")

    paid = engine.get(case)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert campaign_stats(case.campaign_id).money.recovered == Decimal("150.00")
    counters_agree_with_the_cases(case.campaign_id)

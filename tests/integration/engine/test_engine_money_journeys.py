"""Customers whose money moves as in life, walked across days on the virtual clock with the promise
monitor's checks fired by the test: promises named as people say them (a day too far, a Sunday, "dia 10"
on the 12th, "R$ 1.234,56", "mil e duzentos", "metade"), a renegotiation, payments that do not match the
promise (more, earlier, another invoice, split across two), broken promises, payment claims, and what the
KPIs count when the promise that got a case paid was made in another campaign (the world: journeys.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infra.local.simulators.crm import SimInvoice
from shared.core.config import reset_settings
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.debts import OpenAmount
from shared.domain.models import Campaign, Outcome, Promise, PromiseStatus, Target, TargetState
from shared.domain.money import format_brl
from shared.engine.reporting import campaign_stats, daily, global_metrics
from shared.engine.stats import Milestone, open_fields
from tests.integration.engine.engine_world import Engine, cpf, mobile
from tests.integration.engine.journeys import (
    MONDAY,
    SAO_PAULO,
    Chat,
    Checks,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_rows,
    sheet_rows,
)


def _imported(
    engine: Engine, campaign: Campaign, document: str, phone: str, name: str, invoices: list[SimInvoice]
) -> Target:
    """The customer's rows of the team's sheet (one per invoice) imported into `campaign`: her case."""
    rows = sheet_rows(name, phone, document, invoices)
    assert import_rows(engine, campaign.id, rows).imported == len(rows)
    return case_of(campaign.id, document)


def _identified(engine: Engine, phone: str, document: str, name: str) -> Chat:
    """The customer answers the first message and confirms her CPF: the invoices are quoted."""
    chat = Chat(phone, name)
    chat.says("oi")
    chat.says(document)
    assert "Total: R$" in engine.evolution.texts_to(phone)[-1]
    return chat


def _only_promise(document: str, engine: Engine) -> Promise:
    [promise] = promises_data.active_for_document(document, engine.clock.now())
    return promise


def _kpi(campaign_id: str, name: str) -> tuple[int, int]:
    [kpi] = [k for k in campaign_stats(campaign_id).kpis if k.name == name]
    return kpi.numerator, kpi.denominator


# --- 1. KPIs: a case paid thanks to a promise made in another campaign --------------------------------

RITA = cpf(701)
RITA_PHONE = mobile("11", 701)
RITA_MARCH = SimInvoice("F-301", Decimal("120.00"), date(2025, 1, 10))
RITA_APRIL = SimInvoice("F-302", Decimal("60.40"), date(2025, 2, 10))


def test_rita_pays_on_a_promise_made_in_one_campaign_and_the_other_case_is_not_counted_self_cured(
    engine: Engine, checks: Checks, monkeypatch: pytest.MonkeyPatch
):
    march, april = engine.campaign(), engine.campaign(name="Cobrança Abril")
    engine.crm.add_customer(RITA, "Rita Alves", [RITA_MARCH, RITA_APRIL])
    cases = [
        _imported(engine, march, RITA, RITA_PHONE, "Rita Alves", [RITA_MARCH]),
        _imported(engine, april, RITA, RITA_PHONE, "Rita Alves", [RITA_APRIL]),
    ]
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(RITA_PHONE)) == 1  # one contact a day, whichever campaign
    [contacted] = [c for c in map(engine.get, cases) if c.contact_count == 1]
    [other] = [c for c in map(engine.get, cases) if c.contact_count == 0]

    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    rita = _identified(engine, RITA_PHONE, RITA, "Rita")
    rita.says("pago tudo sexta")
    promise = _only_promise(RITA, engine)
    assert (promise.amount, promise.campaign_id) == (Decimal("180.40"), contacted.campaign_id)
    engine.crm.pay_all(RITA)
    checks.fire(engine, at(date(2025, 3, 15), 9, 1, tz=SAO_PAULO))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    for case in cases:
        assert (engine.get(case).state, engine.get(case).outcome) == (TargetState.COMPLETED, Outcome.PAID)

    # She was contacted (in the other campaign) before she paid: nobody's case is self-cured. The case
    # the campaign contacted converts; the other, never contacted by its campaign, is in neither side of
    # that campaign's conversion rate, and its money is recovered, not self-cured.
    here, there = campaign_stats(contacted.campaign_id), campaign_stats(other.campaign_id)
    assert (here.paid, here.self_cured, _kpi(contacted.campaign_id, "conversionRate")) == (1, 0, (1, 1))
    assert (there.paid, there.self_cured, _kpi(other.campaign_id, "conversionRate")) == (1, 0, (0, 0))
    assert (there.money.self_cured, there.money.recovered) == (Decimal("0.00"), other.debt_amount)
    everywhere = global_metrics()
    assert (everywhere.paid, everywhere.self_cured, everywhere.contacted) == (2, 0, 1)
    assert everywhere.conversion_rate == Decimal("100.0")  # Rita, the one customer contacted, paid
    assert everywhere.money.recovered == Decimal("180.40")
    counters_agree_with_the_cases(march.id, april.id)

    # What the dashboard reads says the same.
    from functions.api.app import create_app

    monkeypatch.setenv("COBRANCA_API_TOKENS", "viewer:viewer-token")
    reset_settings()
    with TestClient(create_app()) as api:
        viewer = {"Authorization": "Bearer viewer-token"}
        stats_there = api.get(f"/api/voice/campaigns/{other.campaign_id}/stats", headers=viewer).json()
        metrics = api.get("/api/voice/metrics", headers=viewer).json()
    conversion = next(kpi for kpi in stats_there["kpis"] if kpi["name"] == "conversionRate")
    assert (stats_there["paid"], stats_there["selfCured"], conversion["numerator"]) == (1, 0, 0)
    assert (metrics["selfCured"], Decimal(str(metrics["conversionRate"]))) == (0, Decimal("100.0"))


SOFIA = cpf(702)
SOFIA_PHONE = mobile("11", 702)
TIAGO = cpf(703)  # in the second campaign only: pays before anybody contacts him


def test_sofia_pays_after_one_campaigns_message_and_the_other_finds_it_paid_not_self_cured(engine: Engine):
    march, april = engine.campaign(), engine.campaign(name="Cobrança Abril")
    engine.crm.add_customer(SOFIA, "Sofia Reis", [RITA_MARCH, RITA_APRIL])
    first = _imported(engine, march, SOFIA, SOFIA_PHONE, "Sofia Reis", [RITA_MARCH])
    second = _imported(engine, april, SOFIA, SOFIA_PHONE, "Sofia Reis", [RITA_APRIL])
    engine.crm.add_customer(TIAGO, "Tiago Melo", [SimInvoice("F-401", Decimal("45.00"), date(2025, 2, 10))])
    tiago = _imported(
        engine,
        april,
        TIAGO,
        mobile("11", 703),
        "Tiago Melo",
        [SimInvoice("F-401", Decimal("45.00"), date(2025, 2, 10))],
    )
    engine.crm.pay_all(TIAGO)  # before the campaign's first morning
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(SOFIA_PHONE)) == 1
    engine.delivered()
    assert (engine.get(tiago).state, engine.get(tiago).outcome) == (TargetState.COMPLETED, Outcome.PAID)

    # Sofia does not answer; she pays that evening. The next mornings each open case finds it paid.
    engine.crm.pay_all(SOFIA)
    day = MONDAY
    while any(engine.get(case).state is not TargetState.COMPLETED for case in (first, second)):
        day += timedelta(days=1)
        assert day < MONDAY + timedelta(days=10), "a case of hers was never closed"
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(SOFIA_PHONE)) == 1  # nobody wrote to her again
    for case in (first, second):
        assert engine.get(case).outcome is Outcome.PAID

    # Only Tiago paid before anybody contacted him.
    assert (campaign_stats(march.id).self_cured, campaign_stats(april.id).self_cured) == (0, 1)
    assert campaign_stats(april.id).money.self_cured == Decimal("45.00")
    everywhere = global_metrics()
    assert (everywhere.paid, everywhere.self_cured, everywhere.money.self_cured) == (3, 1, Decimal("45.00"))
    assert everywhere.money.recovered == Decimal("180.40")
    counters_agree_with_the_cases(march.id, april.id)


def test_rita_says_she_paid_and_the_crm_shows_it_both_cases_paid_none_self_cured(engine: Engine):
    march, april = engine.campaign(), engine.campaign(name="Cobrança Abril")
    engine.crm.add_customer(RITA, "Rita Alves", [RITA_MARCH, RITA_APRIL])
    cases = [
        _imported(engine, march, RITA, RITA_PHONE, "Rita Alves", [RITA_MARCH]),
        _imported(engine, april, RITA, RITA_PHONE, "Rita Alves", [RITA_APRIL]),
    ]
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    rita = _identified(engine, RITA_PHONE, RITA, "Rita")
    engine.crm.pay_all(RITA)
    rita.says("já paguei hoje cedo")
    assert engine.evolution.texts_to(RITA_PHONE)[-1].startswith("Confirmei aqui: não há faturas em aberto")
    for case in cases:
        assert (engine.get(case).state, engine.get(case).outcome) == (TargetState.COMPLETED, Outcome.PAID)
    everywhere = global_metrics()
    assert (everywhere.paid, everywhere.self_cured, everywhere.converted) == (2, 0, 1)
    assert everywhere.money.recovered == Decimal("180.40")
    counters_agree_with_the_cases(march.id, april.id)


# --- 2. Promises as people say them ---------------------------------------------------------------------

CAIO = cpf(711)
CAIO_PHONE = mobile("11", 711)
CAIO_INVOICES = [
    SimInvoice("F-501", Decimal("1500.00"), date(2025, 1, 10)),
    SimInvoice("F-502", Decimal("500.00"), date(2025, 2, 10)),
]
WEDNESDAY = MONDAY + timedelta(days=2)  # 12/03/2025


def _caio(engine: Engine) -> tuple[Campaign, Target, Chat]:
    campaign = engine.campaign()
    engine.crm.add_customer(CAIO, "Caio Nunes", list(CAIO_INVOICES))
    case = _imported(engine, campaign, CAIO, CAIO_PHONE, "Caio Nunes", CAIO_INVOICES)
    business_day(engine, at(WEDNESDAY, 10, tz=SAO_PAULO))
    engine.clock.set(at(WEDNESDAY, 11, tz=SAO_PAULO))
    return campaign, case, _identified(engine, CAIO_PHONE, CAIO, "Caio")


def test_caio_names_a_day_too_far_then_dia_10_on_the_12th_and_then_renegotiates_for_a_sunday(
    engine: Engine, checks: Checks
):
    campaign, case, caio = _caio(engine)

    caio.says("pago dia 30/04")
    assert engine.evolution.texts_to(CAIO_PHONE)[-1].startswith("Consigo registrar datas só até 11/04/2025.")
    assert promises_data.active_for_document(CAIO, engine.clock.now()) == []

    caio.says("pago dia 10")  # on the 12th: the 10th of next month
    assert "R$ 2.000,00 até 10/04/2025" in engine.evolution.texts_to(CAIO_PHONE)[-1]
    first = _only_promise(CAIO, engine)
    assert first.due_date == date(2025, 4, 10)

    caio.says("na verdade consigo pagar domingo")  # Sunday 16/03: a Pix is paid on Sundays too
    assert "R$ 2.000,00 até 16/03/2025" in engine.evolution.texts_to(CAIO_PHONE)[-1]
    second = _only_promise(CAIO, engine)
    assert promises_data.get(first.id).status is PromiseStatus.RENEGOTIATED
    assert (second.due_date, second.replaces_id) == (date(2025, 3, 16), first.id)
    assert checks.due == [(second.id, at(date(2025, 3, 17), 9, tz=SAO_PAULO))]
    deferred = engine.get(case)
    assert (deferred.state, deferred.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
    assert deferred.next_attempt_at == at(date(2025, 3, 17), 0, tz=SAO_PAULO)

    # One promise stands: counted once in the funnel and the money, and kept, it is all of them kept.
    stats = campaign_stats(campaign.id)
    assert (stats.promised, stats.promises, stats.money.promised) == (1, 1, Decimal("2000.00"))
    [today] = daily(campaign.id, WEDNESDAY, WEDNESDAY)
    assert today.promises == 1
    engine.crm.pay_all(CAIO)
    checks.fire(engine, at(date(2025, 3, 17), 9, tz=SAO_PAULO))
    stats = campaign_stats(campaign.id)
    assert (stats.fulfilled, stats.money.kept) == (1, Decimal("2000.00"))
    assert _kpi(campaign.id, "fulfilmentRate") == (1, 1)
    assert (engine.get(case).state, engine.get(case).outcome) == (TargetState.COMPLETED, Outcome.PAID)
    counters_agree_with_the_cases(campaign.id)


def test_caio_promises_amounts_as_people_write_and_say_them(engine: Engine, checks: Checks):
    campaign, case, caio = _caio(engine)
    said = {
        "consigo pagar R$ 1.234,56 dia 20": Decimal("1234.56"),
        "melhor mil e duzentos dia 20": Decimal("1200.00"),
        "pago 500 dia 20": Decimal("500.00"),
        "consigo pagar a metade dia 20": Decimal("1000.00"),
    }
    for words, amount in said.items():
        caio.says(words)
        assert f"{format_brl(amount)} até 20/03/2025" in engine.evolution.texts_to(CAIO_PHONE)[-1]
        promise = _only_promise(CAIO, engine)
        assert (promise.amount, promise.open_amount) == (amount, Decimal("2000.00"))
    assert campaign_stats(campaign.id).money.promised == Decimal("1000.00")
    counters_agree_with_the_cases(campaign.id)


# --- 3. Payments that do not match the promise ----------------------------------------------------------

BIA = cpf(721)
BIA_PHONE = mobile("11", 721)
BIA_INVOICES = [
    SimInvoice("F-601", Decimal("60.00"), date(2025, 1, 10)),
    SimInvoice("F-602", Decimal("40.00"), date(2025, 2, 10)),
    SimInvoice("F-603", Decimal("80.00"), date(2025, 3, 1)),
]
FRIDAY = MONDAY + timedelta(days=4)
SATURDAY = MONDAY + timedelta(days=5)


def _bia_promises(engine: Engine, words: str) -> tuple[Campaign, Target, Promise]:
    """Bia (three invoices, R$ 180,00) answers Monday's first message and promises with `words`."""
    campaign = engine.campaign()
    engine.crm.add_customer(BIA, "Bia Costa", list(BIA_INVOICES))
    case = _imported(engine, campaign, BIA, BIA_PHONE, "Bia Costa", BIA_INVOICES)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.delivered()
    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    _identified(engine, BIA_PHONE, BIA, "Bia").says(words)
    promise = _only_promise(BIA, engine)
    assert promise.open_amount == Decimal("180.00")
    assert promise.invoice_numbers == ["F-601", "F-602", "F-603"]
    return campaign, case, promise


def _pays(engine: Engine, document: str, *numbers: str) -> None:
    """The customer pays these invoices: the CRM no longer shows them open."""
    customer = engine.crm.customers[document]
    customer.invoices = [i for i in customer.invoices if i.number not in numbers]


def test_bia_pays_the_promised_amount_across_two_invoices_and_is_followed_up_for_the_third(
    engine: Engine, checks: Checks
):
    campaign, case, promise = _bia_promises(engine, "consigo pagar R$ 100,00 sexta")
    assert (promise.amount, promise.due_date) == (Decimal("100.00"), FRIDAY)
    _pays(engine, BIA, "F-601")  # Tuesday, R$ 60,00
    _pays(engine, BIA, "F-602")  # Thursday, R$ 40,00: R$ 100,00 of the promised invoices paid
    sent = len(engine.evolution.texts_to(BIA_PHONE))
    for offset in range(1, 5):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(BIA_PHONE)) == sent  # protected until the end of Friday

    checks.fire(engine, at(SATURDAY, 9, tz=SAO_PAULO))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    going_on = engine.get(case)
    assert (going_on.state, going_on.outcome) == (TargetState.PENDING, None)
    assert going_on.next_attempt_at == at(SATURDAY, 9, tz=SAO_PAULO) + timedelta(days=3)
    stats = campaign_stats(campaign.id)
    assert (stats.fulfilled, stats.paid, stats.money.kept) == (1, 0, Decimal("100.00"))

    # Tuesday: the follow-up about what is still open; she pays the third invoice; the next look at the
    # case finds nothing open.
    business_day(engine, at(SATURDAY + timedelta(days=3), 10, tz=SAO_PAULO))
    follow_up = engine.evolution.texts_to(BIA_PHONE)[-1]
    assert follow_up.startswith("Olá, Bia Costa! Aqui é novamente") and "R$" not in follow_up
    engine.delivered()
    _pays(engine, BIA, "F-603")
    day = SATURDAY + timedelta(days=3)
    while engine.get(case).state is not TargetState.COMPLETED:
        day += timedelta(days=1)
        assert day < SATURDAY + timedelta(days=14), "her case was never closed"
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
    assert engine.get(case).outcome is Outcome.PAID
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, stats.money.recovered) == (1, 0, Decimal("180.00"))
    assert _kpi(campaign.id, "conversionRate") == (1, 1)
    counters_agree_with_the_cases(campaign.id)


def test_bia_pays_everything_before_the_promised_day_more_than_she_promised(engine: Engine, checks: Checks):
    campaign, case, promise = _bia_promises(engine, "pago 50 reais na sexta")
    assert promise.amount == Decimal("50.00")
    engine.clock.set(at(MONDAY + timedelta(days=2), 15, tz=SAO_PAULO))
    engine.crm.pay_all(BIA)  # Wednesday: all R$ 180,00

    checks.fire(engine, at(SATURDAY, 9, tz=SAO_PAULO))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    assert (engine.get(case).state, engine.get(case).outcome) == (TargetState.COMPLETED, Outcome.PAID)
    stats = campaign_stats(campaign.id)
    assert (stats.money.promised, stats.money.kept, stats.money.recovered) == (
        Decimal("50.00"),
        Decimal("50.00"),
        Decimal("180.00"),
    )
    assert stats.money.recovery_rate == Decimal("100.0")
    assert _kpi(campaign.id, "fulfilmentRate") == (1, 1)
    counters_agree_with_the_cases(campaign.id)


def test_bia_promises_the_oldest_invoice_and_pays_another_of_at_least_that_amount(
    engine: Engine, checks: Checks
):
    campaign, case, promise = _bia_promises(engine, "consigo pagar 60,00 sexta")
    _pays(engine, BIA, "F-603")  # R$ 80,00 of the promise's invoices, not the F-601 she had in mind

    checks.fire(engine, at(SATURDAY, 9, tz=SAO_PAULO))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    going_on = engine.get(case)
    assert (going_on.state, going_on.outcome) == (TargetState.PENDING, None)
    assert campaign_stats(campaign.id).money.kept == Decimal("60.00")
    counters_agree_with_the_cases(campaign.id)


# --- 4. Broken promises and payment claims ----------------------------------------------------------------

LEO = cpf(731)
LEO_PHONE = mobile("11", 731)
LEO_INVOICES = [SimInvoice("F-701", Decimal("99.90"), date(2025, 2, 10))]


def _leo_breaks_a_promise(
    engine: Engine, checks: Checks, **campaign: object
) -> tuple[Campaign, Target, date]:
    """Leo answers Monday's first message, promises for Friday and does not pay: broken on the 8th day
    after (22/03), the day returned; the campaign made with `campaign`."""
    created = engine.campaign(**campaign)
    engine.crm.add_customer(LEO, "Leo Dias", list(LEO_INVOICES))
    case = _imported(engine, created, LEO, LEO_PHONE, "Leo Dias", LEO_INVOICES)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.delivered()
    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    _identified(engine, LEO_PHONE, LEO, "Leo").says("pago sexta")
    promise = _only_promise(LEO, engine)
    day = SATURDAY
    while promises_data.get(promise.id).status is PromiseStatus.PENDING:
        assert day < SATURDAY + timedelta(days=10), "the promise was never settled"
        checks.fire(engine, at(day, 9, tz=SAO_PAULO))
        day += timedelta(days=1)
    assert promises_data.get(promise.id).status is PromiseStatus.BROKEN
    return created, case, day - timedelta(days=1)


def test_leo_breaks_his_promise_and_makes_a_new_one_on_the_broken_promise_message(
    engine: Engine, checks: Checks
):
    campaign, case, day = _leo_breaks_a_promise(engine, checks)
    assert day == date(2025, 3, 22)  # a Saturday: São Paulo takes contacts until 14:00
    broken = engine.get(case)
    assert (broken.state, broken.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)
    business_day(engine, at(day, 10, tz=SAO_PAULO))
    message = engine.evolution.texts_to(LEO_PHONE)[-1]
    assert "Não identificamos o pagamento combinado" in message and "R$" not in message
    engine.delivered()

    # He answers it: who he is first (a week has passed), then a new day.
    engine.clock.set(at(day, 10, 30, tz=SAO_PAULO))
    leo = _identified(engine, LEO_PHONE, LEO, "Leo")
    leo.says("pago dia 28")
    assert "R$ 99,90 até 28/03/2025" in engine.evolution.texts_to(LEO_PHONE)[-1]
    again = _only_promise(LEO, engine)
    assert again.replaces_id is None  # the broken promise was not pending: nothing renegotiated
    deferred = engine.get(case)
    assert (deferred.state, deferred.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)

    engine.crm.pay_all(LEO)
    checks.fire(engine, at(date(2025, 3, 29), 9, tz=SAO_PAULO))
    assert (engine.get(case).state, engine.get(case).outcome) == (TargetState.COMPLETED, Outcome.PAID)
    stats = campaign_stats(campaign.id)
    assert (stats.promised, stats.promises, stats.fulfilled, stats.broken) == (1, 2, 1, 1)
    assert _kpi(campaign.id, "fulfilmentRate") == (1, 2)
    assert (stats.money.promised, stats.money.kept) == (Decimal("199.80"), Decimal("99.90"))
    counters_agree_with_the_cases(campaign.id)


def test_leo_breaks_his_promise_in_a_campaign_whose_contacts_are_spent_and_his_case_ends_exhausted(
    engine: Engine, checks: Checks
):
    # His first message was the campaign's only contact: his answer to it already spent the budget, and
    # the promise he made in that conversation stands on its own (kept, it would still close the case
    # as paid); broken, nobody writes to him again.
    campaign, case, day = _leo_breaks_a_promise(engine, checks, max_contacts=1)
    sent = len(engine.evolution.texts_to(LEO_PHONE))
    business_day(engine, at(day, 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(LEO_PHONE)) == sent  # the budget was his first message
    ended = engine.get(case)
    assert (ended.state, ended.outcome, ended.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 1)
    stats = campaign_stats(campaign.id)
    assert (stats.promised, stats.broken, stats.paid) == (1, 1, 0)
    counters_agree_with_the_cases(campaign.id)


NINA = cpf(741)
NINA_PHONE = mobile("11", 741)


def test_nina_says_she_paid_the_crm_still_shows_it_after_the_quiet_days_and_she_is_followed_up(
    engine: Engine,
):
    campaign = engine.campaign()
    engine.crm.add_customer(NINA, "Nina Prado", list(LEO_INVOICES))
    case = _imported(engine, campaign, NINA, NINA_PHONE, "Nina Prado", LEO_INVOICES)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.delivered()
    engine.clock.set(at(MONDAY, 11, tz=SAO_PAULO))
    _identified(engine, NINA_PHONE, NINA, "Nina").says("já paguei ontem")
    assert "ainda não aparece no nosso sistema" in engine.evolution.texts_to(NINA_PHONE)[-1]
    claimed = engine.get(case)
    assert (claimed.state, claimed.outcome) == (TargetState.PENDING, Outcome.PAYMENT_CLAIMED)

    sent = len(engine.evolution.texts_to(NINA_PHONE))
    for offset in (1, 2, 3):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(NINA_PHONE)) == sent  # quiet until Thursday 11:00
    business_day(engine, at(MONDAY + timedelta(days=3), 11, 5, tz=SAO_PAULO))
    follow_up = engine.evolution.texts_to(NINA_PHONE)[sent:]
    assert len(follow_up) == 1 and follow_up[0].startswith("Olá, Nina Prado! Aqui é novamente")
    assert "R$" not in follow_up[0]
    contacted = engine.get(case)
    assert (contacted.state, contacted.contact_count) == (TargetState.CONTACTED, 2)
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured) == (0, 0)
    counters_agree_with_the_cases(campaign.id)


def test_bia_pays_before_the_promised_day_and_says_so_the_promise_is_kept_that_day(
    engine: Engine, checks: Checks
):
    campaign, case, promise = _bia_promises(engine, "pago tudo sexta")
    tuesday = MONDAY + timedelta(days=1)
    engine.clock.set(at(tuesday, 15, tz=SAO_PAULO))
    engine.crm.pay_all(BIA)
    bia = Chat(BIA_PHONE, "Bia")
    bia.says("já paguei tudo, pode conferir")
    assert "pode me informar o seu CPF" in engine.evolution.texts_to(BIA_PHONE)[-1]  # a day has passed
    bia.says(BIA)

    assert engine.evolution.texts_to(BIA_PHONE)[-1].startswith("Confirmei aqui: não há faturas em aberto")
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    assert (engine.get(case).state, engine.get(case).outcome) == (TargetState.COMPLETED, Outcome.PAID)
    [day] = daily(campaign.id, tuesday, tuesday)
    assert (day.kept, day.recovered) == (1, Decimal("180.00"))
    # Saturday's check finds the promise settled and does nothing.
    [late] = checks.fire(engine, at(SATURDAY, 9, tz=SAO_PAULO))
    assert late.result.value == "skipped"
    stats = campaign_stats(campaign.id)
    assert (stats.promises, stats.fulfilled, stats.paid, stats.money.kept) == (1, 1, 1, Decimal("180.00"))
    counters_agree_with_the_cases(campaign.id)


GIL = cpf(751)
GIL_PHONE = mobile("11", 751)


def test_gil_promises_for_good_friday_nobody_contacts_him_that_holiday_and_the_check_is_the_day_after(
    engine: Engine, checks: Checks
):
    monday = date(2025, 4, 14)
    good_friday = date(2025, 4, 18)
    campaign = engine.campaign()
    engine.crm.add_customer(GIL, "Gil Araújo", list(LEO_INVOICES))
    case = _imported(engine, campaign, GIL, GIL_PHONE, "Gil Araújo", LEO_INVOICES)
    business_day(engine, at(monday, 10, tz=SAO_PAULO))
    engine.delivered()
    engine.clock.set(at(monday, 11, tz=SAO_PAULO))
    _identified(engine, GIL_PHONE, GIL, "Gil").says("pago na sexta")
    assert "R$ 99,90 até 18/04/2025" in engine.evolution.texts_to(GIL_PHONE)[-1]
    promise = _only_promise(GIL, engine)
    assert checks.due == [(promise.id, at(good_friday + timedelta(days=1), 9, tz=SAO_PAULO))]

    sent = len(engine.evolution.texts_to(GIL_PHONE))
    business_day(engine, at(good_friday, 10, tz=SAO_PAULO))
    checks.fire(engine, at(good_friday + timedelta(days=1), 9, tz=SAO_PAULO))  # Saturday: unpaid
    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert len(engine.evolution.texts_to(GIL_PHONE)) == sent
    assert engine.get(case).outcome is Outcome.PROMISE_MADE
    counters_agree_with_the_cases(campaign.id)


# --- 4. Money counts as recovered when the CRM shows it paid, not only when a case closes paid ---------


class Dashboard:
    """What the dashboard reads of a campaign's money (`/stats`, `/daily`) and a supervisor's
    correction of a case, through the API."""

    def __init__(self, api: TestClient) -> None:
        self.api = api

    def money(self, campaign_id: str) -> tuple[Decimal, Decimal, Decimal]:
        """(amountRecovered, amountSelfCured, recoveryRate) of the campaign's `/stats`."""
        stats = self._get(f"/api/voice/campaigns/{campaign_id}/stats")
        return tuple(
            Decimal(str(stats[key])) for key in ("amountRecovered", "amountSelfCured", "recoveryRate")
        )  # type: ignore[return-value]

    def recovered_by_day(self, campaign_id: str) -> dict[date, Decimal]:
        """The days of the campaign's `/daily` series with money recovered, and how much."""
        days = self._get(f"/api/voice/campaigns/{campaign_id}/daily")
        return {
            date.fromisoformat(day["day"]): Decimal(str(day["amountRecovered"]))
            for day in days
            if Decimal(str(day["amountRecovered"]))
        }

    def exported_day(self, campaign_id: str, day: date) -> str:
        """The row of `day` in the campaign's daily CSV export (what a team opens in a spreadsheet)."""
        response = self.api.get(f"/api/voice/campaigns/{campaign_id}/daily.csv", headers=_SUPERVISOR)
        assert response.status_code == 200, response.text
        [row] = [line for line in response.text.splitlines() if line.startswith(f"{day:%d/%m/%Y}")]
        return row

    def case(self, target_id: str) -> dict[str, Any]:
        campaign_id = targets_data.get(target_id).campaign_id
        found = self._get(f"/api/voice/campaigns/{campaign_id}/targets")
        [case] = [item for item in found if item["id"] == target_id]
        return case

    def correct(self, target_id: str, **changes: str) -> None:
        response = self.api.patch(f"/api/voice/targets/{target_id}", json=changes, headers=_SUPERVISOR)
        assert response.status_code == 200, response.text

    def _get(self, path: str) -> Any:
        response = self.api.get(path, headers=_SUPERVISOR)
        assert response.status_code == 200, response.text
        return response.json()


_SUPERVISOR = {"Authorization": "Bearer supervisor-token"}


@pytest.fixture
def dashboard(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dashboard]:
    monkeypatch.setenv("COBRANCA_API_TOKENS", "supervisor:supervisor-token")
    reset_settings()
    from functions.api.app import create_app

    with TestClient(create_app()) as api:
        yield Dashboard(api)


def _until_completed(engine: Engine, case: Target, first_day: date, phone: str) -> date:
    """Business days from `first_day` (Sundays skipped, every message delivered) until the case is
    completed; the day it was."""
    day = first_day
    while True:
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        if engine.get(case).state is TargetState.COMPLETED:
            return day
        day += timedelta(days=1)
        assert day < first_day + timedelta(days=21), f"the case of {phone} never ended"


def test_bia_keeps_a_partial_promise_the_paid_part_counts_recovered_that_day_and_the_rest_when_she_pays_it(
    engine: Engine, checks: Checks, dashboard: Dashboard
):
    campaign, case, promise = _bia_promises(engine, "consigo pagar R$ 100,00 sexta")
    _pays(engine, BIA, "F-601", "F-602")  # R$ 100,00 during the week
    assert dashboard.money(campaign.id)[0] == Decimal("0.00")  # nobody read the CRM yet

    # Saturday's check sees R$ 100,00 paid: kept, and recovered that day, while the case goes on.
    checks.fire(engine, at(SATURDAY, 9, tz=SAO_PAULO))
    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    going_on = dashboard.case(case.id)
    assert (going_on["state"], going_on["debtAmount"], going_on["openAmount"]) == (
        "pending",
        "180.00",
        "80.00",
    )
    assert going_on["paidAmount"] == "100.00"
    assert dashboard.money(campaign.id) == (Decimal("100.00"), Decimal("0.00"), Decimal("55.6"))
    assert dashboard.recovered_by_day(campaign.id) == {SATURDAY: Decimal("100.00")}
    assert dashboard.exported_day(campaign.id, SATURDAY).endswith("100,00")

    # Tuesday's follow-up reads the CRM again: the same R$ 100,00 paid counts once.
    tuesday = SATURDAY + timedelta(days=3)
    business_day(engine, at(tuesday, 10, tz=SAO_PAULO))
    assert engine.evolution.texts_to(BIA_PHONE)[-1].startswith("Olá, Bia Costa! Aqui é novamente")
    assert engine.get(case).open_amount_at == at(tuesday, 10, tz=SAO_PAULO)
    assert dashboard.money(campaign.id)[0] == Decimal("100.00")
    counters_agree_with_the_cases(campaign.id)

    # She pays the rest; the case closing paid counts only that: the whole debt, once.
    engine.delivered()
    _pays(engine, BIA, "F-603")
    closed_on = _until_completed(engine, case, tuesday + timedelta(days=1), BIA_PHONE)
    assert engine.get(case).outcome is Outcome.PAID
    assert dashboard.money(campaign.id) == (Decimal("180.00"), Decimal("0.00"), Decimal("100.0"))
    assert dashboard.recovered_by_day(campaign.id) == {
        SATURDAY: Decimal("100.00"),
        closed_on: Decimal("80.00"),
    }
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, _kpi(campaign.id, "conversionRate")) == (1, 0, (1, 1))
    counters_agree_with_the_cases(campaign.id)

    # A supervisor corrects the outcome (the CRM had it wrong): the case's money is taken out again.
    dashboard.correct(case.id, outcome="exhausted")
    assert dashboard.money(campaign.id)[:2] == (Decimal("0.00"), Decimal("0.00"))
    # The daily series books the reversal on the day of the correction, so its days still add up to the
    # total the cards show.
    by_day = dashboard.recovered_by_day(campaign.id)
    corrected_on = engine.clock.now().astimezone(SAO_PAULO).date()
    assert by_day.get(corrected_on, Decimal("0.00")) < 0
    assert sum(by_day.values(), Decimal("0.00")) == Decimal("0.00")
    assert (campaign_stats(campaign.id).paid, _kpi(campaign.id, "conversionRate")) == (0, (0, 1))
    counters_agree_with_the_cases(campaign.id)


DAVI = cpf(761)
DAVI_PHONE = mobile("11", 761)
DAVI_INVOICES = [
    SimInvoice("F-701", Decimal("100.00"), date(2025, 1, 10)),
    SimInvoice("F-702", Decimal("100.00"), date(2025, 2, 10)),
]


def test_davi_pays_half_after_the_first_message_never_resolves_and_his_half_stays_recovered(
    engine: Engine, dashboard: Dashboard
):
    campaign = engine.campaign(follow_up_after_days=2, max_contacts=2)
    engine.crm.add_customer(DAVI, "Davi Lima", list(DAVI_INVOICES))
    case = _imported(engine, campaign, DAVI, DAVI_PHONE, "Davi Lima", DAVI_INVOICES)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.delivered()
    engine.clock.set(at(MONDAY, 18, tz=SAO_PAULO))
    Chat(DAVI_PHONE, "Davi").says("vou ver")  # engaged, resolves nothing: followed up 2 days later
    _pays(engine, DAVI, "F-701")  # Tuesday

    thursday = MONDAY + timedelta(days=3)  # the follow-up, due Wednesday 18:00, goes Thursday morning
    ended_on = _until_completed(engine, case, MONDAY + timedelta(days=1), DAVI_PHONE)
    ended = engine.get(case)
    assert (ended.outcome, ended.contact_count, ended.paid_amount) == (
        Outcome.EXHAUSTED,
        2,
        Decimal("100.00"),
    )
    assert ended_on > thursday
    assert dashboard.money(campaign.id) == (Decimal("100.00"), Decimal("0.00"), Decimal("50.0"))
    # Seen by the follow-up's guards, before it was sent.
    assert dashboard.recovered_by_day(campaign.id) == {thursday: Decimal("100.00")}
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, _kpi(campaign.id, "conversionRate")) == (0, 0, (0, 1))
    counters_agree_with_the_cases(campaign.id)


EDU = cpf(762)
EDU_PHONE = mobile("11", 762)
EDU_MARCH = SimInvoice("F-801", Decimal("120.00"), date(2025, 2, 10))
EDU_APRIL = SimInvoice("F-802", Decimal("80.00"), date(2025, 3, 10))


def test_edu_gets_a_new_invoice_by_a_re_import_which_counts_nothing_then_pays_the_first(
    engine: Engine, dashboard: Dashboard
):
    campaign = engine.campaign()
    engine.crm.add_customer(EDU, "Edu Rocha", [EDU_MARCH])
    case = _imported(engine, campaign, EDU, EDU_PHONE, "Edu Rocha", [EDU_MARCH])
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.delivered()
    assert (engine.get(case).contact_count, engine.get(case).open_amount) == (1, Decimal("120.00"))

    # Another invoice falls due; the team imports its sheet again: the case owes more, nothing was paid.
    engine.crm.customers[EDU].invoices.append(EDU_APRIL)
    engine.clock.set(at(MONDAY, 15, tz=SAO_PAULO))
    assert (
        import_rows(
            engine, campaign.id, sheet_rows("Edu Rocha", EDU_PHONE, EDU, [EDU_MARCH, EDU_APRIL])
        ).imported
        == 1
    )
    grown = dashboard.case(case.id)
    assert (grown["debtAmount"], grown["openAmount"], grown["paidAmount"]) == ("200.00", "200.00", "0.00")
    day = MONDAY + timedelta(days=1)
    while engine.get(case).contact_count < 2:  # he does not answer: the next contact reads the CRM again
        business_day(engine, at(day, 10, tz=SAO_PAULO))
        engine.delivered()
        day += timedelta(days=1)
    assert (engine.get(case).open_amount, engine.get(case).paid_amount) == (
        Decimal("200.00"),
        Decimal("0.00"),
    )
    assert dashboard.money(campaign.id) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.0"))

    # He pays the first invoice: the next read counts R$ 120,00, not what the re-import added.
    _pays(engine, EDU, "F-801")
    while engine.get(case).paid_amount == 0:
        assert day < MONDAY + timedelta(days=21), "his payment was never seen"
        if day.isoweekday() != 7:
            business_day(engine, at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        day += timedelta(days=1)
    assert engine.get(case).open_amount == Decimal("80.00")
    assert dashboard.money(campaign.id) == (Decimal("120.00"), Decimal("0.00"), Decimal("60.0"))
    assert dashboard.recovered_by_day(campaign.id) == {day - timedelta(days=1): Decimal("120.00")}
    counters_agree_with_the_cases(campaign.id)


FABI = cpf(763)
FABI_PHONE = mobile("11", 763)
FABI_INVOICES = [
    SimInvoice("F-901", Decimal("50.00"), date(2025, 1, 10)),
    SimInvoice("F-902", Decimal("70.00"), date(2025, 2, 10)),
]


def test_fabi_pays_one_invoice_before_any_contact_self_cured_and_the_other_after_it_recovered(
    engine: Engine, dashboard: Dashboard
):
    campaign = engine.campaign()
    engine.crm.add_customer(FABI, "Fabi Nunes", list(FABI_INVOICES))
    case = _imported(engine, campaign, FABI, FABI_PHONE, "Fabi Nunes", FABI_INVOICES)
    _pays(engine, FABI, "F-901")  # before the campaign's first morning
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO))
    engine.delivered()
    contacted = engine.get(case)
    assert (contacted.contact_count, contacted.open_amount, contacted.paid_amount) == (
        1,
        Decimal("70.00"),
        Decimal("50.00"),
    )
    assert dashboard.money(campaign.id)[:2] == (Decimal("0.00"), Decimal("50.00"))
    assert dashboard.recovered_by_day(campaign.id) == {}

    _pays(engine, FABI, "F-902")  # after the message
    closed_on = _until_completed(engine, case, MONDAY + timedelta(days=1), FABI_PHONE)
    assert engine.get(case).outcome is Outcome.PAID
    assert dashboard.money(campaign.id)[:2] == (Decimal("70.00"), Decimal("50.00"))
    assert dashboard.recovered_by_day(campaign.id) == {closed_on: Decimal("70.00")}
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, _kpi(campaign.id, "conversionRate")) == (1, 0, (1, 1))
    counters_agree_with_the_cases(campaign.id)

    # A supervisor corrects the outcome away: recovered gives back its R$ 70,00, self-cured its R$ 50,00.
    dashboard.correct(case.id, outcome="exhausted")
    assert dashboard.money(campaign.id)[:2] == (Decimal("0.00"), Decimal("0.00"))
    assert sum(dashboard.recovered_by_day(campaign.id).values(), Decimal("0.00")) == Decimal("0.00")
    counters_agree_with_the_cases(campaign.id)


def test_a_never_contacted_case_seen_partly_paid_reads_the_customers_other_cases_only_when_more_is_paid(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    """Each write recording a CRM read of a never-contacted case carries its `paid_amount`: only a
    growth of it needs the customer's cases in other campaigns (was the money recovered elsewhere?)."""
    contacted = engine.target(engine.campaign(), 771, contact_count=1)
    case = engine.target(engine.campaign(), 771, paid_amount=Decimal("40.00"))
    reads: list[str] = []
    by_document = targets_data.by_document

    def counting(document: str) -> list[Target]:
        reads.append(document)
        return by_document(document)

    monkeypatch.setattr(targets_data, "by_document", counting)
    now = engine.clock.now()

    again = open_fields(case, OpenAmount(Decimal("49.90"), now, Decimal("40.00")))
    assert (again["paid_amount"], "milestone" in again, reads) == (Decimal("40.00"), False, [])
    more = open_fields(case, OpenAmount(Decimal("9.90"), now, Decimal("80.00")))
    assert (more["paid_amount"], more["milestone"], reads) == (
        Decimal("80.00"),
        Milestone.CONTACTED_ELSEWHERE.value,
        [contacted.document],
    )

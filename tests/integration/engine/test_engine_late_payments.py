"""Late payment checks, the payment attribution window: a contacted case that ended unresolved has the
CRM read once more `LATE_PAYMENT_CHECK_DAYS` (7) after it ended, on the cron's tick — a customer who
paid at the bank days after the last message is money the collection recovered. Never a message, never
a payment the CRM does not show, never a read of the cases whose check is not due."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from infra.local.simulators.crm import SimInvoice
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.data.targets import TargetRecord
from shared.domain.models import CampaignStatus, Channel, Invoice, Outcome, Target, TargetState
from shared.engine import optouts, upkeep
from shared.engine import targets as cases
from shared.engine.late_payments import CRM_RETRY, PAID_LATE, RETRY_FOR
from shared.engine.reporting import campaign_stats, daily
from tests.integration.engine.engine_world import Engine
from tests.integration.engine.journeys import SAO_PAULO, counters_agree_with_the_cases

CHECK_AFTER = timedelta(days=7)  # LATE_PAYMENT_CHECK_DAYS' default
TWO_INVOICES = [
    SimInvoice("F-1", Decimal("50.00"), date(2025, 1, 10)),
    SimInvoice("F-2", Decimal("70.00"), date(2025, 2, 10)),
]


def _ended_unanswered(engine: Engine, *cases: Target) -> list[Target]:
    """Each customer gets the campaign's one message (its last notice), delivered, and never answers: a
    day later the cron's tick ends their case `exhausted`."""
    engine.tick()
    engine.drain("whatsapp")
    engine.delivered()
    engine.clock.advance(timedelta(hours=25))
    engine.tick()
    ended = [engine.get(case) for case in cases]
    for case in ended:
        assert (case.state, case.outcome, case.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 1)
    return ended


def _reads_of(engine: Engine, target: Target) -> int:
    return engine.crm.queries.count(target.document)


def _kpi(campaign_id: str, name: str) -> tuple[int, int]:
    [kpi] = [k for k in campaign_stats(campaign_id).kpis if k.name == name]
    return kpi.numerator, kpi.denominator


def _recovered_by_day(campaign_id: str) -> dict[date, Decimal]:
    return {day.day: day.recovered for day in daily(campaign_id) if day.recovered}


def test_ana_ends_exhausted_pays_three_days_later_and_the_late_check_closes_her_case_paid(engine: Engine):
    """Beside Ana, two customers the campaign never contacted: Otto paid before any contact (self-cured),
    Lia's landline has no WhatsApp (ended `not_on_whatsapp`). Neither gets a late check."""
    campaign = engine.campaign(
        max_contacts=1, allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP]
    )
    otto = engine.target(campaign, 911)
    lia = engine.target(campaign, 912, phone="551133334444", phones=["551133334444"])
    engine.crm.pay_all(otto.document)
    [ana] = _ended_unanswered(engine, engine.target(campaign, 901))
    assert (engine.get(otto).outcome, engine.get(lia).outcome) == (Outcome.PAID, Outcome.NOT_ON_WHATSAPP)
    assert TargetRecord.get(otto.id).agenda is None and TargetRecord.get(lia.id).agenda is None
    ended_at = engine.clock.now()
    assert campaigns_data.get(campaign.id).status is CampaignStatus.COMPLETED  # not held by the check
    sent, reads = len(engine.evolution.texts_to(ana.phone)), _reads_of(engine, ana)

    engine.clock.advance(timedelta(days=3))
    engine.crm.pay_all(ana.document)  # at the bank, nothing said
    engine.crm.pay_all(lia.document)
    engine.tick()
    assert engine.get(ana).outcome is Outcome.EXHAUSTED  # her check is not due: the CRM is not asked
    assert _reads_of(engine, ana) == reads
    assert campaign_stats(campaign.id).money.recovered == Decimal("0.00")

    engine.clock.set(ended_at + CHECK_AFTER)
    lia_reads = _reads_of(engine, lia)
    engine.tick()
    paid = engine.get(ana)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert paid.outcome_details is not None and paid.outcome_details.startswith(PAID_LATE)
    assert _reads_of(engine, ana) == reads + 1
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, _kpi(campaign.id, "conversionRate")) == (2, 1, (1, 1))
    assert (stats.money.recovered, stats.money.self_cured) == (Decimal("89.90"), Decimal("89.90"))
    checked_on = engine.clock.now().astimezone(SAO_PAULO).date()
    assert _recovered_by_day(campaign.id) == {checked_on: Decimal("89.90")}  # the days add up to the card
    assert _reads_of(engine, lia) == lia_reads and engine.get(lia).outcome is Outcome.NOT_ON_WHATSAPP
    counters_agree_with_the_cases(campaign.id)

    # Checked once: later ticks neither read the CRM about her again nor write to her.
    engine.clock.advance(timedelta(days=1))
    engine.tick()
    assert _reads_of(engine, ana) == reads + 1
    assert len(engine.evolution.texts_to(ana.phone)) == sent


def test_bruno_pays_one_invoice_after_his_case_ended_the_paid_part_counts_and_the_outcome_stays(
    engine: Engine,
):
    campaign = engine.campaign(max_contacts=1)
    later = engine.clock.now() + timedelta(days=30)
    other = engine.target(campaign, 903, next_attempt_at=later)  # keeps the campaign running; paused below
    invoices = [Invoice(invoice_number=i.number, amount=i.amount, due_date=i.due_date) for i in TWO_INVOICES]
    [bruno] = _ended_unanswered(
        engine, engine.target(campaign, 902, crm=list(TWO_INVOICES), invoices=invoices)
    )
    assert engine.get(other).state is TargetState.PENDING
    campaigns_data.transition_status(campaign.id, [CampaignStatus.ACTIVE], CampaignStatus.PAUSED)
    engine.crm.pay_oldest(bruno.document)

    engine.clock.advance(CHECK_AFTER)
    engine.tick()  # a paused campaign contacts nobody, and its late checks still run
    checked = engine.get(bruno)
    assert (checked.state, checked.outcome) == (TargetState.COMPLETED, Outcome.EXHAUSTED)
    assert (checked.paid_amount, checked.open_amount) == (Decimal("50.00"), Decimal("70.00"))
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.money.recovered) == (0, Decimal("50.00"))
    assert sum(_recovered_by_day(campaign.id).values(), Decimal("0.00")) == stats.money.recovered
    counters_agree_with_the_cases(campaign.id)


def test_a_customer_the_crm_no_longer_knows_is_never_counted_paid(engine: Engine):
    campaign = engine.campaign(max_contacts=1)
    [carla] = _ended_unanswered(engine, engine.target(campaign, 904))
    del engine.crm.customers[carla.document]  # 404: an unknown customer, not a payment

    reads = _reads_of(engine, carla)
    engine.clock.advance(CHECK_AFTER)
    engine.tick()
    assert _reads_of(engine, carla) == reads + 1
    assert engine.get(carla).outcome is Outcome.EXHAUSTED
    assert campaign_stats(campaign.id).money.recovered == Decimal("0.00")
    engine.clock.advance(timedelta(days=1))
    engine.tick()
    assert _reads_of(engine, carla) == reads + 1  # the check is done: a 404 is an answer


def test_an_unreachable_crm_is_asked_again_later_and_its_silence_never_counts_paid(engine: Engine):
    campaign = engine.campaign(max_contacts=1)
    davi, elis = _ended_unanswered(engine, engine.target(campaign, 905), engine.target(campaign, 906))
    engine.crm.pay_all(davi.document)
    engine.crm.pay_all(elis.document)
    engine.crm.outage = "http_500"

    engine.clock.advance(CHECK_AFTER)
    engine.tick()  # the first read fails: that check waits an hour, the other one the next tick
    assert (engine.get(davi).outcome, engine.get(elis).outcome) == (Outcome.EXHAUSTED, Outcome.EXHAUSTED)
    assert len(targets_data.late_checks_due(campaign.id, engine.clock.now())) == 1
    engine.clock.advance(timedelta(minutes=30))
    engine.tick()
    assert targets_data.late_checks_due(campaign.id, engine.clock.now()) == []

    # Back within the retries: both are read again and closed paid.
    engine.crm.outage = None
    engine.clock.advance(timedelta(hours=1))
    engine.tick()
    assert (engine.get(davi).outcome, engine.get(elis).outcome) == (Outcome.PAID, Outcome.PAID)
    counters_agree_with_the_cases(campaign.id)


def test_a_crm_down_past_the_retries_gives_the_check_up_without_counting_anything(engine: Engine):
    campaign = engine.campaign(max_contacts=1)
    [fabio] = _ended_unanswered(engine, engine.target(campaign, 907))
    engine.crm.pay_all(fabio.document)
    engine.crm.outage = "http_500"
    engine.clock.advance(CHECK_AFTER + RETRY_FOR - timedelta(minutes=1))
    engine.tick()
    [retried] = targets_data.late_checks_due(campaign.id, engine.clock.now() + CRM_RETRY)
    assert retried.target.outcome is Outcome.EXHAUSTED
    engine.clock.advance(CRM_RETRY)
    engine.tick()
    assert targets_data.late_checks_due(campaign.id, engine.clock.now() + timedelta(days=30)) == []

    engine.crm.outage = None
    engine.clock.advance(timedelta(hours=1))
    engine.tick()
    assert engine.get(fabio).outcome is Outcome.EXHAUSTED  # given up: no more reads
    assert campaign_stats(campaign.id).money.recovered == Decimal("0.00")


def test_gabi_opts_out_pays_and_her_money_counts_recovered_while_her_case_stays_opted_out(engine: Engine):
    campaign = engine.campaign(max_contacts=3)
    gabi = engine.target(campaign, 908)
    engine.tick()
    engine.drain("whatsapp")
    optouts.opt_out(phone=gabi.phone, document=None, reason="PARAR", source="whatsapp")
    assert engine.get(gabi).outcome is Outcome.OPTED_OUT
    engine.crm.pay_all(gabi.document)
    sent = len(engine.evolution.texts_to(gabi.phone))

    engine.clock.advance(CHECK_AFTER)
    engine.tick()
    checked = engine.get(gabi)
    assert (checked.outcome, checked.paid_amount) == (Outcome.OPTED_OUT, Decimal("89.90"))
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.money.recovered) == (0, Decimal("89.90"))
    assert len(engine.evolution.texts_to(gabi.phone)) == sent
    counters_agree_with_the_cases(campaign.id)


def test_a_tick_reads_only_the_late_checks_that_are_due(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    campaign = engine.campaign(max_contacts=1)
    waiting = engine.targets(campaign, range(920, 950))
    now = engine.clock.now()
    for n, target in enumerate(waiting):  # ended lately: their checks are days away
        targets_data.record_contact(target)
        targets_data.transition(
            target.id,
            [TargetState.PENDING],
            TargetState.COMPLETED,
            outcome=Outcome.EXHAUSTED,
            late_check=now + timedelta(days=9 + n % 6),
        )
    [due] = _ended_unanswered(engine, engine.target(campaign, 951))

    read: list[str] = []
    batch_get = TargetRecord.batch_get

    def counting(keys, **kwargs):  # type: ignore[no-untyped-def]
        keys = list(keys)
        read.extend(keys)
        return batch_get(keys, **kwargs)

    monkeypatch.setattr(TargetRecord, "batch_get", counting)
    engine.clock.set(engine.get(due).updated_at + CHECK_AFTER)
    assert upkeep.run(None, engine.clock.now()).late_checks == 1
    assert read == [due.id]
    assert len(targets_data.late_checks_due(campaign.id, engine.clock.now())) == 0


def test_an_outcome_a_supervisor_corrected_is_not_checked(engine: Engine):
    campaign = engine.campaign(max_contacts=1)
    [hugo] = _ended_unanswered(engine, engine.target(campaign, 913))
    cases.correct(hugo.id, {"outcome": Outcome.TRANSFERRED, "outcome_details": "Negociado na loja"})
    engine.crm.pay_all(hugo.document)
    reads = _reads_of(engine, hugo)

    engine.clock.advance(CHECK_AFTER)
    engine.tick()
    assert _reads_of(engine, hugo) == reads
    assert engine.get(hugo).outcome is Outcome.TRANSFERRED
    assert TargetRecord.get(hugo.id).agenda is None  # no check left to read at every tick


def test_a_crm_that_does_not_answer_holds_the_other_campaigns_checks_for_the_next_tick(engine: Engine):
    march, april = engine.campaign(max_contacts=1), engine.campaign(max_contacts=1, name="Cobrança Abril")
    ines, joao = _ended_unanswered(engine, engine.target(march, 914), engine.target(april, 915))
    engine.crm.outage = "http_500"
    engine.clock.advance(CHECK_AFTER)
    engine.tick()  # one read failed: one failing read per tick, not one per campaign
    due = [len(targets_data.late_checks_due(c.id, engine.clock.now())) for c in (march, april)]
    assert sorted(due) == [0, 1]

    engine.crm.outage = None
    engine.clock.advance(CRM_RETRY)
    engine.tick()
    assert [engine.get(case).outcome for case in (ines, joao)] == [Outcome.EXHAUSTED, Outcome.EXHAUSTED]
    assert [targets_data.late_checks_due(c.id, engine.clock.now() + CHECK_AFTER) for c in (march, april)] == [
        [],
        [],
    ]


def test_an_invoice_time_barred_since_the_case_ended_is_not_a_payment(engine: Engine):
    """Kaio's invoice turns five years old between the end of his case and its check: the CRM still
    lists it, never collectible again — and never paid."""
    campaign = engine.campaign(max_contacts=1)
    old = SimInvoice("F-1", Decimal("89.90"), date(2020, 3, 14))  # barred from 14/03/2025 on
    invoice = Invoice(invoice_number="F-1", amount=old.amount, due_date=old.due_date)
    [kaio] = _ended_unanswered(engine, engine.target(campaign, 916, crm=[old], invoices=[invoice]))

    engine.clock.advance(CHECK_AFTER)
    engine.tick()
    checked = engine.get(kaio)
    assert (checked.outcome, checked.paid_amount) == (Outcome.EXHAUSTED, Decimal("0.00"))
    assert campaign_stats(campaign.id).money.recovered == Decimal("0.00")
    assert targets_data.late_checks_due(campaign.id, engine.clock.now() + CHECK_AFTER) == []

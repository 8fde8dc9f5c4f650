"""The money KPIs after a scripted campaign, to the centavo: one promise kept, one partial promise
kept (the customer then paid everything), one broken (after a renegotiation), one customer who paid
before any contact. Every figure below is computed by hand from the script."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from infra.local.simulators.crm import SimInvoice
from shared.adapters import clients
from shared.data import targets as targets_data
from shared.domain.models import Channel, Invoice, Outcome, Target
from shared.engine import payments, promises, reporting, stats
from shared.engine.reporting import campaign_stats, global_metrics
from shared.engine.stats import Milestone
from tests.integration.lifecycle.lifecycle_world import Lifecycle

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
FRIDAY = date(2025, 3, 14)


def _invoices(*amounts: str) -> list[Invoice]:
    return [
        Invoice(invoice_number=f"F-{i}", amount=Decimal(a), due_date=date(2025, 2, 10))
        for i, a in enumerate(amounts)
    ]


def _owe(world: Lifecycle, target: Target) -> None:
    world.crm.add_customer(
        target.document,
        target.client_name,
        [SimInvoice(i.invoice_number or "", i.amount, date(2025, 2, 10)) for i in target.invoices],
    )


def _promise(target: Target, amount: str, day: date = FRIDAY) -> None:
    promises.register(
        document=target.document,
        amount=Decimal(amount),
        day=day,
        open_total=target.debt_amount,
        tz=SAO_PAULO,
        target_id=target.id,
    )


def _at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=SAO_PAULO)


def test_money_kpis_of_a_scripted_campaign_match_the_hand_computed_figures(world: Lifecycle) -> None:
    campaign = world.campaign()
    kept = world.target(campaign, document="52998224725", invoices=_invoices("179.80", "100.00"))
    partial = world.target(campaign, document="11144477735", invoices=_invoices("500.00"))
    broken = world.target(campaign, document="12345678909", invoices=_invoices("89.90"))
    cured = world.target(campaign, document="98765432100", invoices=_invoices("150.00"))
    for target in (kept, partial, broken):
        _owe(world, target)
    world.crm.add_customer(cured.document, cured.client_name, [])  # paid before anyone called

    # Monday 10/03 09:00: the first customer is contacted and promises everything for Friday.
    world.clock.set(_at(date(2025, 3, 10), "09:00"))
    targets_data.record_contact(kept)
    _promise(kept, "279.80")
    # The customer who was never contacted says "já paguei": the CRM confirms it.
    payments.verify_claim(cured.document, crm=clients.crm(), today=date(2025, 3, 10), target_id=cured.id)
    # Tuesday 11/03 09:00: a partial promise (200 of 500), and a promise renegotiated 50,00 → 89,90.
    world.clock.set(_at(date(2025, 3, 11), "09:00"))
    targets_data.record_contact(partial)
    targets_data.record_contact(partial)  # a second contact: the first one counts for the days
    _promise(partial, "200.00")
    targets_data.record_contact(broken)
    _promise(broken, "50.00", date(2025, 3, 13))
    _promise(broken, "89.90")
    world.crm.pay_all(kept.document)
    world.crm.pay_all(partial.document)  # paid the whole 500,00

    # Saturday 15/03 09:01 the checks run: two fulfilled; the third is broken on 22/03.
    for offset in range(8):
        world.clock.set(_at(date(2025, 3, 15) + timedelta(days=offset), "09:01"))
        world.fire_due_schedules()
    assert targets_data.get(kept.id).outcome is Outcome.PAID
    assert targets_data.get(partial.id).outcome is Outcome.PAID
    assert targets_data.get(broken.id).outcome is Outcome.PROMISE_BROKEN
    assert targets_data.get(cured.id).outcome is Outcome.PAID

    money = campaign_stats(campaign.id).money
    assert money.in_collection == Decimal("1019.70")  # 179,80 + 100,00 + 500,00 + 89,90 + 150,00
    assert money.promised == Decimal("569.70")  # 279,80 + 200,00 + 89,90 (the 50,00 was replaced)
    assert money.kept == Decimal("479.80")  # 279,80 + 200,00
    assert money.recovered == Decimal("779.80")  # 279,80 + 500,00: what the CRM no longer shows open
    assert money.self_cured == Decimal("150.00")
    assert money.recovery_rate == Decimal("76.5")  # 779,80 / 1.019,70 = 76,47%
    # 10/03 09:00 → 15/03 09:01 and 11/03 09:00 → 15/03 09:01: (5 d + 4 d + 2 min) / 2
    assert money.average_days_to_pay == Decimal("4.5")
    assert global_metrics().money == money


def test_a_campaign_without_payments_has_no_average_and_a_zero_rate(world: Lifecycle) -> None:
    campaign = world.campaign()
    world.target(campaign, invoices=_invoices("0.01"))
    money = campaign_stats(campaign.id).money
    assert (money.in_collection, money.recovered, money.recovery_rate) == (
        Decimal("0.01"),
        Decimal("0.00"),
        Decimal("0.0"),
    )
    assert money.average_days_to_pay is None


def test_the_daily_series_follows_the_customers_local_day_across_midnight(world: Lifecycle) -> None:
    campaign = world.campaign()
    paulo = world.target(campaign, document="52998224725", invoices=_invoices("100.00"))
    manaus = world.target(
        campaign, document="11144477735", phone="5592991234567", invoices=_invoices("40.00")
    )
    _owe(world, paulo)

    world.clock.set(_at(date(2025, 3, 10), "23:50"))  # 02:50 UTC on the 11th
    targets_data.record_contact(paulo)
    stats.count_outreach(campaign.id, Channel.WHATSAPP, phone=paulo.phone)
    world.clock.set(_at(date(2025, 3, 10), "23:55"))
    stats.record_milestone(paulo.id, Milestone.RESPONDED)
    stats.record_milestone(paulo.id, Milestone.RESPONDED)  # once only
    world.clock.set(_at(date(2025, 3, 11), "00:05"))  # past midnight in São Paulo
    _promise(paulo, "100.00")
    world.clock.set(_at(date(2025, 3, 11), "00:30"))  # still 23:30 on the 10th in Manaus
    stats.count_outreach(campaign.id, Channel.VOICE, phone=manaus.phone)
    world.crm.pay_all(paulo.document)
    world.clock.set(_at(date(2025, 3, 15), "09:01"))
    world.fire_due_schedules()

    series = {day.day: day for day in reporting.daily(campaign.id, date(2025, 3, 10), date(2025, 3, 15))}

    assert len(series) == 6
    tenth, eleventh, fifteenth = (
        series[date(2025, 3, 10)],
        series[date(2025, 3, 11)],
        series[date(2025, 3, 15)],
    )
    assert (tenth.contacts, tenth.responses, tenth.promises) == (2, 1, 0)
    assert (eleventh.contacts, eleventh.responses, eleventh.promises) == (0, 0, 1)
    assert (fifteenth.kept, fifteenth.recovered) == (1, Decimal("100.00"))
    assert sum(day.recovered for day in series.values()) == Decimal("100.00")

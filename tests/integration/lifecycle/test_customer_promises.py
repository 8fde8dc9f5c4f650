"""A promise is the customer's, not one case's: it defers every open case of the document in every
campaign, and settling it decides them all — broken, they all return to the queue; kept, each closes
as paid where nothing collectible is left, or goes on for what is still open. A partial promise is
kept by the invoices it was made against, whatever became overdue since. Moto's scheduler fired by the
virtual clock, the CRM simulator answering."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from infra.local.simulators.crm import SimInvoice
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.models import Campaign, Invoice, Outcome, Promise, PromiseStatus, Target, TargetState
from shared.engine import promises
from shared.engine.reporting import campaign_stats
from tests.integration.lifecycle.lifecycle_world import Lifecycle

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DOCUMENT = "52998224725"
FRIDAY = date(2025, 3, 14)  # the clock starts on Monday 2025-03-10, 09:00 in São Paulo
AFTER_FRIDAY = datetime(2025, 3, 15, 3, 0, tzinfo=UTC)  # Saturday 00:00 in São Paulo
F1 = SimInvoice("F-1", Decimal("100.00"), date(2025, 1, 10))
F2 = SimInvoice("F-2", Decimal("80.00"), date(2025, 2, 10))


def case(world: Lifecycle, campaign: Campaign, *invoices: SimInvoice, **overrides: object) -> Target:
    held = [Invoice(invoice_number=i.number, amount=i.amount, due_date=i.due_date) for i in invoices]
    return world.target(campaign, invoices=held, **overrides)


def promise_for(target: Target, amount: str, *invoices: SimInvoice) -> Promise:
    """What the assistant's tool registers: the promise against the CRM's open invoices."""
    return promises.register(
        document=target.document,
        amount=Decimal(amount),
        day=FRIDAY,
        open_total=sum((i.amount for i in invoices), Decimal("0.00")),
        invoice_numbers=[i.number for i in invoices],
        tz=SAO_PAULO,
        target_id=target.id,
    )


def live_in(world: Lifecycle, day: date, at: str = "09:01") -> None:
    world.clock.set(datetime.combine(day, datetime.strptime(at, "%H:%M").time(), tzinfo=SAO_PAULO))
    world.fire_due_schedules()


def test_a_promise_defers_every_case_of_the_customer_and_broken_returns_them_all(world: Lifecycle) -> None:
    world.crm.add_customer(DOCUMENT, "Maria Silva", [F1, F2])
    march, april = world.campaign(), world.campaign(name="Abril")
    talking = case(world, march, F1)
    targets_data.transition(
        talking.id, [TargetState.PENDING], TargetState.CONTACTED, outcome=Outcome.ANSWERED
    )
    waiting = case(world, april, F2, next_attempt_at=world.clock.now() + timedelta(hours=2))
    stranger = case(world, april, F2, document="11144477735", phone="5511977776666")

    promise = promise_for(talking, "180.00", F1, F2)

    assert (promise.open_amount, promise.invoice_numbers) == (Decimal("180.00"), ["F-1", "F-2"])
    for deferred in (talking, waiting):
        stored = targets_data.get(deferred.id)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
        assert stored.next_attempt_at == AFTER_FRIDAY
        assert stored.outcome_details == "Promessa registrada até 14/03/2025"
    assert targets_data.get(stranger.id).state is TargetState.PENDING
    assert targets_data.get(stranger.id).outcome is None

    for offset in range(12):  # the daily checks until the 8th morning after Friday
        live_in(world, date(2025, 3, 11) + timedelta(days=offset))

    assert promises_data.get(promise.id).status is PromiseStatus.BROKEN
    for returned in (talking, waiting):
        stored = targets_data.get(returned.id)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)
        assert stored.next_attempt_at == datetime(2025, 3, 22, 12, 1, tzinfo=UTC)  # due again at once
    assert targets_data.get(stranger.id).outcome is None
    assert campaign_stats(march.id).broken == 1


def test_a_fulfilled_promise_closes_every_case_of_the_customer_as_paid(world: Lifecycle) -> None:
    world.crm.add_customer(DOCUMENT, "Maria Silva", [F1, F2])
    march, april = world.campaign(), world.campaign(name="Abril")
    first, second = case(world, march, F1), case(world, april, F2)
    targets_data.record_contact(first)  # the outreach that led to the promise
    promise = promise_for(first, "180.00", F1, F2)
    world.crm.pay_all(DOCUMENT)

    live_in(world, date(2025, 3, 15))

    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    for paid in (first, second):
        stored = targets_data.get(paid.id)
        assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    stats = campaign_stats(march.id)
    assert (stats.fulfilled, stats.paid, stats.self_cured) == (1, 1, 0)


def test_a_kept_partial_promise_is_fulfilled_while_another_invoice_stays_open(world: Lifecycle) -> None:
    customer = world.crm.add_customer(DOCUMENT, "Maria Silva", [F1, F2])
    march, april = world.campaign(), world.campaign(name="Abril")
    whole = case(world, march, F1, F2)
    only_f1 = case(world, april, F1)
    promise = promise_for(whole, "100.00", F1, F2)  # 100.00 of the 180.00 open
    # By Saturday the customer paid F-1, and a new invoice came due meanwhile.
    customer.invoices[:] = [F2, SimInvoice("F-3", Decimal("99.90"), date(2025, 3, 12))]

    live_in(world, date(2025, 3, 15))

    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    continued = targets_data.get(whole.id)  # F-2 is still open: the case goes on
    assert continued.state is TargetState.PENDING
    assert continued.outcome is None  # the kept promise resolves nothing more: the cadence goes on
    assert continued.next_attempt_at == world.clock.now() + timedelta(days=march.follow_up_after_days)
    assert "ainda há faturas em aberto" in (continued.outcome_details or "")
    closed = targets_data.get(only_f1.id)  # nothing of this case is open any more
    assert (closed.state, closed.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert world.schedules() == []


def test_a_partial_payment_short_of_the_promise_does_not_keep_it(world: Lifecycle) -> None:
    customer = world.crm.add_customer(DOCUMENT, "Maria Silva", [F1, F2])
    target = case(world, world.campaign(), F1, F2)
    promise = promise_for(target, "100.00", F1, F2)
    customer.invoices[:] = [F1]  # paid F-2: 80.00 of the 100.00 promised

    live_in(world, date(2025, 3, 15))

    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert targets_data.get(target.id).outcome is Outcome.PROMISE_MADE


def test_a_given_up_case_never_contacted_paid_on_another_campaigns_promise_is_not_self_cured(
    world: Lifecycle,
) -> None:
    world.crm.add_customer(DOCUMENT, "Maria Silva", [F1, F2])
    march, april = world.campaign(), world.campaign(name="Abril")
    talking = case(world, march, F1)
    targets_data.record_contact(talking)
    # April's only channel never reached her (not on WhatsApp): it gave up without a contact.
    gave_up = case(world, april, F2)
    targets_data.transition(
        gave_up.id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.NOT_ON_WHATSAPP
    )
    promise_for(talking, "180.00", F1, F2)
    world.crm.pay_all(DOCUMENT)
    live_in(world, date(2025, 3, 15))

    assert targets_data.get(gave_up.id).outcome is Outcome.PAID
    stats = campaign_stats(april.id)
    assert (stats.paid, stats.self_cured, stats.money.recovered) == (1, 0, Decimal("80.00"))

"""Outcomes say what happened, and the customer is one person: the CRM's answer read once for the
guards and payment claims (a 404 is never a payment), a payment claim quieting the customer in every
campaign, and customers who paid before any contact counted apart (`selfCured`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.adapters import clients
from shared.domain.models import Outcome, TargetState
from shared.engine import payments
from shared.engine.reporting import campaign_stats, global_metrics
from tests.integration.engine.engine_world import Engine, invoice

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # Monday 09:00 in São Paulo (the `clock` fixture)
TODAY = date(2025, 3, 10)


def claim(document: str, target_id: str | None = None) -> payments.ClaimVerification:
    """What the assistant's `atualizar_status_pagamento` does when the customer says they paid."""
    return payments.verify_claim(document, crm=clients.crm(), today=TODAY, target_id=target_id)


def test_a_payment_claim_by_a_customer_the_crm_does_not_know_is_never_paid(engine: Engine) -> None:
    campaign = engine.campaign()
    target = engine.target(campaign, 21, in_crm=False)

    verification = claim(target.document, target.id)

    assert verification.result is payments.ClaimResult.UNKNOWN_CUSTOMER
    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.UNKNOWN_CUSTOMER)
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.outcomes["unknown_customer"]) == (0, 1)
    assert global_metrics().paid == 0


def test_a_payment_claim_quiets_the_customer_in_every_campaign_for_three_days(engine: Engine) -> None:
    first, second = engine.campaign(), engine.campaign()
    one = engine.target(first, 22)
    other = engine.target(second, 22, phone="5511988887777")  # the same customer in another campaign
    bystander = engine.target(second, 23)

    verification = claim(one.document, one.id)

    assert verification.result is payments.ClaimResult.NOT_YET_VISIBLE
    quiet_until = NOW + timedelta(days=payments.CLAIM_QUIET_DAYS)
    assert verification.recheck_at == quiet_until
    for case in (one, other):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PAYMENT_CLAIMED)
        assert stored.next_attempt_at == quiet_until
    assert engine.get(bystander).next_attempt_at == NOW  # another customer: untouched

    engine.tick()
    engine.drain("whatsapp")
    assert [message.number for message in engine.evolution.sent] == [bystander.phone]

    engine.clock.set(quiet_until - timedelta(minutes=1))
    engine.tick()
    engine.drain("whatsapp")
    assert len(engine.evolution.sent) == 1  # still quiet, in both campaigns

    engine.clock.set(quiet_until)
    engine.tick()
    engine.drain("whatsapp")
    # Three days on, the CRM still shows the debt: one contact (the frequency cap is per customer).
    assert len(engine.evolution.sent) == 2
    # The claim, then the guard of the case that went out; the other case waits on the cap, unasked.
    assert engine.crm.queries.count(one.document) == 2
    assert {engine.get(case).state for case in (one, other)} == {TargetState.PENDING, TargetState.CONTACTED}


def test_a_payment_claim_also_quiets_cases_of_the_customer_imported_after_it(engine: Engine) -> None:
    first = engine.campaign()
    claimed = engine.target(first, 26)
    claim(claimed.document, claimed.id)
    quiet_until = NOW + timedelta(days=payments.CLAIM_QUIET_DAYS)

    engine.clock.advance(timedelta(hours=1))
    later = engine.target(engine.campaign(), 26, in_crm=False)  # imported after the claim, due now
    engine.tick()
    engine.drain("whatsapp")

    assert engine.evolution.sent == []
    stored = engine.get(later)
    assert stored.state is TargetState.PENDING
    assert stored.next_attempt_at >= quiet_until
    assert "informou pagamento" in (stored.outcome_details or "")
    assert engine.crm.queries.count(later.document) == 1  # the claim's; the guard did not ask

    engine.clock.set(stored.next_attempt_at)
    engine.tick()
    engine.drain("whatsapp")
    assert [message.number for message in engine.evolution.sent] == [
        claimed.phone
    ]  # one customer, one contact


def test_customers_who_paid_before_any_contact_are_counted_apart_from_conversion(engine: Engine) -> None:
    campaign = engine.campaign()
    self_cured = engine.scheduled(campaign, 24, crm=[])  # nothing open when the guard asks
    contacted = engine.scheduled(campaign, 25, crm=[invoice()])

    engine.drain("whatsapp")
    assert engine.get(contacted).contact_count == 1
    engine.crm.pay_all(contacted.document)
    assert claim(contacted.document, contacted.id).result is payments.ClaimResult.PAID

    assert engine.get(self_cured).outcome is Outcome.PAID
    assert engine.get(contacted).outcome is Outcome.PAID
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, stats.contacted) == (2, 1, 1)
    conversion = next(kpi for kpi in stats.kpis if kpi.name == "conversionRate")
    assert (conversion.numerator, conversion.denominator, str(conversion.value)) == (1, 1, "100.0")
    metrics = global_metrics()
    assert (metrics.paid, metrics.self_cured, str(metrics.conversion_rate)) == (2, 1, "100.0")

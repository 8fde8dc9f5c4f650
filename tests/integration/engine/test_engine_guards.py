"""The pre-send guards, in SPEC order, through the real workers: each decision recorded on the target,
counted as `skip:<reason>`, and nothing sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.data import campaigns as campaigns_data
from shared.data import contact_log, counters
from shared.data import promises as promises_data
from shared.domain.models import CampaignStatus, Channel, Outcome, TargetState
from shared.engine import optouts
from shared.engine.reporting import campaign_stats
from tests.integration.engine.engine_world import Engine, cpf, invoice, mobile

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # Monday 09:00 in São Paulo (the `clock` fixture)


def _skips(engine: Engine, campaign_id: str) -> dict[str, int]:
    return {
        k: v for k, v in counters.read(counters.campaign_scope(campaign_id)).items() if k.startswith("skip:")
    }


def _nothing_sent(engine: Engine) -> bool:
    return engine.evolution.sent == [] and engine.twilio.calls == {}


@pytest.mark.parametrize("by", ["phone", "document"])
def test_a_customer_who_opted_out_before_the_import_is_completed_without_asking_the_crm(
    engine: Engine, by: str
):
    campaign = engine.campaign()
    optouts.opt_out(
        phone=mobile("11", 1) if by == "phone" else None,
        document=cpf(1) if by == "document" else None,
        reason="PARAR",
        source="keyword",
    )
    target = engine.scheduled(campaign, 1)  # imported after the opt-out: only the guard can stop it

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT)
    assert _nothing_sent(engine) and engine.crm.queries == []
    assert _skips(engine, campaign.id) == {"skip:opted_out": 1}


def test_an_opt_out_ends_every_open_case_it_covers_at_once_and_their_queued_jobs_send_nothing(engine: Engine):
    first, second = engine.campaign(), engine.campaign()
    queued = engine.scheduled(first, 1)  # its job is on the queue
    waiting = engine.target(second, 1)  # the same customer in another campaign
    on_the_phone = engine.target(first, 2, phone=mobile("11", 3))  # another customer, contacted on that phone
    other = engine.target(second, 3)  # that phone's owner: contacted on it too
    untouched = engine.target(first, 4)

    optouts.opt_out(phone=mobile("11", 3), document=cpf(1), reason="PARAR", source="api")
    engine.drain("whatsapp")

    for case in (queued, waiting, on_the_phone, other):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT), case.id
    assert engine.get(untouched).state is TargetState.PENDING
    assert _nothing_sent(engine) and engine.crm.queries == []


def test_outside_the_window_the_target_waits_for_the_exact_next_opening(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 2)
    engine.clock.set(datetime(2025, 3, 11, 0, 30, tzinfo=UTC))  # Monday 21:30 in São Paulo: closed

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert stored.state is TargetState.PENDING
    assert stored.next_attempt_at == datetime(2025, 3, 11, 11, 0, tzinfo=UTC)  # Tuesday 08:00 SP
    assert "Fora da janela de contato" in (stored.outcome_details or "")
    assert _nothing_sent(engine) and engine.crm.queries == []
    assert _skips(engine, campaign.id) == {"skip:window": 1}


def test_the_window_is_read_in_the_customers_zone(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 3, ddd="92")  # Manaus, UTC-4
    engine.clock.set(datetime(2025, 3, 10, 11, 30, tzinfo=UTC))  # 08:30 in São Paulo, 07:30 in Manaus

    engine.drain("whatsapp")

    assert engine.get(target).next_attempt_at == datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 08:00 Manaus
    assert _nothing_sent(engine)


def test_a_customer_already_contacted_today_waits_for_tomorrows_opening(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 4)
    earlier = NOW - timedelta(hours=1)
    assert contact_log.reserve_contact(
        target.document, earlier, date(2025, 3, 10), 1, Channel.VOICE, "another-target"
    )

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert stored.state is TargetState.PENDING
    assert stored.next_attempt_at == datetime(2025, 3, 11, 11, 0, tzinfo=UTC)  # Tuesday 08:00 SP
    assert "Limite de contatos" in (stored.outcome_details or "")
    assert _nothing_sent(engine) and engine.crm.queries == []
    assert _skips(engine, campaign.id) == {"skip:frequency_cap": 1}


def test_three_contacts_in_seven_days_wait_until_the_oldest_leaves_the_week(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 5)
    for day in (4, 5, 7):  # Tue, Wed, Fri of the previous week, 10:00 SP
        at = datetime(2025, 3, day, 13, 0, tzinfo=UTC)
        assert contact_log.reserve_contact(target.document, at, at.date(), 1, Channel.WHATSAPP, f"t{day}")

    engine.drain("whatsapp")

    assert engine.get(target).next_attempt_at == datetime(
        2025, 3, 11, 13, 0, tzinfo=UTC
    )  # 04/03 10:00 + 7 days
    assert _nothing_sent(engine)


def test_two_campaigns_never_contact_the_same_document_twice_a_day(engine: Engine):
    first, second = engine.campaign(), engine.campaign()
    one = engine.scheduled(first, 6)
    other = engine.scheduled(second, 6, phone="5511988887777")

    engine.drain("whatsapp")

    assert len(engine.evolution.sent) == 1
    assert sorted([engine.get(one).state, engine.get(other).state]) == sorted(
        [TargetState.CONTACTED, TargetState.PENDING]
    )


def test_nothing_open_in_the_crm_completes_the_target_as_paid(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 7, crm=[])

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert "verificado no CRM" in (stored.outcome_details or "")
    assert engine.crm.queries == [target.document]
    assert _nothing_sent(engine)
    assert _skips(engine, campaign.id) == {"skip:paid": 1}
    # The day's slot was never taken: nobody was contacted.
    assert contact_log.contacts_since(target.document, NOW - timedelta(days=1)) == []


def test_a_customer_the_crm_does_not_know_ends_unknown_never_paid(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 8, in_crm=False)

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.UNKNOWN_CUSTOMER)
    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured, stats.outcomes["unknown_customer"]) == (0, 0, 1)
    assert "não encontrado no CRM" in (stored.outcome_details or "")
    assert _nothing_sent(engine)
    assert _skips(engine, campaign.id) == {"skip:unknown_customer": 1}


def test_only_time_barred_invoices_are_never_collected(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 9, crm=[invoice(due=date(2019, 1, 10))])

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.TIME_BARRED)
    assert campaign_stats(campaign.id).paid == 0
    assert "prescritas" in (stored.outcome_details or "")
    assert _nothing_sent(engine)


@pytest.mark.parametrize("outage", ["http_500", "timeout", "malformed"])
def test_crm_down_sends_nothing_and_retries_within_the_window(engine: Engine, outage: str):
    campaign = engine.campaign()
    targets = [engine.scheduled(campaign, seed) for seed in (10, 11)]
    engine.crm.outage = outage  # type: ignore[assignment]

    report = engine.drain("whatsapp")

    assert report.failed == 0  # fail closed, decided: no SQS retry storm against a down CRM
    assert _nothing_sent(engine)
    for target in targets:
        stored = engine.get(target)
        assert stored.state is TargetState.PENDING and stored.outcome is None
        assert stored.next_attempt_at == NOW + timedelta(minutes=30)
        assert "CRM indisponível" in (stored.outcome_details or "")
        assert contact_log.contacts_since(target.document, NOW - timedelta(days=1)) == []
    assert _skips(engine, campaign.id) == {"skip:crm_unavailable": 2}


def test_crm_down_near_closing_time_retries_at_the_next_opening(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 12)
    engine.crm.outage = "http_500"
    engine.clock.set(datetime(2025, 3, 10, 22, 45, tzinfo=UTC))  # 19:45 SP; +30 min is past 20:00

    engine.drain("whatsapp")

    assert engine.get(target).next_attempt_at == datetime(2025, 3, 11, 11, 0, tzinfo=UTC)


def test_an_active_promise_defers_the_case_to_the_promises_end(engine: Engine, make_promise):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 13)
    promises_data.create(
        make_promise(
            document=target.document,
            due_date=date(2025, 3, 13),
            due_at=datetime(2025, 3, 14, 2, 59, 59, 999000, tzinfo=UTC),
        )
    )

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert stored.state is TargetState.PENDING
    assert stored.next_attempt_at == datetime(2025, 3, 14, 11, 0, tzinfo=UTC)  # Friday 14/03, 08:00 SP
    assert "válida até 13/03/2025" in (stored.outcome_details or "")
    assert _nothing_sent(engine)
    assert _skips(engine, campaign.id) == {"skip:active_promise": 1}


def test_an_expired_promise_no_longer_protects(engine: Engine, make_promise):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 14)
    promises_data.create(
        make_promise(
            document=target.document,
            due_date=date(2025, 3, 9),
            due_at=datetime(2025, 3, 10, 2, 59, tzinfo=UTC),
        )
    )

    engine.drain("whatsapp")

    assert len(engine.evolution.texts_to(target.phone)) == 1


def test_a_paused_campaign_puts_its_scheduled_targets_back_to_wait(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 15)
    campaigns_data.transition_status(campaign.id, [CampaignStatus.ACTIVE], CampaignStatus.PAUSED)

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert stored.state is TargetState.PENDING and stored.next_attempt_at == NOW
    assert _nothing_sent(engine) and engine.crm.queries == []
    assert _skips(engine, campaign.id) == {"skip:campaign_inactive": 1}


def test_the_dialer_runs_the_same_guards(engine: Engine):
    campaign = engine.campaign()
    paid = engine.scheduled(campaign, 16, channel=Channel.VOICE, crm=[])
    optouts.opt_out(phone=mobile("11", 17), document=None, reason=None, source="api")
    opted = engine.scheduled(campaign, 17, channel=Channel.VOICE)  # imported after the opt-out

    engine.drain("dialer")

    assert engine.get(paid).outcome is Outcome.PAID
    assert engine.get(opted).outcome is Outcome.OPTED_OUT
    assert engine.twilio.calls == {}
    assert _skips(engine, campaign.id) == {"skip:paid": 1, "skip:opted_out": 1}

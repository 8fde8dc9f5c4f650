"""The scheduler worker: due targets through the index onto the channel queues, the contact window
(zones, Saturdays, holidays) and the pacing to channel capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.core import clock
from shared.core.config import get_settings, reset_settings
from shared.core.jobs import SchedulerTick
from shared.data import counters
from shared.data import targets as targets_data
from shared.data.targets import Due
from shared.domain.models import CampaignStatus, Channel, ContactMethod, Outcome, TargetState
from shared.engine import cadence, optouts, postcall, short_calls, sweep, upkeep
from shared.engine import campaigns as campaign_rules
from tests.integration.engine.engine_world import Engine


def _at(text: str) -> datetime:
    """A São Paulo / Rio wall-clock time (UTC-3 all year since 2019) as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) + timedelta(hours=3)


def _capacity(monkeypatch: pytest.MonkeyPatch, per_second: str) -> None:
    monkeypatch.setenv("WHATSAPP_MESSAGES_PER_SECOND", per_second)
    reset_settings()


def test_a_tick_takes_due_targets_onto_their_channel_queue_and_they_get_their_message(engine: Engine):
    campaign = engine.campaign()
    due = [engine.target(campaign, seed) for seed in (1, 2)]
    later = engine.target(campaign, 3, next_attempt_at=engine.clock.now() + timedelta(hours=1))

    engine.tick()

    for target in due:
        stored = engine.get(target)
        assert stored.state is TargetState.SCHEDULED and stored.channel is Channel.WHATSAPP
    assert engine.get(later).state is TargetState.PENDING
    assert sorted(b["targetId"] for b in engine.bodies("whatsapp")) == sorted(t.id for t in due)
    assert all(b["attempt"] == 1 and b["channel"] == "whatsapp" for b in engine.bodies("whatsapp"))

    engine.drain("whatsapp")

    assert sorted(s.number for s in engine.evolution.sent) == sorted(t.phone for t in due)


def test_a_retry_keeps_its_channel_and_carries_the_next_attempt_number(engine: Engine):
    campaign = engine.campaign()
    target = engine.target(campaign, 4, channel=Channel.VOICE, attempt_count=1)

    engine.tick()

    assert engine.bodies("dialer") == [
        {"targetId": target.id, "campaignId": campaign.id, "channel": "voice", "attempt": 2}
    ]
    assert engine.bodies("whatsapp") == []


def test_a_landline_is_called_rather_than_messaged(engine: Engine):
    campaign = engine.campaign()  # WhatsApp first, then voice
    landline = engine.target(campaign, 16, phone="551133334444")
    only_whatsapp = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    unreachable = engine.target(only_whatsapp, 17, phone="551133335555")

    engine.tick()

    assert [b["targetId"] for b in engine.bodies("dialer")] == [landline.id]
    assert engine.bodies("whatsapp") == []
    stored = engine.get(unreachable)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.NOT_ON_WHATSAPP)


def test_an_opted_out_customer_is_never_taken_while_the_others_wait_for_the_window(engine: Engine):
    campaign = engine.campaign()
    opted = engine.target(campaign, 18)
    waiting = engine.target(campaign, 19)
    optouts.opt_out(phone=None, document=opted.document, reason="PARAR", source="keyword")
    engine.clock.set(_at("2025-03-10T21:30:00"))  # Monday 21:30 in São Paulo: closed

    engine.tick()

    stored = engine.get(opted)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.OPTED_OUT)
    assert engine.get(waiting).state is TargetState.PENDING  # rescheduled to the next opening
    assert engine.bodies("whatsapp") == [] and engine.crm.queries == []


def test_paused_and_completed_campaigns_are_not_taken(engine: Engine):
    paused = engine.campaign(status=CampaignStatus.PAUSED)
    completed = engine.campaign(status=CampaignStatus.COMPLETED)
    targets = [engine.target(paused, 5), engine.target(completed, 6)]

    engine.tick()
    engine.tick(paused.id)

    assert all(engine.get(t).state is TargetState.PENDING for t in targets)
    assert engine.bodies("whatsapp") == []


def test_activating_a_campaign_schedules_it_at_once(engine: Engine):
    campaign = engine.campaign(status=CampaignStatus.DRAFT)
    target = engine.target(campaign, 7)
    other = engine.target(engine.campaign(), 8)

    campaign_rules.change_status(
        campaign.id, CampaignStatus.ACTIVE
    )  # sends {"campaignId", "reason": "activated"}
    engine.drain("scheduler")
    engine.drain("whatsapp")

    assert engine.evolution.texts_to(target.phone) != []
    assert engine.get(other).state is TargetState.PENDING  # an activation sweeps its own campaign only


def test_without_a_scheduler_queue_completing_closes_the_open_cases_at_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    campaign = engine.campaign()
    waiting, queued = engine.target(campaign, 7), engine.scheduled(campaign, 8)
    monkeypatch.delenv("SCHEDULER_QUEUE_URL")
    reset_settings()

    campaign_rules.change_status(campaign.id, CampaignStatus.COMPLETED)

    assert {engine.get(t).state for t in (waiting, queued)} == {TargetState.COMPLETED}
    engine.drain("whatsapp")
    assert engine.evolution.sent == []


@pytest.mark.parametrize(
    ("now", "ddd", "opening"),
    [
        # Friday evening: São Paulo may call on Saturday morning, Rio waits for Monday.
        ("2025-03-14T20:30", "11", "2025-03-15T08:00"),
        ("2025-03-14T20:30", "21", "2025-03-17T09:00"),
        # Saturday 10:00: Rio never on Saturdays; São Paulo only until 14:00.
        ("2025-03-15T10:00", "21", "2025-03-17T09:00"),
        ("2025-03-15T15:00", "11", "2025-03-17T08:00"),
        # Carnival Monday and Tuesday are holidays: Ash Wednesday morning.
        ("2025-03-03T10:00", "11", "2025-03-05T08:00"),
        ("2025-03-04T19:00", "21", "2025-03-05T09:00"),
        # Good Friday, then Tiradentes on Monday 21/04: São Paulo on Saturday, Rio on Tuesday.
        ("2025-04-18T10:00", "11", "2025-04-19T08:00"),
        ("2025-04-18T10:00", "21", "2025-04-22T09:00"),
        # Before Rio's 09:00 on a weekday.
        ("2025-03-11T08:30", "21", "2025-03-11T09:00"),
    ],
)
def test_a_closed_window_leaves_the_target_pending_until_its_exact_opening(
    engine: Engine, now: str, ddd: str, opening: str
):
    engine.clock.set(_at(now))
    campaign = engine.campaign()
    target = engine.target(campaign, 9, ddd=ddd)

    engine.tick()

    stored = engine.get(target)
    assert stored.state is TargetState.PENDING
    assert stored.next_attempt_at == _at(opening)
    assert engine.bodies("whatsapp") == []


def test_on_a_saturday_morning_sao_paulo_is_taken_and_rio_is_not(engine: Engine):
    engine.clock.set(_at("2025-03-15T10:00"))
    campaign = engine.campaign()
    sao_paulo, rio = engine.target(campaign, 10, ddd="11"), engine.target(campaign, 11, ddd="21")

    engine.tick()

    assert engine.get(sao_paulo).state is TargetState.SCHEDULED
    assert engine.get(rio).state is TargetState.PENDING


def test_campaign_hours_and_weekdays_narrow_the_window(engine: Engine):
    engine.clock.set(_at("2025-03-14T10:00"))  # a Friday
    campaign = engine.campaign(schedule_start="13:00", schedule_end="17:00", weekdays=[1, 2, 3, 4, 5])
    target = engine.target(campaign, 12)

    engine.tick()

    assert engine.get(target).next_attempt_at == _at("2025-03-14T13:00")
    engine.clock.set(_at("2025-03-14T17:30"))
    targets_data.reschedule(target.id, engine.clock.now())

    engine.tick()

    assert engine.get(target).next_attempt_at == _at("2025-03-17T13:00")  # no Saturday in this campaign


def test_a_tick_takes_at_most_capacity_times_tick_length_and_spreads_the_delays(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    _capacity(monkeypatch, "0.05")  # one message every 20 s: 15 per 5-minute tick
    campaign = engine.campaign()
    engine.targets(campaign, range(100, 120))

    first = sweep.sweep(SchedulerTick())

    assert [d.delay_seconds for d in first.dispatched] == list(range(0, 300, 20))
    assert engine.depth("whatsapp") == {"visible": 1, "delayed": 14}  # the queue holds one tick of work

    again = sweep.sweep(SchedulerTick())  # an overlapping tick: the channel is already booked
    assert again.dispatched == []

    engine.clock.advance(timedelta(seconds=300))
    third = sweep.sweep(SchedulerTick())

    assert [d.delay_seconds for d in third.dispatched] == list(range(0, 100, 20))
    assert len({d.target_id for d in first.dispatched + third.dispatched}) == 20


def test_an_overlapping_tick_only_fills_what_is_left_of_the_horizon(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    _capacity(monkeypatch, "0.05")
    campaign = engine.campaign()
    engine.targets(campaign, range(200, 225))
    sweep.sweep(SchedulerTick())

    engine.clock.advance(timedelta(seconds=120))  # an activation two minutes after the cron's tick
    overlapping = sweep.sweep(SchedulerTick())

    # The first sweep booked until +300 s; 120 s later only 120 s of room remain ahead of now + 300 s.
    assert [d.delay_seconds for d in overlapping.dispatched] == list(range(180, 300, 20))


def test_campaigns_share_a_channel_fairly(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    _capacity(monkeypatch, "0.03")  # 9 per tick
    big, small = engine.campaign(), engine.campaign()
    engine.targets(big, range(300, 315))
    engine.targets(small, range(340, 343))

    report = sweep.sweep(SchedulerTick())

    # First pass: 5 each at most (small has 3); second pass: the 1 left goes to whoever has more.
    taken = [d.target_id for d in report.dispatched]
    by_campaign = {t.id: t.campaign_id for t in [engine.get(i) for i in taken]}
    assert len(taken) == 9
    assert list(by_campaign.values()).count(small.id) == 3
    assert sorted(d.delay_seconds for d in report.dispatched) == [0, 33, 66, 100, 133, 166, 200, 233, 266]


def test_each_channel_has_its_own_capacity(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    _capacity(monkeypatch, "0.02")  # 6 messages per tick
    monkeypatch.setenv("VOICE_CALLS_PER_SECOND", "0.01")  # 3 calls per tick
    reset_settings()
    messages = engine.campaign()
    calls = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    engine.targets(messages, range(400, 408))
    engine.targets(calls, range(500, 505))

    report = sweep.sweep(SchedulerTick())

    assert report.per_channel() == {"whatsapp": 6, "voice": 3}
    assert [d.delay_seconds for d in report.dispatched if d.channel is Channel.VOICE] == [0, 100, 200]


def test_too_many_short_calls_today_halve_the_voice_capacity(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VOICE_CALLS_PER_SECOND", "0.02")  # 6 calls per tick
    reset_settings()
    today = clock.now().astimezone(get_settings().default_zone).date()
    counters.increment_many(short_calls.day_scope(today), {"calls:le3s": 12, "calls:longer": 18})  # 40%
    calls = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    engine.targets(calls, range(600, 610))

    report = sweep.sweep(SchedulerTick())

    assert report.per_channel() == {"voice": 3}
    assert [d.delay_seconds for d in report.dispatched] == [0, 100, 200]


def test_a_target_another_worker_took_first_is_skipped_not_an_error(engine: Engine):
    campaign = engine.campaign()
    contested, free = engine.target(campaign, 13), engine.target(campaign, 14)
    data_client: Any = targets_data.TargetRecord._get_connection().connection.client
    raced: list[str] = []

    def another_worker_wins(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", {}).get("id", {}).get("S") == contested.id and not raced:
            raced.append(contested.id)
            targets_data.transition(
                contested.id, [TargetState.PENDING], TargetState.SCHEDULED, channel=Channel.VOICE
            )

    data_client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", another_worker_wins)
    try:
        report = sweep.sweep(SchedulerTick())
    finally:
        data_client.meta.events.unregister("before-parameter-build.dynamodb.UpdateItem", another_worker_wins)

    assert raced and report.lost_races == 1
    assert [d.target_id for d in report.dispatched] == [free.id]
    assert engine.get(contested).channel is Channel.VOICE  # the winner's write stands


def test_a_window_that_never_opens_is_looked_at_again_tomorrow(engine: Engine):
    campaign = engine.campaign(schedule_start="19:00", schedule_end="20:00")  # Rio closes at 19:00
    target = engine.target(campaign, 15, ddd="21")

    engine.tick()

    assert engine.get(target).next_attempt_at == engine.clock.now() + timedelta(days=1)


# --- Upkeep: a WhatsApp message nobody answers -------------------------------------------------------


def test_a_message_unanswered_for_a_day_moves_the_target_to_its_next_channel(engine: Engine):
    campaign = engine.campaign(max_attempts_per_channel=1)  # WhatsApp, then voice
    target = engine.scheduled(campaign, 21)
    engine.drain("whatsapp")
    engine.delivered()
    assert engine.get(target).state is TargetState.CONTACTED

    engine.clock.advance(timedelta(hours=23))
    engine.tick()
    assert engine.get(target).state is TargetState.CONTACTED  # still within the reply window

    engine.clock.advance(timedelta(hours=2))
    engine.tick()

    stored = engine.get(target)
    assert (stored.state, stored.outcome, stored.channel) == (
        TargetState.SCHEDULED,
        Outcome.NO_ANSWER,
        Channel.VOICE,
    )
    assert stored.outcome_details is not None
    assert stored.outcome_details.startswith("Sem resposta no WhatsApp em 24 h — 1 tentativa(s) por WhatsApp")
    assert [b["targetId"] for b in engine.bodies("dialer")] == [target.id]


def test_an_unanswered_message_is_retried_while_the_channel_has_attempts_left(engine: Engine):
    campaign = engine.campaign(max_attempts_per_channel=2)
    target = engine.scheduled(campaign, 22)
    engine.drain("whatsapp")
    engine.delivered()

    engine.clock.advance(timedelta(hours=25))
    report = upkeep.run(None, engine.clock.now())

    assert report.unanswered == 1
    stored = engine.get(target)
    assert (stored.state, stored.channel, stored.channel_attempts) == (
        TargetState.PENDING,
        Channel.WHATSAPP,
        1,
    )
    assert stored.next_attempt_at > engine.clock.now()  # after the backoff, not at once


def test_a_customer_who_replied_is_not_concluded_as_unanswered(engine: Engine):
    campaign = engine.campaign(max_attempts_per_channel=1)
    target = engine.scheduled(campaign, 23)
    engine.drain("whatsapp")
    cadence.follow_up(engine.get(target), [TargetState.CONTACTED], label="Cliente respondeu")

    engine.clock.advance(timedelta(hours=25))
    assert upkeep.run(campaign.id, engine.clock.now()).unanswered == 0

    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert engine.bodies("dialer") == []


def test_a_reply_racing_the_unanswered_check_wins(engine: Engine):
    campaign = engine.campaign(max_attempts_per_channel=1)
    engine.scheduled(campaign, 24)
    engine.drain("whatsapp")
    engine.delivered()
    engine.clock.advance(timedelta(hours=25))
    [waiting] = engine.awaiting(campaign.id, Due.DELIVERY, engine.clock.now())  # upkeep's first look
    cadence.follow_up(waiting, [TargetState.CONTACTED], label="Cliente respondeu")  # after the query

    assert (
        postcall.conclude_attempt(
            waiting, Outcome.NO_ANSWER, from_states=(TargetState.CONTACTED,), awaiting=Due.DELIVERY
        ).action
        is postcall.Action.IGNORED
    )
    assert engine.get(waiting).state is TargetState.PENDING


def test_an_answered_call_is_not_mistaken_for_an_unanswered_message(engine: Engine):
    campaign = engine.campaign(max_attempts_per_channel=1)
    target = engine.target(campaign, 25)
    called = targets_data.transition(
        target.id, [TargetState.PENDING], TargetState.CONTACTED, channel=Channel.VOICE
    )
    engine.clock.advance(timedelta(days=2))

    assert upkeep.run(campaign.id, engine.clock.now()).unanswered == 0
    assert engine.get(called).state is TargetState.CONTACTED

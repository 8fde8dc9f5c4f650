"""The scheduler's upkeep of work in flight: jobs that were lost (dead-lettered) and calls whose
final status callback never came, found on the agenda at their attempt's deadline and moved on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.core.config import get_settings
from shared.data import targets as targets_data
from shared.domain.models import Campaign, CampaignStatus, Channel, ContactMethod, Outcome, TargetState
from shared.engine import upkeep
from tests.integration.engine.engine_world import Engine


def _voice_campaign(engine: Engine, **overrides: Any) -> Campaign:
    return engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE], **overrides)


def test_a_target_whose_job_was_lost_is_taken_again_and_contacted_once(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 31)
    engine.sqs.purge_queue(QueueUrl=engine.urls["whatsapp"])  # the job is gone (dead-lettered)
    # A WhatsApp attempt's deadline is its delivery's: the job's slot + WHATSAPP_DELIVERY_HOURS.
    deadline = timedelta(hours=get_settings().whatsapp_delivery_hours)
    assert deadline >= upkeep.LOST_AFTER

    engine.clock.advance(deadline - timedelta(minutes=1))
    engine.tick()
    assert engine.get(target).state is TargetState.SCHEDULED  # it may still be on its way

    engine.clock.advance(timedelta(minutes=2))
    engine.tick()  # upkeep puts it back to pending, the sweep takes it again
    stored = engine.get(target)
    assert stored.state is TargetState.SCHEDULED and stored.attempt_count == 0
    assert [b["targetId"] for b in engine.bodies("whatsapp")] == [target.id]

    engine.drain("whatsapp")
    assert [s.number for s in engine.evolution.sent] == [target.phone]
    assert engine.get(target).state is TargetState.CONTACTED


def test_a_call_whose_final_callback_was_lost_is_concluded_from_twilio(engine: Engine):
    campaign = _voice_campaign(engine, max_attempts_per_channel=1)
    target = engine.scheduled(campaign, 32, channel=Channel.VOICE)
    engine.drain("dialer")
    [call] = engine.twilio.calls.values()
    call.status, call.duration = "no-answer", 0  # Twilio ended it; its callback never reached us

    engine.clock.advance(timedelta(hours=3))
    report = upkeep.run(None, engine.clock.now())

    assert (report.calls_reconciled, report.requeued) == (1, 0)
    assert engine.bodies("post_call") == [{"CallSid": call.sid, "CallStatus": "no-answer", "CallDuration": 0}]
    engine.drain("post_call")
    stored = engine.get(target)
    assert (stored.state, stored.outcome) == (TargetState.COMPLETED, Outcome.NO_ANSWER)


def test_a_call_still_in_progress_is_left_alone(engine: Engine):
    campaign = _voice_campaign(engine)
    target = engine.scheduled(campaign, 33, channel=Channel.VOICE)
    engine.drain("dialer")
    [call] = engine.twilio.calls.values()
    call.status = "in-progress"

    engine.clock.advance(timedelta(hours=3))
    report = upkeep.run(None, engine.clock.now())

    assert report.calls_reconciled == 0 and engine.bodies("post_call") == []
    assert engine.get(target).state is TargetState.CALLING


def test_a_call_claimed_but_never_dialled_is_requeued(engine: Engine):
    campaign = _voice_campaign(engine)
    target = engine.scheduled(campaign, 34, channel=Channel.VOICE)
    engine.sqs.purge_queue(QueueUrl=engine.urls["dialer"])
    targets_data.transition(target.id, [TargetState.SCHEDULED], TargetState.CALLING)  # the dialer died here

    engine.clock.advance(timedelta(hours=3))
    report = upkeep.run(campaign.id, engine.clock.now())

    assert report.requeued == 1
    stored = engine.get(target)
    assert stored.state is TargetState.PENDING
    assert stored.outcome_details == "Envio anterior não concluído; reagendado"


def test_recent_work_and_paused_campaigns_are_not_touched(engine: Engine):
    campaign = engine.campaign()
    fresh = engine.scheduled(campaign, 35)
    paused = engine.campaign(status=CampaignStatus.PAUSED)
    parked = engine.scheduled(paused, 36)

    engine.clock.advance(timedelta(hours=get_settings().whatsapp_delivery_hours) - timedelta(minutes=1))
    assert upkeep.run(None, engine.clock.now()) == upkeep.UpkeepReport()
    engine.clock.advance(timedelta(minutes=2))
    report = upkeep.run(None, engine.clock.now())

    assert report.requeued == 1  # the active campaign's only
    assert engine.get(fresh).state is TargetState.PENDING
    assert engine.get(parked).state is TargetState.SCHEDULED

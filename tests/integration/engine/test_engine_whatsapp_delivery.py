"""Delivery that is known: Evolution's receipts mark the campaign message delivered; a message that
reaches no phone within WHATSAPP_DELIVERY_HOURS ends its attempt as `not_delivered`, distinct from one
delivered but unanswered (WHATSAPP_REPLY_HOURS from the receipt, `no_answer`). Both deadlines are read
from the campaign's agenda (`targets.overdue`)."""

from __future__ import annotations

from datetime import timedelta

from shared.core.config import get_settings
from shared.data import messages
from shared.data.targets import Due
from shared.domain.models import Channel, DeliveryStatus, Outcome, TargetState
from shared.engine import inbound
from tests.integration.engine.engine_world import Engine


def _past(hours: int) -> timedelta:
    return timedelta(hours=hours, minutes=1)


def test_a_message_never_delivered_ends_its_attempt_as_not_delivered_and_is_retried(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 1)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    assert inbound.record_receipt(sent.id, DeliveryStatus.SERVER_ACK) is not None  # the server, not the phone

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()

    stored = engine.get(target)
    assert stored.outcome is Outcome.NOT_DELIVERED
    assert stored.state is TargetState.PENDING and stored.channel is Channel.WHATSAPP
    assert stored.channel_attempts == 1
    assert stored.outcome_details is not None and "não entregue" in stored.outcome_details


def test_a_delivered_message_waits_for_a_reply_and_ends_unanswered_not_undelivered(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 2)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    assert inbound.record_receipt(sent.id, DeliveryStatus.DELIVERED) is not None
    assert engine.awaiting(campaign.id, Due.DELIVERY, engine.clock.now() + timedelta(days=30)) == []

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()
    assert engine.get(target).state is TargetState.CONTACTED  # delivered: it waits for the reply

    engine.clock.advance(timedelta(hours=get_settings().whatsapp_reply_hours))
    engine.tick()
    assert engine.get(target).outcome is Outcome.NO_ANSWER


def test_a_read_receipt_counts_as_delivered(engine: Engine):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    target = engine.scheduled(campaign, 3)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    inbound.record_receipt(sent.id, DeliveryStatus.READ)

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()

    assert engine.get(target).state is TargetState.CONTACTED and engine.get(target).outcome is None


def test_a_receipt_stored_before_the_case_awaited_it_is_not_lost(engine: Engine):
    """The receipt lands after the message is stored but before the case records that it awaits its
    delivery: only the message has it. Upkeep reads it instead of concluding not_delivered."""
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 4)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    assert messages.set_delivery_status(sent.id, DeliveryStatus.DELIVERED) is not None  # the case not moved
    deadline = engine.clock.now() + _past(get_settings().whatsapp_delivery_hours)
    assert [t.id for t in engine.awaiting(campaign.id, Due.DELIVERY, deadline)] == [target.id]

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()

    stored = engine.get(target)
    assert stored.state is TargetState.CONTACTED and stored.outcome is None
    assert engine.awaiting(campaign.id, Due.DELIVERY, engine.clock.now() + timedelta(days=30)) == []
    engine.clock.advance(timedelta(hours=get_settings().whatsapp_reply_hours))
    engine.tick()
    assert engine.get(target).outcome is Outcome.NO_ANSWER  # awaited the reply from the tick

"""Delivery that is known: Evolution's receipts mark the campaign message delivered; a message that
reaches no phone within WHATSAPP_DELIVERY_HOURS ends its attempt as `not_delivered`, distinct from one
delivered but unanswered (WHATSAPP_REPLY_HOURS from the receipt, `no_answer`). Both deadlines are read
from the campaign's agenda (`targets.overdue`). What receipts cost: a server ack nothing, any other one
an index query and one write, and the case moves once, on the first receipt from the phone."""

from __future__ import annotations

from datetime import timedelta

import pytest

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
    assert not inbound.record_receipt(sent.id, DeliveryStatus.SERVER_ACK)  # the server, not the phone

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
    assert inbound.record_receipt(sent.id, DeliveryStatus.DELIVERED)
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


ONE_RECEIPT = [("Query", "messages.by_receipt_id"), ("UpdateItem", "messages")]


def _thread_status(sent_id: str) -> DeliveryStatus | None:
    [message] = [m for m in messages.list_for(_conversation_of(sent_id)) if m.external_id == sent_id]
    return message.delivery_status


def _conversation_of(sent_id: str) -> str:
    found = messages.MessageRecord.by_receipt_id.query(sent_id, limit=1)
    return next(iter(found)).conversation_id


def test_a_server_ack_costs_no_request_and_changes_nothing(engine: Engine, dynamodb_requests):
    campaign = engine.campaign()
    engine.scheduled(campaign, 5)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent

    dynamodb_requests.clear()
    assert not inbound.record_receipt(sent.id, DeliveryStatus.SERVER_ACK)
    assert dynamodb_requests == []
    assert _thread_status(sent.id) is DeliveryStatus.PENDING

    assert inbound.record_receipt(sent.id, DeliveryStatus.DELIVERED)
    dynamodb_requests.clear()
    assert not inbound.record_receipt(sent.id, DeliveryStatus.SERVER_ACK)  # after the delivery: no write
    assert dynamodb_requests == []
    assert _thread_status(sent.id) is DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("first", "second", "second_changes"),
    [
        (DeliveryStatus.READ, DeliveryStatus.DELIVERED, False),  # the ack overtaken by the read
        (DeliveryStatus.DELIVERED, DeliveryStatus.READ, True),
    ],
    ids=["read-before-delivery-ack", "delivery-ack-then-read"],
)
def test_the_first_receipt_from_the_phone_moves_the_case_and_the_next_one_only_the_message(
    engine: Engine, dynamodb_requests, first, second, second_changes
):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 6)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    later = engine.clock.now() + timedelta(days=30)

    dynamodb_requests.clear()
    assert inbound.record_receipt(sent.id, first)
    assert dynamodb_requests[:2] == ONE_RECEIPT
    assert dynamodb_requests.count(("UpdateItem", "targets")) == 1  # the case now awaits the reply
    assert engine.awaiting(campaign.id, Due.DELIVERY, later) == []
    assert [t.id for t in engine.awaiting(campaign.id, Due.REPLY, later)] == [target.id]

    dynamodb_requests.clear()
    assert inbound.record_receipt(sent.id, second) is second_changes
    assert dynamodb_requests == ONE_RECEIPT  # no read of the case, no write to it
    assert _thread_status(sent.id) is DeliveryStatus.READ


def test_a_late_receipt_of_an_earlier_attempts_message_leaves_the_case_awaiting_the_new_one(
    engine: Engine, dynamodb_requests
):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    target = engine.scheduled(campaign, 7)
    engine.drain("whatsapp")
    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()  # not delivered: retried, the next day (the frequency cap)
    while len(engine.evolution.sent) < 2:
        engine.clock.set(engine.get(target).next_attempt_at)
        engine.tick()
        engine.drain("whatsapp")
    first, retry = engine.evolution.sent
    later = engine.clock.now() + timedelta(days=30)

    dynamodb_requests.clear()
    assert inbound.record_receipt(first.id, DeliveryStatus.DELIVERED)  # the phone came back online
    assert ("UpdateItem", "targets") not in dynamodb_requests
    assert [t.id for t in engine.awaiting(campaign.id, Due.DELIVERY, later)] == [target.id]

    assert inbound.record_receipt(retry.id, DeliveryStatus.DELIVERED)
    assert [t.id for t in engine.awaiting(campaign.id, Due.REPLY, later)] == [target.id]

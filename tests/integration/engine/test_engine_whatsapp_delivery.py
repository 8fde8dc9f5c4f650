"""Delivery that is known: Evolution's receipts stamp the campaign message; upkeep reads them at the
attempt's deadline. A message that reaches no phone within WHATSAPP_DELIVERY_HOURS ends its attempt as
`not_delivered`, distinct from one delivered but unanswered (WHATSAPP_REPLY_HOURS from its first
receipt from the phone, `no_answer`). Both deadlines are read from the campaign's agenda
(`targets.overdue`). What receipts cost: a server ack nothing, any other one an index query and one
write to the message — never the case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.core.config import get_settings, reset_settings
from shared.core.jobs import InboundMessage
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

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()
    assert engine.get(target).state is TargetState.CONTACTED  # delivered: it waits for the reply

    engine.clock.advance(timedelta(hours=get_settings().whatsapp_reply_hours))
    engine.tick()
    assert engine.get(target).outcome is Outcome.NO_ANSWER


def test_the_reply_is_awaited_for_its_hours_from_the_message_reaching_the_phone(engine: Engine):
    """The phone was off: the receipt comes 5 hours after the send, and the reply has its whole
    WHATSAPP_REPLY_HOURS from then, not from the send nor from upkeep's look."""
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 8)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    engine.clock.advance(timedelta(hours=5))
    reached = engine.clock.now()
    assert inbound.record_receipt(sent.id, DeliveryStatus.DELIVERED)
    reply_due = reached + timedelta(hours=get_settings().whatsapp_reply_hours)

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours - 5))
    engine.tick()
    assert engine.awaiting(campaign.id, Due.REPLY, reply_due - timedelta(seconds=1)) == []
    assert [t.id for t in engine.awaiting(campaign.id, Due.REPLY, reply_due)] == [target.id]

    engine.clock.set(reply_due - timedelta(minutes=1))
    engine.tick()
    assert engine.get(target).outcome is None
    engine.clock.set(reply_due + timedelta(minutes=1))
    engine.tick()
    assert engine.get(target).outcome is Outcome.NO_ANSWER


def test_a_reply_before_the_deadline_leaves_upkeep_nothing_to_move(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 9)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    assert inbound.record_receipt(sent.id, DeliveryStatus.READ)
    inbound.handle(
        InboundMessage(
            message_id="3EB0DELIVERY9",
            remote_jid=f"{target.phone}@s.whatsapp.net",
            phone=target.phone,
            text="vou ver",
        )
    )

    later = engine.clock.now() + timedelta(days=30)
    assert engine.awaiting(campaign.id, Due.DELIVERY, later) == []
    assert engine.awaiting(campaign.id, Due.REPLY, later) == []
    assert engine.get(target).state is TargetState.PENDING  # the follow-up, from the reply


def test_a_read_receipt_counts_as_delivered(engine: Engine):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    target = engine.scheduled(campaign, 3)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    inbound.record_receipt(sent.id, DeliveryStatus.READ)

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()

    assert engine.get(target).state is TargetState.CONTACTED and engine.get(target).outcome is None


def test_with_a_shorter_reply_window_a_delivered_message_is_concluded_on_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    """WHATSAPP_REPLY_HOURS shorter than WHATSAPP_DELIVERY_HOURS: upkeep looks at the message on the
    reply's deadline; delivered, it ends unanswered then; not, it awaits its delivery the rest."""
    monkeypatch.setenv("WHATSAPP_REPLY_HOURS", "2")
    monkeypatch.setenv("WHATSAPP_DELIVERY_HOURS", "6")
    reset_settings()
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    answered, silent = engine.scheduled(campaign, 10), engine.scheduled(campaign, 11)
    engine.drain("whatsapp")
    reached = {sent.number: sent for sent in engine.evolution.sent}
    inbound.record_receipt(reached[answered.phone].id, DeliveryStatus.DELIVERED)

    engine.clock.advance(_past(2))
    engine.tick()
    assert engine.get(answered).outcome is Outcome.NO_ANSWER
    assert engine.get(silent).state is TargetState.CONTACTED and engine.get(silent).outcome is None

    engine.clock.advance(timedelta(hours=4))
    engine.tick()
    assert engine.get(silent).outcome is Outcome.NOT_DELIVERED


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
def test_a_receipt_is_one_query_and_one_write_to_the_message_never_the_case(
    engine: Engine, dynamodb_requests, first, second, second_changes
):
    campaign = engine.campaign()
    engine.scheduled(campaign, 6)
    engine.drain("whatsapp")
    [sent] = engine.evolution.sent
    reached = engine.clock.now()

    dynamodb_requests.clear()
    assert inbound.record_receipt(sent.id, first)
    assert dynamodb_requests == ONE_RECEIPT

    engine.clock.advance(timedelta(minutes=3))
    dynamodb_requests.clear()
    assert inbound.record_receipt(sent.id, second) is second_changes
    assert dynamodb_requests == ONE_RECEIPT
    [message] = [m for m in messages.list_for(_conversation_of(sent.id)) if m.external_id == sent.id]
    assert message.delivery_status is DeliveryStatus.READ
    assert message.reached_at == reached  # the first receipt from the phone, kept


def test_a_late_receipt_of_an_earlier_attempts_message_leaves_the_case_awaiting_the_new_one(engine: Engine):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    target = engine.scheduled(campaign, 7)
    engine.drain("whatsapp")
    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()  # not delivered: retried, the next day (the frequency cap)
    while len(engine.evolution.sent) < 2:
        engine.clock.set(engine.get(target).next_attempt_at)
        engine.tick()
        engine.drain("whatsapp")
    first, _retry = engine.evolution.sent
    assert inbound.record_receipt(first.id, DeliveryStatus.DELIVERED)  # the phone came back online

    engine.clock.advance(_past(get_settings().whatsapp_delivery_hours))
    engine.tick()
    stored = engine.get(target)
    assert stored.outcome is Outcome.NOT_DELIVERED  # the retry itself reached no phone
    assert stored.channel_attempts == 2

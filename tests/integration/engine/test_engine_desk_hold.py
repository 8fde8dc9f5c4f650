"""A human's case is held: while a person at the desk has a customer's conversation, no campaign — on
any channel — contacts that customer (deferred, counted as `skip:human_hold`), though the CRM is read for
what she paid; resolving or releasing lifts the hold and the campaigns resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.data import conversations, counters
from shared.domain.ids import conversation_id
from shared.domain.models import (
    Channel,
    ContactMethod,
    Conversation,
    ConversationSource,
    Target,
    TargetState,
)
from shared.engine import handoff
from tests.integration.engine.engine_world import Engine

MONDAY_10H = datetime(2025, 3, 10, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo


def _held_conversation(phone: str, document: str | None) -> Conversation:
    now = MONDAY_10H
    conversation = conversations.create(
        Conversation(
            id=conversation_id(f"whatsapp_{phone}"),
            chat_id=f"whatsapp_{phone}",
            phone=phone,
            source=ConversationSource.INBOUND,
            document=document,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    return handoff.transfer(conversation.id, by="assistant", reason="cliente pediu atendente")


def _business_day(engine: Engine) -> None:
    """A tick at 10:00 and the workers' queues drained."""
    engine.tick()
    engine.drain("whatsapp")
    engine.drain("dialer")


def _contacts(engine: Engine, target: Target) -> int:
    return len(engine.evolution.texts_to(target.phone)) + len(engine.twilio.calls_to("+" + target.phone))


def _held_skips(campaign_id: str) -> int:
    return counters.read(counters.campaign_scope(campaign_id)).get("skip:human_hold", 0)


@pytest.mark.parametrize(("by", "lift"), [("phone", "resolve"), ("document", "release")])
def test_no_campaign_contacts_a_held_customer_until_the_human_lets_go(engine: Engine, by: str, lift: str):
    engine.clock.set(MONDAY_10H)
    whatsapp = engine.campaign()
    voice = engine.campaign(contact_method=ContactMethod.VOICE, allowed_methods=[Channel.VOICE])
    messaged = engine.target(whatsapp, 7)
    called = engine.target(voice, 7, channel=Channel.VOICE)
    # Held by the phone alone (an inbound chat of an unknown number), or by the document alone (the
    # customer wrote from another number and was identified).
    if by == "phone":
        held = _held_conversation(messaged.phone, None)
    else:
        held = _held_conversation("5511900000000", messaged.document)

    for day in range(4):  # Monday to Thursday, a tick every business morning
        engine.clock.set(MONDAY_10H + timedelta(days=day))
        _business_day(engine)

    assert _contacts(engine, messaged) == 0
    # The CRM is read (that contacts nobody) once a tick per case, and what it shows open is recorded.
    assert 8 <= len(engine.crm.queries) <= 8 * 2 and set(engine.crm.queries) <= {
        messaged.document,
        called.document,
    }
    assert _held_skips(whatsapp.id) >= 4 and _held_skips(voice.id) >= 4
    for target in (messaged, called):
        stored = engine.get(target)
        assert stored.state is TargetState.PENDING and "atendimento humano" in (stored.outcome_details or "")
        assert stored.open_amount == Decimal("89.90") and stored.open_amount_at is not None

    getattr(handoff, lift)(held.id, by="token:supervisor")
    engine.clock.set(MONDAY_10H + timedelta(days=4))  # Friday
    _business_day(engine)
    engine.clock.set(MONDAY_10H + timedelta(days=5))  # Saturday: the frequency cap allows one a day
    _business_day(engine)

    assert len(engine.evolution.texts_to(messaged.phone)) == 1
    assert len(engine.twilio.calls_to("+" + called.phone)) == 1

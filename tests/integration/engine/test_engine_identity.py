"""Identity in the outreach engine: a wrong number is never contacted again for that customer (any
campaign, the case's other phones still are), and a stranger's request brings the contact of the
registered number forward, within the pre-send guards."""

from __future__ import annotations

from datetime import timedelta

from shared.assistant import ToolContext, ToolOutcome, invoke
from shared.core.jobs import InboundMessage
from shared.data import conversations, counters, messages
from shared.data import targets as targets_data
from shared.domain.cadence import awaits_follow_up
from shared.domain.ids import conversation_id, new_id
from shared.domain.models import (
    Channel,
    Conversation,
    ConversationSource,
    Message,
    Outcome,
    Sender,
    Target,
    TargetState,
)
from shared.engine import cadence, identity, inbound
from tests.integration.engine.engine_world import Engine, cpf, mobile


def test_a_wrong_number_is_never_contacted_again_for_that_customer_while_another_phone_is(engine: Engine):
    wrong, other = mobile("11", 1), mobile("11", 2)
    identity.mark_wrong_number(cpf(1), wrong, source="assistant")  # reported in an earlier campaign
    campaign = engine.campaign()
    case = engine.scheduled(campaign, 1, phone=wrong, phones=[wrong, other])
    somebody_else = engine.scheduled(campaign, 3, phone=wrong)  # the number is wrong for cpf(1) only

    engine.drain("whatsapp")

    assert sorted(sent.number for sent in engine.evolution.sent) == sorted([other, wrong])
    assert engine.get(case).phone == other and engine.get(case).state is TargetState.CONTACTED
    assert conversations.by_chat_id(f"whatsapp_{wrong}").document == somebody_else.document  # type: ignore[union-attr]


def test_a_case_whose_only_phone_is_a_wrong_number_ends_without_a_contact(engine: Engine):
    wrong = mobile("11", 1)
    identity.mark_wrong_number(cpf(1), wrong, source="assistant")
    case = engine.scheduled(engine.campaign(), 1, phone=wrong)

    engine.drain("whatsapp")

    assert engine.evolution.sent == []
    stored = engine.get(case)
    assert stored.state is TargetState.COMPLETED and stored.outcome is Outcome.WRONG_NUMBER


def _asks_from_a_phone_not_on_file(engine: Engine, case: Target) -> ToolOutcome:
    """Somebody writing from a phone that is not on file gives the case's CPF and asks for its invoices."""
    stranger = mobile("21", 9)
    now = engine.clock.now()
    conversation = conversations.create(
        Conversation(
            id=conversation_id(f"whatsapp_{stranger}"),
            chat_id=f"whatsapp_{stranger}",
            phone=stranger,
            source=ConversationSource.INBOUND,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    messages.append(
        Message(
            id=new_id(),
            conversation_id=conversation.id,
            sender=Sender.CUSTOMER,
            content=f"meu cpf é {case.document}",
            created_at=now,
        )
    )

    return invoke(
        "consultar_faturas_cpf",
        {"cpf_cnpj": case.document},
        ToolContext.for_conversation(conversation, Channel.WHATSAPP),
    )


def test_a_strangers_request_brings_the_registered_numbers_contact_forward(engine: Engine):
    campaign = engine.campaign()
    case = engine.target(campaign, 1, next_attempt_at=engine.clock.now() + timedelta(days=2))

    outcome = _asks_from_a_phone_not_on_file(engine, case)
    engine.tick()
    engine.drain("whatsapp")

    assert outcome.error == "phone_not_on_file"
    assert [sent.number for sent in engine.evolution.sent] == [case.phone]
    assert targets_data.get(case.id).state is TargetState.CONTACTED


def test_a_contact_brought_forward_by_a_request_is_no_follow_up_a_new_cadence_puts_off(engine: Engine):
    """The customer answered "vou ver" (her follow-up in three days); the next evening somebody asks
    for her invoices from another phone: her registered number's contact is due now, and stays due when
    the team then lengthens the campaign's cadence — it is not the follow-up any more."""
    campaign = engine.campaign(follow_up_after_days=3)
    now = engine.clock.now()
    case = engine.target(
        campaign,
        1,
        contact_count=1,
        outcome=Outcome.ANSWERED,
        follow_up_from=now,
        next_attempt_at=now + timedelta(days=3),
    )
    engine.clock.advance(timedelta(days=1))

    assert _asks_from_a_phone_not_on_file(engine, case).error == "phone_not_on_file"
    brought_forward = engine.get(case)
    assert brought_forward.next_attempt_at <= engine.clock.now()
    assert not awaits_follow_up(brought_forward)

    lengthened = campaign.model_copy(update={"follow_up_after_days": 5})
    assert cadence.retime_follow_ups([brought_forward], lengthened) == 0
    assert engine.get(case).next_attempt_at <= engine.clock.now()


def test_a_strangers_request_leaves_a_case_waiting_on_a_promise_as_it_is(engine: Engine):
    """Her case waits on her promise until Friday: a request from another phone neither brings the
    contact forward (the promise guard would hold it) nor hides the promise behind another outcome."""
    friday = engine.clock.now() + timedelta(days=4)
    case = engine.target(
        engine.campaign(), 1, contact_count=1, outcome=Outcome.PROMISE_MADE, next_attempt_at=friday
    )

    assert _asks_from_a_phone_not_on_file(engine, case).error == "phone_not_on_file"

    waiting = engine.get(case)
    assert (waiting.state, waiting.outcome, waiting.next_attempt_at) == (
        TargetState.PENDING,
        Outcome.PROMISE_MADE,
        friday,
    )


def test_a_second_wrong_number_never_sends_outreach_back_to_the_first(engine: Engine):
    first, second = mobile("11", 1), mobile("11", 2)
    case = engine.target(engine.campaign(), 1, phone=first, phones=[first, second])

    identity.mark_wrong_number(case.document, first, source="assistant")
    assert engine.get(case).phone == second
    identity.mark_wrong_number(case.document, second, source="assistant")

    stored = engine.get(case)
    assert stored.state is TargetState.COMPLETED and stored.outcome is Outcome.WRONG_NUMBER


def test_a_wrong_number_reported_in_a_new_campaign_leaves_the_customers_paid_and_waiting_cases_as_they_are(
    engine: Engine,
):
    """March's case was paid, April's waits on a promise; May's message reaches a stranger at the old
    number. Every case moves to the other phone, only May's says `wrong_number`: March still counts
    as paid (it was turned `wrong_number`, out of the paid cases and their money)."""
    old, new = mobile("11", 1), mobile("11", 2)
    march, april, may = (engine.target(engine.campaign(), 1, phone=old, phones=[old, new]) for _ in range(3))
    targets_data.transition(march.id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID)
    targets_data.transition(
        april.id, [TargetState.PENDING], TargetState.PENDING, outcome=Outcome.PROMISE_MADE
    )

    identity.mark_wrong_number(march.document, old, source="assistant")

    assert [(engine.get(case).phone, engine.get(case).outcome) for case in (march, april, may)] == [
        (new, Outcome.PAID),
        (new, Outcome.PROMISE_MADE),
        (new, Outcome.WRONG_NUMBER),
    ]
    assert counters.read(counters.campaign_scope(march.campaign_id)).get("outcome:paid") == 1


def test_whoever_says_the_contacted_number_is_not_the_customers_ends_that_attempt_not_a_reply(
    engine: Engine,
):
    """'Não sou eu' on WhatsApp: nobody was reached. The attempt ends `wrong_number` and the case's next
    phone gets the retry after the backoff — not a follow-up `followUpAfterDays` later, and no response
    counted for the customer."""
    wrong, other = mobile("11", 1), mobile("11", 2)
    campaign = engine.campaign(follow_up_after_days=5)
    case = engine.scheduled(campaign, 1, phone=wrong, phones=[wrong, other])
    engine.drain("whatsapp")

    result = inbound.handle(
        InboundMessage(
            message_id="3EB0WRONG0001", remote_jid=f"{wrong}@s.whatsapp.net", phone=wrong, text="não sou eu"
        )
    )

    assert result.wrong_number
    stored = engine.get(case)
    assert (stored.state, stored.outcome, stored.phone) == (TargetState.PENDING, Outcome.WRONG_NUMBER, other)
    assert stored.next_attempt_at < engine.clock.now() + timedelta(days=1)
    assert "responded" not in counters.read(counters.campaign_scope(campaign.id))

    for _ in range(2):  # the retry's time, then the next local day: the day's contact slot was taken
        engine.clock.set(engine.get(case).next_attempt_at)
        engine.tick()
        engine.drain("whatsapp")
    *to_the_wrong_number, retry = engine.evolution.sent  # the message, the apology, the retry
    assert {sent.number for sent in to_the_wrong_number} == {wrong} and retry.number == other
    assert engine.clock.now() < stored.next_attempt_at + timedelta(days=1)

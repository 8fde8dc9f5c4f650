"""Customers who pay while a person at the desk holds them: the hold keeps every campaign from contacting
them, never the CRM from saying they paid. Maria pays in full, pays half, pays while the CRM is down,
and the desk lets go of her afterwards — walked across the day on the virtual clock (the world:
journeys.py) — and what the agent sees of it at the desk (the API as the dashboard calls it)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.assistant.tools import invoke
from shared.core.config import reset_settings
from shared.data import campaigns as campaigns_data
from shared.data import conversations
from shared.domain.cadence import HOLD_RETRY
from shared.domain.models import (
    Channel,
    ContactMethod,
    Conversation,
    ConversationStatus,
    Invoice,
    Outcome,
    Target,
    TargetState,
)
from shared.engine import handoff, warm_transfer
from shared.engine.reporting import campaign_stats, daily, global_metrics
from shared.engine.warm_transfer import CALL_TOOLS
from tests.integration.api.conftest import Api
from tests.integration.engine.engine_world import Engine, mobile
from tests.integration.engine.journeys import (
    MARIA,
    MARIA_PHONE,
    MONDAY,
    SAO_PAULO,
    Call,
    Chat,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_maria,
    ring,
)

MARIA_DEBT = Decimal("270.05")  # her three invoices: 100,10 + 80,20 + 89,75
AGENT = "token:supervisor"
DESK = "/api/voice/conversations"


def maria_held_in_two_campaigns(engine: Engine, *, april: bool = True) -> tuple[str, str, Conversation]:
    """Maria's three invoices in March's campaign, its first message Monday 08:00 in Manaus; her newest
    invoice in April's campaign too (not contacted yet: unless not `april`); at 10:00 she asks for a
    person and an agent takes her."""
    march = engine.campaign()
    import_maria(engine, march.id)
    business_day(engine, at(MONDAY, 8))
    engine.delivered()
    april_id = ""
    if april:
        newest = Invoice(invoice_number="F-103", amount=Decimal("89.75"), due_date=date(2025, 3, 1))
        april_id = engine.campaign(name="Cobrança Abril").id
        engine.target(
            campaigns_data.get(april_id),
            501,
            phone=MARIA_PHONE,
            document=MARIA,
            in_crm=False,
            invoices=[newest],
        )
    engine.clock.set(at(MONDAY, 10))
    Chat(MARIA_PHONE, "Maria").says("quero falar com um atendente")
    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None and conversation.status is ConversationStatus.TRANSFERRED
    handoff.take(conversation.id, by=AGENT)
    return march.id, april_id, conversation


def texts(engine: Engine) -> int:
    return len(engine.evolution.texts_to(MARIA_PHONE))


def cases(march: str, april: str) -> tuple[Target, Target]:
    return case_of(march, MARIA), case_of(april, MARIA)


def test_maria_pays_in_full_while_the_desk_holds_her_and_her_cases_close_paid_before_it_lets_go(
    engine: Engine,
):
    march, april, conversation = maria_held_in_two_campaigns(engine)
    sent = texts(engine)
    assert (case_of(march, MARIA).state, case_of(march, MARIA).outcome) == (
        TargetState.CONTACTED,
        Outcome.TRANSFERRED,
    )

    # 10:30 she pays everything at the bank. Within the next look (HOLD_RETRY) the CRM is read: both
    # cases close paid while the agent still holds her.
    engine.crm.pay_all(MARIA)
    business_day(engine, at(MONDAY, 10, 30))
    business_day(engine, at(MONDAY, 10) + HOLD_RETRY)
    assert conversations.held(MARIA_PHONE, MARIA)
    for case in cases(march, april):
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID), case.outcome_details

    # Counted once: paid after contact (recovered, converted), on her day, the campaigns agreeing.
    assert campaign_stats(march).money.recovered == MARIA_DEBT
    assert sum((day.recovered for day in daily(march, MONDAY, MONDAY)), Decimal(0)) == MARIA_DEBT
    assert campaign_stats(april).money.recovered == Decimal(
        "89.75"
    )  # not self-cured: March had contacted her
    assert global_metrics().paid == 2
    counters_agree_with_the_cases(march, april)

    # More looks change nothing and count nothing twice; nothing was ever sent to her.
    queries = len(engine.crm.queries)
    business_day(engine, at(MONDAY, 10) + 2 * HOLD_RETRY)
    assert len(engine.crm.queries) == queries  # both cases closed: nobody reads her any more
    assert campaign_stats(march).money.recovered == MARIA_DEBT
    assert texts(engine) == sent

    # The agent resolves her the next day: nothing is sent, her cases stay paid.
    engine.clock.set(at(MONDAY + timedelta(days=1), 9))
    handoff.resolve(conversation.id, by=AGENT)
    for offset in range(1, 4):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10))
    assert texts(engine) == sent
    for case in cases(march, april):
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    counters_agree_with_the_cases(march, april)


def test_maria_pays_her_oldest_invoice_while_held_and_the_rest_stays_open_on_her_case(engine: Engine):
    march, april, _ = maria_held_in_two_campaigns(engine)
    sent = texts(engine)

    engine.crm.pay_oldest(MARIA)  # F-101, R$ 100,10
    business_day(engine, at(MONDAY, 10) + HOLD_RETRY)

    held = case_of(march, MARIA)
    assert (held.state, held.outcome) == (TargetState.CONTACTED, Outcome.TRANSFERRED)
    assert (held.open_amount, held.paid_amount) == (Decimal("169.95"), Decimal("100.10"))
    assert held.open_amount_at == at(MONDAY, 10) + HOLD_RETRY
    assert campaign_stats(march).money.recovered == Decimal("100.10")
    assert case_of(april, MARIA).state is TargetState.PENDING  # still owes: deferred for the hold
    assert texts(engine) == sent
    counters_agree_with_the_cases(march, april)


def test_a_crm_down_while_maria_is_held_changes_nothing_and_her_payment_is_seen_at_the_next_look(
    engine: Engine,
):
    march, april, _ = maria_held_in_two_campaigns(engine)
    sent = texts(engine)
    before = cases(march, april)
    engine.crm.pay_all(MARIA)
    engine.crm.outage = "http_500"

    business_day(engine, at(MONDAY, 10) + HOLD_RETRY)
    for was, now in zip(before, cases(march, april), strict=True):
        assert (now.state, now.outcome, now.paid_amount, now.open_amount_at) == (
            was.state,
            was.outcome,
            was.paid_amount,
            was.open_amount_at,
        )
    assert campaign_stats(march).money.recovered == Decimal("0.00")

    engine.crm.outage = None
    business_day(engine, at(MONDAY, 10) + 2 * HOLD_RETRY)
    for case in cases(march, april):
        assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert texts(engine) == sent
    counters_agree_with_the_cases(march, april)


def test_a_held_customer_is_read_from_the_crm_no_more_often_than_every_hold_retry(engine: Engine):
    march, _, _ = maria_held_in_two_campaigns(engine, april=False)
    before = len(engine.crm.queries)

    for minutes in range(5, 120, 5):  # the cron's ticks until the next look
        business_day(engine, at(MONDAY, 10, 0) + timedelta(minutes=minutes))
    assert len(engine.crm.queries) == before
    business_day(engine, at(MONDAY, 10) + HOLD_RETRY)
    assert len(engine.crm.queries) == before + 1
    assert case_of(march, MARIA).open_amount == MARIA_DEBT


def test_the_agent_sees_what_maria_paid_with_when_and_asks_the_crm_now(engine: Engine, api: Api):
    march, _, conversation = maria_held_in_two_campaigns(engine, april=False)
    url = f"{DESK}/{conversation.id}"

    # The desk shows what the CRM showed when her first message went out.
    debt = api.get(url).json()["debt"]
    assert (debt["settled"], debt["openAmount"], debt["paidAmount"]) == (False, "270.05", "0.00")
    assert debt["checkedAt"] == at(MONDAY, 8).isoformat().replace("+00:00", "Z")

    # 10:40 she pays her oldest invoice; the agent asks the CRM (a viewer may not).
    engine.crm.pay_oldest(MARIA)
    engine.clock.set(at(MONDAY, 10, 40))
    assert api.post(f"{url}/payment-check", "viewer").status_code == 403
    checked = api.post(f"{url}/payment-check", "supervisor")
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert (body["settled"], body["openAmount"], body["paidAmount"]) == (False, "169.95", "100.10")
    assert body["checkedAt"] == at(MONDAY, 10, 40).isoformat().replace("+00:00", "Z")
    assert api.get(url).json()["debt"] == body

    # The CRM down: a clear 503, nothing changed.
    engine.crm.pay_all(MARIA)
    engine.crm.outage = "http_500"
    down = api.post(f"{url}/payment-check", "supervisor")
    assert (down.status_code, down.json()["code"]) == (503, "crm_unavailable")
    assert api.get(url).json()["debt"] == body

    # Back up: she paid everything — her case closes paid while the agent still holds her.
    engine.crm.outage = None
    paid = api.post(f"{url}/payment-check", "supervisor").json()
    assert (paid["settled"], paid["openAmount"], paid["paidAmount"]) == (True, "0.00", "270.05")
    assert [(case["state"], case["outcome"]) for case in paid["cases"]] == [("completed", "paid")]
    assert conversations.held(MARIA_PHONE, MARIA)
    counters_agree_with_the_cases(march)


def test_the_desk_cannot_check_a_payment_without_a_customer(engine: Engine, api: Api):
    engine.clock.set(at(MONDAY, 10))
    stranger = mobile("92", 909)
    Chat(stranger, "Zé").says("quero falar com um atendente")
    conversation = conversations.by_chat_id(f"whatsapp_{stranger}")
    assert conversation is not None and conversation.document is None

    assert api.get(f"{DESK}/{conversation.id}").json()["debt"] is None
    refused = api.post(f"{DESK}/{conversation.id}/payment-check", "supervisor")
    assert (refused.status_code, refused.json()["code"]) == (409, "no_customer")
    assert api.post(f"{DESK}/nope/payment-check", "supervisor").status_code == 404
    assert engine.crm.queries == []


def _vou_ver_then_a_person(engine: Engine) -> tuple[str, int]:
    """Maria's March campaign (follow-ups 3 days apart): the first message Monday 08:00, "vou ver" at
    09:00 (her follow-up three days ahead), a person asked for at 10:00. The campaign, and what was
    how many messages were sent to her so far."""
    march = engine.campaign(follow_up_after_days=3).id
    import_maria(engine, march)
    business_day(engine, at(MONDAY, 8))
    engine.delivered()
    maria = Chat(MARIA_PHONE, "Maria")
    engine.clock.set(at(MONDAY, 9))
    maria.says("vou ver")
    assert case_of(march, MARIA).state is TargetState.PENDING
    engine.clock.set(at(MONDAY, 10))
    maria.says("quero falar com um atendente")
    return march, texts(engine)


def test_maria_says_vou_ver_then_asks_for_a_person_pays_and_is_seen_paid_within_the_next_look(engine: Engine):
    march, sent = _vou_ver_then_a_person(engine)

    engine.crm.pay_all(MARIA)
    business_day(engine, at(MONDAY, 10) + HOLD_RETRY)
    case = case_of(march, MARIA)
    assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID), case.outcome_details
    assert conversations.held(MARIA_PHONE, MARIA)
    counters_agree_with_the_cases(march)

    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None
    handoff.release(conversation.id, by=AGENT)
    for offset in range(1, 5):
        business_day(engine, at(MONDAY + timedelta(days=offset), 10))
    assert texts(engine) == sent
    assert case_of(march, MARIA).outcome is Outcome.PAID


def test_a_held_follow_up_still_owing_is_followed_up_days_after_the_desk_lets_go_not_at_once(engine: Engine):
    march, sent = _vou_ver_then_a_person(engine)

    business_day(engine, at(MONDAY, 10) + HOLD_RETRY)  # looked at: still owes, deferred for the hold
    assert case_of(march, MARIA).open_amount == MARIA_DEBT
    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None
    engine.clock.set(at(MONDAY, 13))
    handoff.release(conversation.id, by=AGENT)

    case = case_of(march, MARIA)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == at(MONDAY + timedelta(days=3), 13)
    business_day(engine, at(MONDAY, 14))
    business_day(engine, at(MONDAY + timedelta(days=1), 10))
    assert texts(engine) == sent


def test_joao_handed_to_the_desk_on_a_call_pays_meanwhile_and_is_seen_paid_while_still_held(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HUMAN_AGENT_NUMBER", "+5511955554444")
    reset_settings()
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, allowed_methods=[Channel.VOICE])
    joao = engine.target(campaign, 71, client_name="João Lima", channel=Channel.VOICE)
    engine.clock.set(at(MONDAY, 10, tz=SAO_PAULO))
    [ringing] = ring(engine)
    call = Call(engine, ringing)
    call.says(f"Sou eu, meu CPF é {joao.document}")
    call.says("quero falar com um atendente")
    handed = invoke("transferir_para_humano", {"motivo": "cliente pediu um atendente"}, call.ctx, CALL_TOOLS)
    assert handed.ok
    warm_transfer.dial_finished(call.conversation.id, "no-answer")
    call.hang_up(duration=120)
    assert (engine.get(joao).state, engine.get(joao).outcome) == (TargetState.CONTACTED, Outcome.TRANSFERRED)

    engine.crm.pay_all(joao.document)
    business_day(engine, at(MONDAY, 10, tz=SAO_PAULO) + HOLD_RETRY + timedelta(minutes=5))
    case = engine.get(joao)
    assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID), case.outcome_details
    assert conversations.held(joao.phone, joao.document)
    assert len(engine.twilio.calls_to("+" + joao.phone)) == 1
    counters_agree_with_the_cases(campaign.id)


def test_the_queue_says_whether_maria_settled_or_what_she_owes_and_nothing_of_a_stranger(
    engine: Engine, api: Api
):
    march, _, conversation = maria_held_in_two_campaigns(engine, april=False)
    stranger = mobile("92", 909)
    Chat(stranger, "Zé").says("quero falar com um atendente")
    ze = conversations.by_chat_id(f"whatsapp_{stranger}")
    assert ze is not None and ze.document is None

    def queued() -> dict[str, Any]:
        listed = api.get(f"{DESK}/queue")
        assert listed.status_code == 200, listed.text
        return {item["id"]: item["debt"] for item in listed.json()["items"]}

    # She owes what the CRM showed at her first message; of the stranger (no document) nothing is said.
    read = at(MONDAY, 8).isoformat().replace("+00:00", "Z")
    assert queued() == {
        conversation.id: {"settled": False, "openAmount": "270.05", "checkedAt": read},
        ze.id: None,
    }

    # She pays everything; once the CRM is read the queue says she settled.
    engine.crm.pay_all(MARIA)
    engine.clock.set(at(MONDAY, 10, 40))
    assert api.post(f"{DESK}/{conversation.id}/payment-check", "supervisor").status_code == 200
    assert queued()[conversation.id] == {
        "settled": True,
        "openAmount": "0.00",
        "checkedAt": at(MONDAY, 10, 40).isoformat().replace("+00:00", "Z"),
    }
    assert queued()[ze.id] is None
    counters_agree_with_the_cases(march)

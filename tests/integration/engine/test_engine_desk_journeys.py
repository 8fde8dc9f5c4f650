"""Customers handed over to people, walked across days as the desk lives them: the customer asks for a
person on WhatsApp inside and outside the desk's hours, the queue the dashboard shows, the assistant
silent while a person has him, the hold over every campaign, a promise recorded from the desk, the
agent letting go with nothing agreed, a call nobody at the desk picks up, two agents on one customer,
and what a supervisor sees of the conversations people hold (the world: journeys.py; the desk API as
the dashboard calls it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.core.config import reset_settings
from shared.data import conversations
from shared.domain.models import Conversation, Outcome, TargetState
from tests.integration.api.conftest import TOKENS, Api
from tests.integration.engine.engine_world import Engine
from tests.integration.engine.journeys import (
    MARIA,
    MARIA_PHONE,
    MONDAY,
    Chat,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_maria,
)

AGENT = "token:supervisor"
OTHER_AGENT = "token:admin"
DESK = "/api/voice/conversations"


@pytest.fixture
def api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The dashboard's API over the engine's world, one bearer token per role."""
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    reset_settings()
    from functions.api.app import create_app

    with TestClient(create_app()) as client:
        yield Api(client, engine.urls["scheduler"])


def maria_chat() -> Conversation:
    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None
    return conversation


def queue(api: Api) -> dict[str, Any]:
    response = api.get(f"{DESK}/queue")
    assert response.status_code == 200, response.text
    return dict(response.json())


def thread(api: Api, conversation_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{DESK}/{conversation_id}")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def maria_in_two_campaigns(engine: Engine, **cadence: Any) -> tuple[str, str]:
    """Maria's three invoices in March's campaign, its first message Monday 08:00 in Manaus; then her
    case in April's campaign too (due at once, it waits for her next day: one contact a day)."""
    march = engine.campaign(**cadence)
    import_maria(engine, march.id)
    business_day(engine, at(MONDAY, 8))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == 1
    april = engine.campaign(name="Cobrança Abril", **cadence)
    engine.target(april, 501, phone=MARIA_PHONE, document=MARIA, in_crm=False)
    return march.id, april.id


# --- 1. Outside the desk's hours: told when a person answers; let go with nothing agreed -----------------


def test_maria_asking_for_a_person_on_friday_evening_is_told_when_the_desk_opens_and_followed_up_after(
    engine: Engine, api: Api
):
    march = engine.campaign(follow_up_after_days=3, max_contacts=6).id
    import_maria(engine, march)
    business_day(engine, at(MONDAY, 8))
    maria = Chat(MARIA_PHONE, "Maria")
    friday = MONDAY + timedelta(days=4)

    # Friday 19:00 in Manaus: the desk (08:00-18:00 on weekdays) is closed until Monday 08:00.
    engine.clock.set(at(friday, 19))
    maria.says("quero falar com um atendente")
    told = engine.evolution.texts_to(MARIA_PHONE)[-1]
    assert "Em instantes" not in told
    assert "segunda-feira" in told and "08:00" in told
    conversation = maria_chat()
    assert queue(api)["waiting"] == 1

    # Saturday, Monday: nothing while she waits for a person.
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    business_day(engine, at(friday + timedelta(days=1), 9))
    business_day(engine, at(friday + timedelta(days=3), 8))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent

    # Monday 09:00 the agent answers, talks, and gives her back to the assistant with nothing agreed.
    monday = friday + timedelta(days=3)
    engine.clock.set(at(monday, 9))
    assert api.post(f"{DESK}/{conversation.id}/take", "supervisor").status_code == 200
    api.post(
        f"{DESK}/{conversation.id}/messages", "supervisor", json={"text": "Oi Maria, como posso ajudar?"}
    )
    maria.says("só queria entender as faturas, vou ver e te falo")
    released = api.post(f"{DESK}/{conversation.id}/release", "supervisor")
    assert released.status_code == 200 and released.json()["status"] == "ai"

    # March's case follows the cadence: its follow-up three days later, in her window, counted.
    case = case_of(march, MARIA)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == at(monday + timedelta(days=3), 9)
    contacts = case.contact_count
    for offset in range(1, 4):
        business_day(engine, at(monday + timedelta(days=offset), 9, 5))
        engine.delivered()
    case = case_of(march, MARIA)
    assert case.contact_count == contacts + 1 and case.state is TargetState.CONTACTED
    assert engine.evolution.texts_to(MARIA_PHONE)[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    counters_agree_with_the_cases(march)

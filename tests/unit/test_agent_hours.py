"""When the desk answers the phone (HUMAN_AGENT_HOURS), and how a call's handoff reaches a person."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.core.config import Settings
from shared.domain.agent_hours import parse_agent_hours
from shared.domain.contact_policy import InvalidTime
from shared.domain.models import Conversation, ConversationSource
from shared.engine.desk import ReplyBlocked
from shared.engine.warm_transfer import CALLBACK, Route, decide

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")  # an hour behind São Paulo
MONDAY_9H = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # 09:00 in São Paulo, 08:00 in Manaus


def test_parses_a_window_of_the_day() -> None:
    assert parse_agent_hours("08:00-18:00") == parse_agent_hours(" 8:00 - 18:00 ")


@pytest.mark.parametrize("value", ["", "08:00", "18:00-08:00", "08:00-08:00", "8h-18h", "08:00-24:00"])
def test_refuses_what_is_not_an_opening_window(value: str) -> None:
    with pytest.raises(InvalidTime):
        parse_agent_hours(value)


def test_the_setting_is_checked_when_the_settings_load() -> None:
    with pytest.raises(ValueError, match="close after it opens"):
        Settings(human_agent_hours="18:00-08:00")


@pytest.mark.parametrize(
    ("at", "tz", "open_"),
    [
        (MONDAY_9H, SAO_PAULO, True),
        (datetime(2025, 3, 10, 10, 59, tzinfo=UTC), SAO_PAULO, False),  # 07:59
        (datetime(2025, 3, 10, 21, 0, tzinfo=UTC), SAO_PAULO, False),  # 18:00: closed
        (datetime(2025, 3, 10, 20, 59, tzinfo=UTC), SAO_PAULO, True),  # 17:59
        (datetime(2025, 3, 10, 11, 30, tzinfo=UTC), MANAUS, False),  # 07:30 in Manaus
        (datetime(2025, 3, 15, 12, 0, tzinfo=UTC), SAO_PAULO, False),  # Saturday
        (datetime(2025, 4, 21, 12, 0, tzinfo=UTC), SAO_PAULO, False),  # Tiradentes
    ],
)
def test_open_on_weekdays_in_the_customers_zone(at: datetime, tz: ZoneInfo, open_: bool) -> None:
    assert parse_agent_hours("08:00-18:00").is_open(at, tz) is open_


@pytest.mark.parametrize(
    ("at", "opens"),
    [
        (MONDAY_9H, MONDAY_9H),  # open: now
        (datetime(2025, 3, 10, 10, 0, tzinfo=UTC), datetime(2025, 3, 10, 8, 0, tzinfo=SAO_PAULO)),  # 07:00
        (datetime(2025, 3, 10, 21, 0, tzinfo=UTC), datetime(2025, 3, 11, 8, 0, tzinfo=SAO_PAULO)),  # 18:00
        (
            datetime(2025, 3, 14, 22, 0, tzinfo=UTC),
            datetime(2025, 3, 17, 8, 0, tzinfo=SAO_PAULO),
        ),  # Fri 19:00
        (
            datetime(2025, 4, 17, 22, 0, tzinfo=UTC),
            datetime(2025, 4, 22, 8, 0, tzinfo=SAO_PAULO),
        ),  # Easter, Tiradentes
    ],
)
def test_the_desk_next_opens_on_the_next_business_morning_in_the_customers_zone(
    at: datetime, opens: datetime
) -> None:
    assert parse_agent_hours("08:00-18:00").next_opening(at, SAO_PAULO) == opens


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_agent_hours("08:00-18:00").is_open(datetime(2025, 3, 10, 12, 0), SAO_PAULO)


def _call(phone: str = "5511999998888", call_sid: str | None = "CA" + "1" * 32) -> Conversation:
    return Conversation(
        id="C1",
        chat_id=f"voice_{call_sid}",
        phone=phone,
        source=ConversationSource.VOICE_CAMPAIGN,
        call_sid=call_sid,
        last_activity_at=MONDAY_9H,
        created_at=MONDAY_9H,
        updated_at=MONDAY_9H,
    )


BASE = {"webhook_base_url": "https://cobranca.example.com"}


@pytest.mark.parametrize(
    ("settings", "call", "route", "why"),
    [
        ({"human_agent_number": "+5511955554444"}, _call(), Route.DIAL, "ligação"),
        ({}, _call(), Route.CALLBACK, "nenhum número"),
        ({"human_agent_number": "+5511955554444"}, _call("5592999998888"), Route.CALLBACK, "fora do horário"),
        (
            {"human_agent_number": "+5511955554444", "webhook_base_url": None},
            _call(),
            Route.CALLBACK,
            "WEBHOOK",
        ),
    ],
    ids=["open", "no-number", "closed-in-manaus", "no-webhook-url"],
)
def test_a_calls_handoff_dials_the_desk_only_when_it_can_answer(
    settings: dict[str, str | None], call: Conversation, route: Route, why: str
) -> None:
    at = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)  # Monday 08:30 in São Paulo, 07:30 in Manaus
    handover = decide(call, Settings(**(BASE | settings)), at, blocked=None)  # type: ignore[arg-type]
    assert handover.route is route and why in handover.why
    assert not handover.customer_writes_first and "WhatsApp deste número" in handover.words


def test_a_callback_the_desk_cannot_write_asks_the_caller_to_write_first_on_whatsapp() -> None:
    at = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)
    settings = Settings(**BASE)  # type: ignore[arg-type]

    handover = decide(_call(), settings, at, blocked=ReplyBlocked.WINDOW_CLOSED)

    assert handover.route is Route.CALLBACK and handover.customer_writes_first
    assert "mande qualquer mensagem" in handover.words and "neste mesmo número" in handover.words
    assert "janela de 24 h fechada" in handover.note("Retorno oferecido")
    opted_out = decide(_call(), settings, at, blocked=ReplyBlocked.OPTED_OUT)
    assert opted_out.words == handover.words  # she may be answered once she writes
    assert opted_out.note("Retorno oferecido").endswith("(pediu para não ser contatado)")
    dialed = decide(
        _call(),
        Settings(**(BASE | {"human_agent_number": "+5511955554444"})),
        at,
        blocked=ReplyBlocked.WINDOW_CLOSED,
    )  # type: ignore[arg-type]
    assert dialed.route is Route.DIAL and not dialed.customer_writes_first  # a person answers live


def test_a_caller_who_writes_first_is_told_the_companys_whatsapp_number_when_it_is_configured() -> None:
    at = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)
    settings = Settings(**(BASE | {"whatsapp_business_number": "+5511933332222"}))  # type: ignore[arg-type]

    handover = decide(_call(), settings, at, blocked=ReplyBlocked.WINDOW_CLOSED)

    assert "no número DDD 11, 93333, 2222" in handover.words and "neste mesmo número" not in handover.words
    assert decide(_call(), settings, at, blocked=None).words == CALLBACK  # the desk writes itself


def test_a_whatsapp_business_number_that_is_not_brazilian_e164_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="E.164"):
        Settings(**(BASE | {"whatsapp_business_number": "11 93333-2222"}))  # type: ignore[arg-type]

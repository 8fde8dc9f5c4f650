"""The pure rules of the after-contact lifecycle: Twilio statuses → outcomes, retry backoff, the
fallback channel, the monitor's daily rhythm and the schedules' names and expressions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shared.adapters.promise_schedules import at_expression, schedule_name
from shared.domain.models import Campaign, Channel, ContactMethod, Outcome, Promise
from shared.domain.promise_rules import next_monitor_check
from shared.engine.postcall import backoff, call_outcome
from shared.engine.routing import next_allowed_channel

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "answered_by", "outcome"),
    [
        ("completed", None, Outcome.ANSWERED),
        ("completed", "human", Outcome.ANSWERED),
        ("completed", "unknown", Outcome.ANSWERED),
        ("no-answer", None, Outcome.NO_ANSWER),
        ("busy", None, Outcome.BUSY),
        ("failed", None, Outcome.FAILED),
        ("canceled", None, Outcome.NO_ANSWER),
        ("COMPLETED ", None, Outcome.ANSWERED),
        ("completed", "machine_start", Outcome.VOICEMAIL),
        ("completed", "machine_end_beep", Outcome.VOICEMAIL),
        ("completed", "machine_end_silence", Outcome.VOICEMAIL),
        ("completed", "machine_end_other", Outcome.VOICEMAIL),
        ("completed", "fax", Outcome.VOICEMAIL),
        (None, "machine_end_beep", Outcome.VOICEMAIL),  # async AMD callback
        ("in-progress", "machine_start", Outcome.VOICEMAIL),
        ("busy", "machine_start", Outcome.BUSY),
        ("no-answer", "fax", Outcome.NO_ANSWER),
    ],
)
def test_final_twilio_statuses_map_to_outcomes(
    status: str | None, answered_by: str | None, outcome: Outcome
) -> None:
    assert call_outcome(status, answered_by) is outcome


@pytest.mark.parametrize(
    ("status", "answered_by"),
    [
        ("queued", None),
        ("initiated", None),
        ("ringing", None),
        ("in-progress", None),
        ("answered", None),
        (None, "human"),
        (None, "unknown"),
        ("in-progress", "human"),
        (None, None),
        ("exploded", None),
    ],
)
def test_intermediate_statuses_and_human_verdicts_are_not_final(
    status: str | None, answered_by: str | None
) -> None:
    assert call_outcome(status, answered_by) is None


def test_backoff_grows_then_repeats_its_last_step() -> None:
    assert [backoff(n) for n in (1, 2, 3, 7)] == [
        timedelta(hours=2),
        timedelta(days=1),
        timedelta(days=2),
        timedelta(days=2),
    ]
    with pytest.raises(ValueError):
        backoff(0)


def _campaign(order: list[Channel], allowed: list[Channel]) -> Campaign:
    return Campaign(
        id="C1",
        name="Março",
        contact_method=ContactMethod.WHATSAPP_FALLBACK,
        allowed_methods=allowed,
        fallback_order=order,
        created_at=NOW,
        updated_at=NOW,
    )


def test_next_channel_skips_channels_not_allowed_or_unusable_by_the_phone() -> None:
    both = _campaign([Channel.VOICE, Channel.WHATSAPP], [Channel.VOICE, Channel.WHATSAPP])
    voice_only = _campaign([Channel.VOICE, Channel.WHATSAPP], [Channel.VOICE])

    assert next_allowed_channel(both, Channel.VOICE, "5511999998888") is Channel.WHATSAPP
    assert next_allowed_channel(both, Channel.VOICE, "551133334444") is None  # landline: no WhatsApp
    assert next_allowed_channel(voice_only, Channel.VOICE, "5511999998888") is None
    assert next_allowed_channel(both, Channel.WHATSAPP, "5511999998888") is None  # already the last


def test_the_monitor_checks_daily_at_nine_never_before_the_day_after_the_due_date() -> None:
    due = date(2025, 3, 14)
    # Checked early (before the due date): the next check is still the first one.
    assert next_monitor_check(due, SAO_PAULO, NOW) == datetime(2025, 3, 15, 9, 0, tzinfo=SAO_PAULO)
    # Checked at the first check: tomorrow 09:00.
    first = datetime(2025, 3, 15, 9, 0, tzinfo=SAO_PAULO)
    assert next_monitor_check(due, SAO_PAULO, first) == datetime(2025, 3, 16, 9, 0, tzinfo=SAO_PAULO)
    # Checked late in the evening (retries): still tomorrow 09:00, in the customer's zone.
    late = datetime(2025, 3, 17, 23, 30, tzinfo=MANAUS)
    assert next_monitor_check(due, MANAUS, late) == datetime(2025, 3, 18, 9, 0, tzinfo=MANAUS)


def test_schedule_names_and_expressions_use_the_promise_zone_wall_clock() -> None:
    promise = Promise(
        id="01JP0000000000000000000000",
        document="52998224725",
        amount=Decimal("10.00"),
        due_date=date(2025, 3, 20),
        due_at=datetime(2025, 3, 20, 23, 59, 59, 999000, tzinfo=MANAUS),
        timezone="America/Manaus",
        created_at=NOW,
        updated_at=NOW,
    )
    at = datetime(2025, 3, 21, 13, 0, tzinfo=UTC)  # 09:00 in Manaus

    assert schedule_name(promise, at) == "promise-01JP0000000000000000000000-202503210900"
    assert at_expression(at, MANAUS) == "at(2025-03-21T09:00:00)"
    assert len(schedule_name(promise, at)) <= 64  # EventBridge's limit
    with pytest.raises(ValueError):
        at_expression(datetime(2025, 3, 21, 9, 0), MANAUS)

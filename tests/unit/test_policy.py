"""The contact window and the frequency cap (SPEC §4)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from shared.domain.contact_policy import (
    DEFAULT_LEGAL_WINDOW,
    LEGAL_WINDOWS,
    ContactWindow,
    FrequencyCap,
    LegalWindow,
    legal_window_for,
    parse_hhmm,
)
from shared.domain.errors import InvalidInput

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")
ALL_WEEKDAYS = frozenset(range(1, 8))


def window(
    state: str | None = "MG",
    tz: ZoneInfo = SAO_PAULO,
    start: str = "08:00",
    end: str = "20:00",
    weekdays: frozenset[int] = ALL_WEEKDAYS,
) -> ContactWindow:
    return ContactWindow(parse_hhmm(start), parse_hhmm(end), weekdays, state, tz)


def local(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    tz: ZoneInfo = SAO_PAULO,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


# ---------------------------------------------------------------------------------------------------
# parse_hhmm
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("08:00", time(8)),
        ("8:30", time(8, 30)),
        ("23:59", time(23, 59)),
        ("00:00", time(0)),
        (" 20:00 ", time(20)),
    ],
)
def test_parse_hhmm_accepts_24_hour_times(raw: str, parsed: time) -> None:
    assert parse_hhmm(raw) == parsed


@pytest.mark.parametrize("raw", ["8h", "25:00", "24:00", "08:60", "", "0800", "08:00:00", "08:5", "-1:00"])
def test_parse_hhmm_rejects_anything_else_with_invalid_time(raw: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_hhmm(raw)
    assert raised.value.code == "invalid_time"
    assert repr(raw) in raised.value.message


# ---------------------------------------------------------------------------------------------------
# Legal windows
# ---------------------------------------------------------------------------------------------------


def test_state_table_holds_the_spec_rules() -> None:
    assert LEGAL_WINDOWS["SP"].hours[6] == (time(8), time(14))
    assert LEGAL_WINDOWS["RJ"].hours[1] == (time(9), time(19))
    assert 6 not in LEGAL_WINDOWS["RJ"].hours
    assert LEGAL_WINDOWS["ES"].hours[5] == (time(8), time(19))
    assert LEGAL_WINDOWS["AM"].hours[3] == (time(8), time(18))
    assert LEGAL_WINDOWS["AM"].hours[6] == (time(8), time(14))


def test_unknown_or_missing_state_gets_the_default_window() -> None:
    assert legal_window_for(None) is DEFAULT_LEGAL_WINDOW
    assert legal_window_for("MG") is DEFAULT_LEGAL_WINDOW
    assert set(DEFAULT_LEGAL_WINDOW.hours) == {1, 2, 3, 4, 5}
    assert DEFAULT_LEGAL_WINDOW.hours[1] == (time(8), time(20))


def test_state_lookup_ignores_case_and_spaces() -> None:
    assert legal_window_for(" sp ") is LEGAL_WINDOWS["SP"]


def test_legal_window_is_read_only() -> None:
    with pytest.raises(TypeError):
        LEGAL_WINDOWS["SP"].hours[7] = (time(8), time(9))  # type: ignore[index]


def test_legal_window_rejects_start_not_before_end() -> None:
    with pytest.raises(InvalidInput) as raised:
        LegalWindow({1: (time(20), time(8))})
    assert raised.value.code == "invalid_window"


# ---------------------------------------------------------------------------------------------------
# ContactWindow
# ---------------------------------------------------------------------------------------------------


def test_window_closes_friday_at_20_and_reopens_monday_at_8() -> None:
    contact = window(state="MG")
    assert contact.is_open(local(2026, 3, 13, 19, 59))
    assert not contact.is_open(local(2026, 3, 13, 20, 0))
    assert contact.next_opening(local(2026, 3, 13, 20, 0)) == local(2026, 3, 16, 8, 0)


def test_window_in_sao_paulo_reopens_saturday_at_8() -> None:
    contact = window(state="SP")
    assert not contact.is_open(local(2026, 3, 13, 20, 0))
    assert contact.next_opening(local(2026, 3, 13, 20, 0)) == local(2026, 3, 14, 8, 0)


def test_saturday_is_closed_in_rio_but_open_8_to_14_in_sao_paulo() -> None:
    saturday_10 = local(2026, 3, 14, 10, 0)
    assert not window(state="RJ").is_open(saturday_10)
    assert window(state="SP").is_open(saturday_10)
    assert window(state="SP").is_open(local(2026, 3, 14, 13, 59, 59))
    assert not window(state="SP").is_open(local(2026, 3, 14, 14, 0))
    assert not window(state="SP").is_open(local(2026, 3, 14, 7, 59))


def test_rio_opens_at_9_and_closes_at_19() -> None:
    contact = window(state="RJ")
    assert not contact.is_open(local(2026, 3, 16, 8, 30))
    assert contact.next_opening(local(2026, 3, 16, 8, 30)) == local(2026, 3, 16, 9, 0)
    assert contact.closes_at(local(2026, 3, 16, 10, 0)) == local(2026, 3, 16, 19, 0)


def test_sunday_is_always_closed_even_if_the_campaign_allows_it() -> None:
    contact = window(state="SP", weekdays=ALL_WEEKDAYS)
    assert not contact.is_open(local(2026, 3, 15, 10, 0))
    assert contact.next_opening(local(2026, 3, 15, 10, 0)) == local(2026, 3, 16, 8, 0)


def test_carnival_monday_and_tuesday_are_closed() -> None:
    contact = window(state="SP")
    assert not contact.is_open(local(2026, 2, 16, 10, 0))
    assert not contact.is_open(local(2026, 2, 17, 10, 0))
    assert contact.next_opening(local(2026, 2, 16, 10, 0)) == local(2026, 2, 18, 8, 0)


@pytest.mark.parametrize(
    ("holiday_noon", "state", "reopens"),
    [
        # Independência 2026 is a Monday: from Friday evening, skip Sat, Sun and the holiday.
        (local(2026, 9, 7, 12, 0), "MG", local(2026, 9, 8, 8, 0)),
        # Consciência Negra 2026 is a Friday: SP reopens Saturday, elsewhere Monday.
        (local(2026, 11, 20, 12, 0), "SP", local(2026, 11, 21, 8, 0)),
        (local(2026, 11, 20, 12, 0), "MG", local(2026, 11, 23, 8, 0)),
        # Proclamação da República 2027 is a Monday.
        (local(2027, 11, 15, 12, 0), "RJ", local(2027, 11, 16, 9, 0)),
    ],
)
def test_national_holiday_is_closed_and_next_opening_skips_it(
    holiday_noon: datetime, state: str, reopens: datetime
) -> None:
    contact = window(state=state)
    assert not contact.is_open(holiday_noon)
    assert contact.next_opening(holiday_noon) == reopens


def test_next_opening_from_the_evening_before_a_holiday_skips_it() -> None:
    contact = window(state="MG")
    assert contact.next_opening(local(2026, 9, 4, 20, 0)) == local(2026, 9, 8, 8, 0)


def test_campaign_hours_narrower_than_the_legal_window_win() -> None:
    contact = window(state="SP", start="10:00", end="12:00")
    assert not contact.is_open(local(2026, 3, 16, 9, 59))
    assert contact.is_open(local(2026, 3, 16, 10, 0))
    assert not contact.is_open(local(2026, 3, 16, 12, 0))
    assert contact.closes_at(local(2026, 3, 16, 11, 0)) == local(2026, 3, 16, 12, 0)
    assert contact.next_opening(local(2026, 3, 16, 12, 0)) == local(2026, 3, 17, 10, 0)


def test_legal_window_narrower_than_campaign_hours_wins() -> None:
    contact = window(state="SP", start="06:00", end="23:00")
    assert not contact.is_open(local(2026, 3, 16, 7, 0))
    assert contact.closes_at(local(2026, 3, 16, 19, 0)) == local(2026, 3, 16, 20, 0)


def test_campaign_weekdays_restrict_the_window() -> None:
    contact = window(state="SP", weekdays=frozenset({2, 4}))  # Tuesdays and Thursdays
    assert not contact.is_open(local(2026, 3, 16, 10, 0))  # Monday
    assert contact.next_opening(local(2026, 3, 16, 10, 0)) == local(2026, 3, 17, 8, 0)


def test_manaus_customer_is_read_on_manaus_clock() -> None:
    contact = window(state="AM", tz=MANAUS)
    # 19:30 in São Paulo is 18:30 in Manaus, and AM closes at 18:00.
    at = local(2026, 3, 16, 19, 30)
    assert not contact.is_open(at)
    reopens = contact.next_opening(at)
    assert reopens == local(2026, 3, 17, 8, 0, tz=MANAUS)
    assert reopens.tzinfo == MANAUS
    assert contact.is_open(local(2026, 3, 16, 18, 30))  # 17:30 in Manaus


def test_utc_input_is_evaluated_in_the_customer_zone() -> None:
    contact = window(state="MG")
    assert contact.is_open(datetime(2026, 3, 13, 22, 59, tzinfo=UTC))  # 19:59 in São Paulo
    assert not contact.is_open(datetime(2026, 3, 13, 23, 0, tzinfo=UTC))  # 20:00 in São Paulo
    assert not contact.is_open(datetime(2026, 3, 16, 10, 59, tzinfo=UTC))  # 07:59 in São Paulo
    opening = contact.next_opening(datetime(2026, 3, 13, 23, 0, tzinfo=UTC))
    assert opening == datetime(2026, 3, 16, 11, 0, tzinfo=UTC)


def test_next_opening_returns_the_same_instant_when_already_open() -> None:
    at = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
    opening = window(state="SP").next_opening(at)
    assert opening == at
    assert opening.tzinfo == SAO_PAULO


def test_closes_at_is_none_when_closed() -> None:
    assert window(state="SP").closes_at(local(2026, 3, 15, 10, 0)) is None


def test_window_that_never_intersects_the_legal_hours_raises() -> None:
    contact = window(state="RJ", start="06:00", end="08:30")
    with pytest.raises(InvalidInput) as raised:
        contact.next_opening(local(2026, 3, 16, 7, 0))
    assert raised.value.code == "window_never_opens"
    assert "06:00-08:30" in raised.value.message


def test_campaign_on_sundays_only_never_opens() -> None:
    with pytest.raises(InvalidInput):
        window(weekdays=frozenset({7})).next_opening(local(2026, 3, 16, 7, 0))


def test_campaign_hours_must_start_before_they_end() -> None:
    with pytest.raises(InvalidInput) as raised:
        window(start="18:00", end="09:00")
    assert raised.value.code == "invalid_window"


def test_campaign_weekdays_must_be_iso_weekdays() -> None:
    with pytest.raises(InvalidInput) as raised:
        window(weekdays=frozenset({0, 1}))
    assert raised.value.code == "invalid_window"


def test_from_schedule_parses_the_stored_campaign_schedule() -> None:
    contact = ContactWindow.from_schedule("10:00", "12:00", [1, 2, 3], "SP", SAO_PAULO)
    assert contact == window(state="SP", start="10:00", end="12:00", weekdays=frozenset({1, 2, 3}))


def test_for_phone_reads_state_and_zone_from_the_ddd() -> None:
    contact = ContactWindow.for_phone("08:00", "20:00", [1, 2, 3, 4, 5, 6], "+55 92 99999-8888")
    assert contact.state == "AM"
    assert contact.tz == MANAUS
    assert not contact.is_open(local(2026, 3, 16, 19, 30))  # 18:30 in Manaus


def test_for_phone_with_an_unusable_number_uses_the_default_window_and_zone() -> None:
    contact = ContactWindow.for_phone("08:00", "20:00", [1, 2, 3, 4, 5, 6], "123", default_tz=SAO_PAULO)
    assert contact.state is None
    assert contact.tz == SAO_PAULO
    assert contact.legal is DEFAULT_LEGAL_WINDOW


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window().is_open(datetime(2026, 3, 16, 10, 0))


# ---------------------------------------------------------------------------------------------------
# FrequencyCap
# ---------------------------------------------------------------------------------------------------


def test_first_contact_is_allowed() -> None:
    decision = FrequencyCap().check([], local(2026, 3, 16, 10, 0), SAO_PAULO)
    assert decision.allowed
    assert decision.reason is None
    assert decision.retry_at is None


def test_second_contact_same_local_day_is_refused_until_local_midnight() -> None:
    decision = FrequencyCap().check([local(2026, 3, 16, 9, 0)], local(2026, 3, 16, 18, 0), SAO_PAULO)
    assert not decision.allowed
    assert decision.reason == "daily_cap"
    assert decision.retry_at == local(2026, 3, 17, 0, 0)


def test_daily_cap_uses_the_customer_local_day_not_utc() -> None:
    # 22:00 and 23:30 in São Paulo are 01:00 and 02:30 UTC of the *next* UTC day: same local day.
    previous = [datetime(2026, 3, 17, 1, 0, tzinfo=UTC)]
    decision = FrequencyCap().check(previous, datetime(2026, 3, 17, 2, 30, tzinfo=UTC), SAO_PAULO)
    assert decision.reason == "daily_cap"
    assert decision.retry_at == datetime(2026, 3, 17, 3, 0, tzinfo=UTC)


def test_contacts_at_23_30_and_00_30_next_local_day_are_both_allowed() -> None:
    decision = FrequencyCap().check([local(2026, 3, 16, 23, 30)], local(2026, 3, 17, 0, 30), SAO_PAULO)
    assert decision.allowed


def test_fourth_contact_in_rolling_week_is_refused_until_the_oldest_leaves() -> None:
    previous = [local(2026, 3, 16, 10, 0), local(2026, 3, 18, 11, 0), local(2026, 3, 20, 12, 0)]
    decision = FrequencyCap().check(previous, local(2026, 3, 21, 10, 0), SAO_PAULO)
    assert not decision.allowed
    assert decision.reason == "weekly_cap"
    assert decision.retry_at == local(2026, 3, 23, 10, 0)


def test_rolling_week_is_seven_times_24_hours() -> None:
    previous = [local(2026, 3, 16, 10, 0), local(2026, 3, 18, 11, 0), local(2026, 3, 20, 12, 0)]
    cap = FrequencyCap()
    assert not cap.check(previous, local(2026, 3, 23, 9, 59), SAO_PAULO).allowed
    assert cap.check(previous, local(2026, 3, 23, 10, 0), SAO_PAULO).allowed


def test_contacts_older_than_a_week_do_not_count() -> None:
    previous = [local(2026, 3, 1, 10, 0), local(2026, 3, 2, 10, 0), local(2026, 3, 3, 10, 0)]
    assert FrequencyCap().check(previous, local(2026, 3, 16, 10, 0), SAO_PAULO).allowed


def test_retry_at_satisfies_both_caps() -> None:
    # The weekly cap frees up at 10:00 on the 23rd, but that day already had a contact at 09:00.
    previous = [
        local(2026, 3, 16, 10, 0),
        local(2026, 3, 18, 11, 0),
        local(2026, 3, 20, 12, 0),
        local(2026, 3, 23, 9, 0),
    ]
    cap = FrequencyCap(max_per_day=1, max_per_week=4)
    decision = cap.check(previous, local(2026, 3, 21, 10, 0), SAO_PAULO)
    assert decision.reason == "weekly_cap"
    assert decision.retry_at == local(2026, 3, 24, 0, 0)
    assert cap.check(previous, decision.retry_at, SAO_PAULO).allowed


def test_configured_caps_are_honoured() -> None:
    cap = FrequencyCap(max_per_day=2, max_per_week=5)
    assert cap.check([local(2026, 3, 16, 9, 0)], local(2026, 3, 16, 15, 0), SAO_PAULO).allowed
    two_today = [local(2026, 3, 16, 9, 0), local(2026, 3, 16, 12, 0)]
    assert not cap.check(two_today, local(2026, 3, 16, 15, 0), SAO_PAULO).allowed


@pytest.mark.parametrize(("per_day", "per_week"), [(0, 3), (1, 0), (-1, 3), (1, -5)])
def test_caps_are_never_zero_or_unlimited(per_day: int, per_week: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        FrequencyCap(max_per_day=per_day, max_per_week=per_week)
    assert raised.value.code == "invalid_cap"

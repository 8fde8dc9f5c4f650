"""Payment promise rules (SPEC §4, "Promises")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shared.domain.errors import InvalidInput
from shared.domain.promise_rules import (
    BROKEN_AFTER_DAYS,
    PromiseRejected,
    end_of_day,
    is_broken,
    monitor_check_at,
    parse_promise_date,
    validate_promise,
)

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")
TODAY = date(2026, 12, 1)
# 2026-12-01 15:00 in São Paulo.
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
TOTAL = Decimal("189.90")


def rejection(**overrides: object) -> PromiseRejected:
    arguments: dict[str, object] = {
        "day": date(2026, 12, 15),
        "amount": Decimal("100.00"),
        "open_total": TOTAL,
        "now": NOW,
        "tz": SAO_PAULO,
    }
    arguments.update(overrides)
    with pytest.raises(PromiseRejected) as raised:
        validate_promise(**arguments)  # type: ignore[arg-type]
    return raised.value


# ---------------------------------------------------------------------------------------------------
# parse_promise_date
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("15/12/2026", date(2026, 12, 15)),
        ("5/1/2027", date(2027, 1, 5)),
        ("05/01/27", date(2027, 1, 5)),
        ("2026-12-15", date(2026, 12, 15)),
        (" 15/12/2026 ", date(2026, 12, 15)),
    ],
)
def test_parse_promise_date_accepts_common_formats(raw: str, parsed: date) -> None:
    assert parse_promise_date(raw, TODAY) == parsed


def test_day_and_month_means_the_next_occurrence_on_or_after_today() -> None:
    assert parse_promise_date("15/12", TODAY) == date(2026, 12, 15)
    assert parse_promise_date("01/12", TODAY) == date(2026, 12, 1)  # today itself
    assert parse_promise_date("10/01", TODAY) == date(2027, 1, 10)  # already passed this year
    assert parse_promise_date("30/11", TODAY) == date(2027, 11, 30)


def test_day_and_month_29_february_goes_to_the_next_leap_year() -> None:
    assert parse_promise_date("29/02", date(2026, 3, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "raw", ["31/02/2026", "", "amanhã", "15/13/2026", "2026-02-30", "31/04", "15-12-2026", "1/1/202"]
)
def test_invalid_promise_dates_are_rejected(raw: str) -> None:
    with pytest.raises(PromiseRejected) as raised:
        parse_promise_date(raw, TODAY)
    assert raised.value.code == "invalid_date"
    assert repr(raw) in raised.value.message


def test_promise_rejected_is_an_invalid_input() -> None:
    assert issubclass(PromiseRejected, InvalidInput)
    assert PromiseRejected.code == "promise_rejected"


# ---------------------------------------------------------------------------------------------------
# end_of_day / validate_promise
# ---------------------------------------------------------------------------------------------------


def test_promise_due_at_end_of_day_in_customer_zone() -> None:
    assert end_of_day(date(2026, 12, 15), SAO_PAULO) == datetime(2026, 12, 16, 2, 59, 59, 999000, tzinfo=UTC)
    assert end_of_day(date(2026, 12, 15), MANAUS) == datetime(2026, 12, 16, 3, 59, 59, 999000, tzinfo=UTC)


def test_valid_promise_returns_its_due_at() -> None:
    due_at = validate_promise(date(2026, 12, 15), Decimal("100.00"), TOTAL, NOW, SAO_PAULO)
    assert due_at == end_of_day(date(2026, 12, 15), SAO_PAULO)
    assert due_at.tzinfo == SAO_PAULO


def test_promise_for_today_is_accepted() -> None:
    assert validate_promise(TODAY, Decimal("10.00"), TOTAL, NOW, SAO_PAULO) == end_of_day(TODAY, SAO_PAULO)


def test_promise_for_today_is_accepted_up_to_the_last_local_millisecond() -> None:
    last_ms = datetime(2026, 12, 2, 2, 59, 59, 998000, tzinfo=UTC)  # 23:59:59.998 in São Paulo
    assert validate_promise(TODAY, Decimal("10.00"), TOTAL, last_ms, SAO_PAULO)


def test_promise_for_yesterday_is_rejected() -> None:
    error = rejection(day=date(2026, 11, 30))
    assert error.code == "date_in_past"
    assert "2026-11-30" in error.message
    assert "2026-12-01" in error.message


def test_today_is_read_in_the_customer_zone() -> None:
    # 03:30 UTC on the 2nd is still the 1st in Manaus (23:30): the 1st is a valid promise there...
    late = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert validate_promise(TODAY, Decimal("10.00"), TOTAL, late, MANAUS)
    # ...but already over in São Paulo (00:30 on the 2nd).
    assert rejection(day=TODAY, now=late).code == "date_in_past"


def test_promise_60_days_ahead_is_rejected() -> None:
    error = rejection(day=TODAY + timedelta(days=60))
    assert error.code == "date_too_far"
    assert "30 days" in error.message
    assert "2026-12-31" in error.message


def test_promise_exactly_max_days_ahead_is_accepted() -> None:
    assert validate_promise(TODAY + timedelta(days=30), Decimal("10.00"), TOTAL, NOW, SAO_PAULO)
    assert rejection(day=TODAY + timedelta(days=31)).code == "date_too_far"


def test_max_days_is_configurable() -> None:
    assert validate_promise(TODAY + timedelta(days=45), Decimal("1.00"), TOTAL, NOW, SAO_PAULO, max_days=45)
    assert rejection(day=TODAY + timedelta(days=8), max_days=7).code == "date_too_far"


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("0.00"), Decimal("-10.00"), Decimal("NaN"), Decimal("10.005")]
)
def test_invalid_amounts_are_rejected(amount: Decimal) -> None:
    assert rejection(amount=amount).code == "invalid_amount"


def test_amount_above_open_total_is_rejected() -> None:
    error = rejection(amount=Decimal("189.91"))
    assert error.code == "amount_above_total"
    assert "189.91" in error.message
    assert "189.90" in error.message


def test_amount_equal_to_open_total_is_accepted() -> None:
    assert validate_promise(date(2026, 12, 15), TOTAL, TOTAL, NOW, SAO_PAULO)


def test_trailing_zeros_do_not_count_as_extra_decimal_places() -> None:
    assert validate_promise(date(2026, 12, 15), Decimal("100.000"), TOTAL, NOW, SAO_PAULO)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_promise(date(2026, 12, 15), Decimal("1.00"), TOTAL, datetime(2026, 12, 1, 12), SAO_PAULO)


# ---------------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------------


def test_monitor_first_checks_the_day_after_at_9_local() -> None:
    assert monitor_check_at(date(2026, 12, 15), SAO_PAULO) == datetime(2026, 12, 16, 12, 0, tzinfo=UTC)
    assert monitor_check_at(date(2026, 12, 31), MANAUS) == datetime(2027, 1, 1, 13, 0, tzinfo=UTC)


def test_promise_is_broken_only_after_seven_days_past_due() -> None:
    due_at = end_of_day(date(2026, 12, 15), SAO_PAULO)
    assert BROKEN_AFTER_DAYS == 7
    assert not is_broken(due_at, due_at + timedelta(days=7))
    assert is_broken(due_at, due_at + timedelta(days=7, milliseconds=1))
    assert not is_broken(due_at, due_at - timedelta(days=1))

from datetime import date

import pytest

from shared.domain.time_bar import TIME_BAR_YEARS, is_time_barred, time_bar_cutoff


def test_the_bar_is_five_years() -> None:
    assert TIME_BAR_YEARS == 5
    assert time_bar_cutoff(date(2026, 12, 3)) == date(2021, 12, 3)


def test_a_debt_due_exactly_five_years_ago_is_still_collectible() -> None:
    today = date(2026, 12, 3)
    assert not is_time_barred(date(2021, 12, 3), today)
    assert is_time_barred(date(2021, 12, 2), today)


def test_recent_and_future_due_dates_are_never_barred() -> None:
    today = date(2026, 12, 3)
    assert not is_time_barred(today, today)
    assert not is_time_barred(date(2027, 1, 10), today)


@pytest.mark.parametrize(
    ("today", "cutoff"),
    [
        (date(2028, 2, 29), date(2023, 2, 28)),  # no 29 February five years earlier
        (date(2029, 2, 28), date(2024, 2, 28)),
        (date(2029, 3, 1), date(2024, 3, 1)),  # the leap day of 2024 is barred by then
    ],
)
def test_leap_days(today: date, cutoff: date) -> None:
    assert time_bar_cutoff(today) == cutoff
    assert not is_time_barred(cutoff, today)
    assert is_time_barred(date.fromordinal(cutoff.toordinal() - 1), today)

"""Brazilian national holidays."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.errors import InvalidInput
from shared.domain.holidays import easter_sunday, is_national_holiday, national_holidays


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2000, date(2000, 4, 23)),
        (2285, date(2285, 3, 22)),  # the earliest possible Easter
        (2038, date(2038, 4, 25)),  # the latest possible Easter
    ],
)
def test_easter_sunday_matches_known_dates(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_easter_before_gregorian_calendar_is_rejected() -> None:
    with pytest.raises(InvalidInput) as raised:
        easter_sunday(1500)
    assert raised.value.code == "invalid_year"


def test_movable_holidays_of_2026() -> None:
    holidays = national_holidays(2026)
    assert holidays[date(2026, 2, 16)] == "Carnaval (segunda-feira)"
    assert holidays[date(2026, 2, 17)] == "Carnaval (terça-feira)"
    assert holidays[date(2026, 4, 3)] == "Sexta-feira Santa"
    assert holidays[date(2026, 6, 4)] == "Corpus Christi"


def test_carnival_2027_is_8_and_9_february() -> None:
    assert is_national_holiday(date(2027, 2, 8))
    assert is_national_holiday(date(2027, 2, 9))
    assert not is_national_holiday(date(2027, 2, 10))  # Ash Wednesday is a working day


def test_fixed_holidays_are_all_present() -> None:
    fixed = {(day.month, day.day) for day in national_holidays(2026)}
    assert {(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (11, 20), (12, 25)} <= fixed
    assert len(national_holidays(2026)) == 13


def test_consciencia_negra_is_national_only_from_2024() -> None:
    assert not is_national_holiday(date(2023, 11, 20))
    assert is_national_holiday(date(2024, 11, 20))
    assert national_holidays(2025)[date(2025, 11, 20)] == "Dia Nacional de Zumbi e da Consciência Negra"


def test_ordinary_days_are_not_holidays() -> None:
    assert not is_national_holiday(date(2026, 3, 16))
    assert not is_national_holiday(date(2026, 12, 24))


def test_national_holidays_returns_a_copy_the_caller_cannot_use_to_corrupt_the_cache() -> None:
    holidays = national_holidays(2026)
    holidays[date(2026, 3, 16)] = "Feriado inventado"
    del holidays[date(2026, 12, 25)]
    assert not is_national_holiday(date(2026, 3, 16))
    assert is_national_holiday(date(2026, 12, 25))


def test_national_holidays_are_in_date_order() -> None:
    days = list(national_holidays(2027))
    assert days == sorted(days)

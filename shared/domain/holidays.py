"""Brazilian national holidays (Lei 662/1949, Lei 6.802/1980, Lei 14.759/2023).

The contact window (`shared.domain.contact_policy`) never opens on these days. Carnival and Corpus Christi are
"pontos facultativos" by law, but collection teams treat them as holidays and so does SPEC §4.
Only national dates live here: state and municipal holidays are out of scope.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from shared.domain.errors import InvalidInput

# The Gregorian computus below is only valid once the Gregorian calendar existed.
_FIRST_GREGORIAN_YEAR: Final = 1583
# Dia de Zumbi e da Consciência Negra became a national holiday with Lei 14.759/2023.
_CONSCIENCIA_NEGRA_SINCE: Final = 2024

_FIXED_HOLIDAYS: Final[tuple[tuple[int, int, str], ...]] = (
    (1, 1, "Confraternização Universal"),
    (4, 21, "Tiradentes"),
    (5, 1, "Dia do Trabalho"),
    (9, 7, "Independência do Brasil"),
    (10, 12, "Nossa Senhora Aparecida"),
    (11, 2, "Finados"),
    (11, 15, "Proclamação da República"),
    (12, 25, "Natal"),
)

# Movable feasts, as offsets in days from Easter Sunday.
_EASTER_OFFSETS: Final[tuple[tuple[int, str], ...]] = (
    (-48, "Carnaval (segunda-feira)"),
    (-47, "Carnaval (terça-feira)"),
    (-2, "Sexta-feira Santa"),
    (60, "Corpus Christi"),
)


def easter_sunday(year: int) -> date:
    """Easter Sunday of `year` (Gregorian calendar; anonymous Meeus/Jones/Butcher algorithm).

    Raises `InvalidInput` for years before 1583, when the Gregorian rule did not apply.
    """
    if year < _FIRST_GREGORIAN_YEAR:
        raise InvalidInput(
            f"year {year} is before {_FIRST_GREGORIAN_YEAR}: the Gregorian Easter rule does not apply",
            code="invalid_year",
        )
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    moon_correction = (century + 8) // 25
    solar_correction = (century - moon_correction + 1) // 3
    epact = (19 * golden + century - leap_centuries - solar_correction + 15) % 30
    leap_years, year_rest = divmod(year_of_century, 4)
    weekday_shift = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    late_correction = (golden + 11 * epact + 22 * weekday_shift) // 451
    month, day = divmod(epact + weekday_shift - 7 * late_correction + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def _holidays(year: int) -> MappingProxyType[date, str]:
    # Cached read-only; `national_holidays` hands out copies so no caller can corrupt the cache.
    easter = easter_sunday(year)
    days: dict[date, str] = {date(year, month, day): name for month, day, name in _FIXED_HOLIDAYS}
    if year >= _CONSCIENCIA_NEGRA_SINCE:
        days[date(year, 11, 20)] = "Dia Nacional de Zumbi e da Consciência Negra"
    for offset, name in _EASTER_OFFSETS:
        days[easter + timedelta(days=offset)] = name
    return MappingProxyType(dict(sorted(days.items())))


def national_holidays(year: int) -> dict[date, str]:
    """The national holidays of `year`, in date order, as `date -> Portuguese name`."""
    return dict(_holidays(year))


def is_national_holiday(day: date) -> bool:
    """Whether `day` is a Brazilian national holiday (Carnival and Corpus Christi included)."""
    return day in _holidays(day.year)

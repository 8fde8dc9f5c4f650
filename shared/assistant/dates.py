"""Payment days as customers write them, for the fallback dialogue: "dia 15", "15/12", "15 de
dezembro", "sexta-feira", "semana que vem", "amanhã", "daqui a 10 dias", "fim do mês".

`find_date(text, today)` is pure: `today` is the customer's local date (`today_in(tz)` gives it from
`shared.core.clock`). It only reads the day; whether the day is acceptable for a promise (future, at most
30 days ahead) is `shared.engine.promises`' rule. Choices made for vague phrases:
- "dia N" is the next day N on or after today (this month, else the next; clamped to the month's
  last day, so "dia 31" in April is 30/04);
- a weekday ("sexta", "sexta que vem") is its next occurrence after today; "sexta da semana que vem"
  is the Friday of next calendar week;
- "semana que vem" alone is the Friday of next week (the end of the week the customer named);
- "fim do mês" is the last day of the current month ("fim do mês que vem": of the next one).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from shared.assistant.intents import normalize
from shared.core import clock
from shared.domain.promise_rules import PromiseRejected, parse_promise_date

_WEEKDAYS: Final = {
    "segunda": 0,
    "terca": 1,
    "quarta": 2,
    "quinta": 3,
    "sexta": 4,
    "sabado": 5,
    "domingo": 6,
}
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        (
            "janeiro",
            "fevereiro",
            "marco",
            "abril",
            "maio",
            "junho",
            "julho",
            "agosto",
            "setembro",
            "outubro",
            "novembro",
            "dezembro",
        ),
        start=1,
    )
}
_NUMBERS: Final = {
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "sete": 7,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "quinze": 15,
    "vinte": 20,
    "trinta": 30,
}
_NUMBER: Final = r"(\d{1,2}|" + "|".join(_NUMBERS) + r")"
_NEXT_MONTH: Final = r"(?:do |no )?(?:mes que vem|proximo mes|mes seguinte)"
_THIS_MONTH: Final = r"(?:deste|desse|do|este|esse)? ?mes"

# Money is removed first so "R$ 10,50" or "89,90" is never read as a day.
_MONEY: Final = re.compile(r"r\$ ?[\d.,]+|\d[\d.]*,\d{2}\b|\d+ reais")
_NUMERIC: Final = re.compile(r"(?<![\d/])(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}|\d{2}))?(?![\d/])")
_DAY_OF_MONTH_NAME: Final = re.compile(r"(?:dia )?(\d{1,2}) de (" + "|".join(_MONTHS) + r")(?: de (\d{4}))?")
_DAY_NEXT_MONTH: Final = re.compile(rf"dia (\d{{1,2}}) {_NEXT_MONTH}")
_DAY: Final = re.compile(r"\bdia (\d{1,2})\b(?!/)")
_IN_DAYS: Final = re.compile(rf"\b(?:daqui a|daqui|em|dentro de) {_NUMBER} (dias?|semanas?|mes|meses)\b")
_WEEKDAY: Final = re.compile(
    r"\b(segunda|terca|quarta|quinta|sexta|sabado|domingo)(?:-feira| feira)?"
    r"( (?:da|na) (?:semana que vem|proxima semana))?\b"
)
_NEXT_WEEK: Final = re.compile(r"\b(?:semana que vem|proxima semana|semana seguinte)\b")
_END_OF_NEXT_MONTH: Final = re.compile(r"\b(?:fim|final) (?:do )?(?:mes que vem|proximo mes)\b")
_END_OF_MONTH: Final = re.compile(rf"\b(?:fim|final) {_THIS_MONTH}\b")


def today_in(tz: ZoneInfo) -> date:
    """The customer's current date: `shared.core.clock.now()` on the wall clock of `tz`."""
    return clock.now().astimezone(tz).date()


def find_date(text: str, today: date) -> date | None:
    """The payment day named in `text`, relative to `today` (the customer's local date); None if the
    text names no day (or names one that does not exist, like "31/02")."""
    norm = _MONEY.sub(" ", normalize(text))
    for reader in (_numeric, _named_month, _day_of_month, _in_days, _relative_words, _weekday, _month_end):
        found = reader(norm, today)
        if found is not None:
            return found
    return None


def _numeric(norm: str, today: date) -> date | None:
    match = _NUMERIC.search(norm)
    if not match:
        return None
    raw = match.group().replace("-", "/")
    try:
        return parse_promise_date(raw, today)
    except PromiseRejected:
        return None


def _named_month(norm: str, today: date) -> date | None:
    match = _DAY_OF_MONTH_NAME.search(norm)
    if not match:
        return None
    day, month = int(match[1]), _MONTHS[match[2]]
    try:
        if match[3]:
            return date(int(match[3]), month, day)
        return parse_promise_date(f"{day}/{month}", today)
    except (ValueError, PromiseRejected):
        return None


def _relative_words(norm: str, today: date) -> date | None:
    if re.search(r"\bdepois de amanha\b", norm):
        return today + timedelta(days=2)
    if re.search(r"\bamanha\b", norm):
        return today + timedelta(days=1)
    if re.search(r"\bhoje\b", norm) and not re.search(r"\bnao\b", norm):  # "hoje não dá" names no day
        return today
    return None


def _in_days(norm: str, today: date) -> date | None:
    match = _IN_DAYS.search(norm)
    if not match:
        return None
    count = int(match[1]) if match[1].isdigit() else _NUMBERS[match[1]]
    unit = match[2]
    if unit.startswith("dia"):
        return today + timedelta(days=count)
    if unit.startswith("semana"):
        return today + timedelta(weeks=count)
    return _add_months(today, count, today.day)


def _day_of_month(norm: str, today: date) -> date | None:
    if match := _DAY_NEXT_MONTH.search(norm):
        return _add_months(today, 1, int(match[1]))
    match = _DAY.search(norm)
    if not match:
        return None
    day = int(match[1])
    if not 1 <= day <= 31:
        return None
    if day >= today.day:
        return _clamped(today.year, today.month, day)
    return _add_months(today, 1, day)


def _weekday(norm: str, today: date) -> date | None:
    if match := _WEEKDAY.search(norm):
        weekday = _WEEKDAYS[match[1]]
        if match[2]:  # "... da semana que vem": that weekday in next calendar week
            next_monday = today + timedelta(days=7 - today.weekday())
            return next_monday + timedelta(days=weekday)
        ahead = (weekday - today.weekday() - 1) % 7 + 1  # 1..7: strictly after today
        return today + timedelta(days=ahead)
    if _NEXT_WEEK.search(norm):
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=4)
    return None


def _month_end(norm: str, today: date) -> date | None:
    if _END_OF_NEXT_MONTH.search(norm):
        return _add_months(today, 1, 31)
    if _END_OF_MONTH.search(norm):
        return _clamped(today.year, today.month, 31)
    return None


def _add_months(today: date, months: int, day: int) -> date:
    index = today.month - 1 + months
    return _clamped(today.year + index // 12, index % 12 + 1, day)


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))

"""Payment promises (SPEC §4, "Promises"): the pure rules.

A promise is due at the end of the promised day (23:59:59.999) in the customer's zone, must be in the
future and at most `max_days` ahead, for an amount above zero and not above the open total. The
monitor first checks the day after, then daily. A promise is kept when the CRM shows at least the
promised amount of the invoices it was made against paid (or none of them open), whatever else became
overdue since; one not kept 7 days after its due date is broken. While it is pending, every open case of
the customer waits for its end (`deferred_until`). Registering and settling promises is `shared.engine.promises`; checking them with the CRM is
`shared.engine.promise_monitor`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from shared.core.clock import require_aware
from shared.domain.debts import DebtKind, DebtReading
from shared.domain.errors import InvalidInput
from shared.domain.models import Promise

BROKEN_AFTER_DAYS: int = 7
DEFAULT_MAX_DAYS: Final = 30
MONITOR_CHECK_TIME: Final = time(9, 0)
# Millisecond precision on purpose: DynamoDB items and JSON carry milliseconds, so a due_at that
# round-trips through storage compares equal to the one computed here.
_END_OF_DAY: Final = time(23, 59, 59, 999000)
# A "DD/MM" date may name a 29 February up to 8 years away (e.g. across 2100, not a leap year).
_LEAP_SEARCH_YEARS: Final = 9


class PromiseRejected(InvalidInput):
    """A promise that breaks a rule. Instances carry the precise reason in `code`:
    "invalid_date", "date_in_past", "date_too_far", "invalid_amount" or "amount_above_total"."""

    code = "promise_rejected"


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------

_DAY_MONTH_YEAR = re.compile(r"(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4}|\d{2})")
_DAY_MONTH = re.compile(r"(?P<day>\d{1,2})/(?P<month>\d{1,2})")
_ISO = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")


def parse_promise_date(raw: str, today: date) -> date:
    """Parse a promised day as customers and the assistant write it.

    Accepts "DD/MM/YYYY", "D/M/YYYY", "DD/MM/YY" (20YY), "DD/MM" (its next occurrence on or after
    `today`) and "YYYY-MM-DD". Raises `PromiseRejected` with code "invalid_date" for anything else,
    including days that do not exist ("31/02/2026"). Whether the day is acceptable is
    `validate_promise`'s job, not this function's.
    """
    text = raw.strip()
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        year = int(match["year"])
        if len(match["year"]) == 2:
            year += 2000  # promises are about the next weeks: "26" can only mean 2026
        return _calendar_date(year, int(match["month"]), int(match["day"]), raw)
    if match := _ISO.fullmatch(text):
        return _calendar_date(int(match["year"]), int(match["month"]), int(match["day"]), raw)
    if match := _DAY_MONTH.fullmatch(text):
        return _next_occurrence(int(match["month"]), int(match["day"]), today, raw)
    raise PromiseRejected(
        f"invalid promise date {raw!r}: expected DD/MM/YYYY, DD/MM/YY, DD/MM or YYYY-MM-DD",
        code="invalid_date",
    )


def _calendar_date(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise PromiseRejected(
            f"invalid promise date {raw!r}: {year:04d}-{month:02d}-{day:02d} does not exist",
            code="invalid_date",
        ) from exc


def _next_occurrence(month: int, day: int, today: date, raw: str) -> date:
    for year in range(today.year, today.year + _LEAP_SEARCH_YEARS):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # 29/02 outside a leap year: try the next one
        if candidate >= today:
            return candidate
    raise PromiseRejected(
        f"invalid promise date {raw!r}: day {day:02d}/{month:02d} does not exist", code="invalid_date"
    )


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last millisecond of `day` on the wall clock of `tz`: 23:59:59.999 (aware)."""
    return datetime.combine(day, _END_OF_DAY, tzinfo=tz)


def validate_promise(
    day: date,
    amount: Decimal,
    open_total: Decimal,
    now: datetime,
    tz: ZoneInfo,
    max_days: int = DEFAULT_MAX_DAYS,
) -> datetime:
    """Check a promise to pay `amount` by `day` and return its `due_at` (end of `day` in `tz`).

    Rules: the due instant is after `now` (so today is fine until its end); `day` is at most
    `max_days` after today in `tz`; `amount` has at most two decimal places, is above zero and is not
    above `open_total`. Raises `PromiseRejected` with the failing rule's code otherwise.
    """
    require_aware(now, "now")
    if max_days < 0:
        raise ValueError(f"max_days must be >= 0, got {max_days}")
    today = now.astimezone(tz).date()
    due_at = end_of_day(day, tz)
    if due_at <= now:
        raise PromiseRejected(
            f"promise date {day.isoformat()} is in the past: today is {today.isoformat()} in {tz.key}",
            code="date_in_past",
        )
    latest = today + timedelta(days=max_days)
    if day > latest:
        raise PromiseRejected(
            f"promise date {day.isoformat()} is more than {max_days} days ahead: "
            f"the latest allowed is {latest.isoformat()}",
            code="date_too_far",
        )
    if not amount.is_finite() or amount <= 0:
        raise PromiseRejected(f"promise amount must be above 0, got {amount}", code="invalid_amount")
    if _decimal_places(amount) > 2:
        raise PromiseRejected(
            f"promise amount {amount} has more than two decimal places", code="invalid_amount"
        )
    if amount > open_total:
        raise PromiseRejected(
            f"promise amount {amount} is above the open total {open_total}", code="amount_above_total"
        )
    return due_at


def _decimal_places(amount: Decimal) -> int:
    # Normalised so "150.000" counts as 150 (0 places); avoids quantize, which overflows on huge values.
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked by the caller
    return max(0, -exponent)


# --------------------------------------------------------------------------------------------------
# Monitoring
# --------------------------------------------------------------------------------------------------


def monitor_check_at(day: date, tz: ZoneInfo) -> datetime:
    """When the monitor first asks the CRM about a promise for `day`: the next day, 09:00 in `tz`."""
    return datetime.combine(day + timedelta(days=1), MONITOR_CHECK_TIME, tzinfo=tz)


def is_broken(due_at: datetime, now: datetime) -> bool:
    """Whether a promise still open at `now` is broken: more than 7 days past its `due_at`."""
    require_aware(due_at, "due_at")
    require_aware(now, "now")
    return now > due_at + timedelta(days=BROKEN_AFTER_DAYS)


def next_monitor_check(due_date: date, tz: ZoneInfo, now: datetime) -> datetime:
    """The next daily check after one at `now`: tomorrow 09:00 in `tz`, never before the first check
    (the day after `due_date`)."""
    require_aware(now, "now")
    tomorrow = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), MONITOR_CHECK_TIME, tzinfo=tz)
    return max(tomorrow, monitor_check_at(due_date, tz))


def is_kept(promise: Promise, reading: DebtReading) -> bool:
    """Whether `promise` is kept by what the CRM reads now.

    Made against `invoice_numbers` (with `open_amount` open then): kept when none of them is still
    collectible, or when what was paid of them (`open_amount` minus what is still open) reaches the
    promised `amount` — whatever else became overdue since. A promise that names no invoices (made
    before promises did) is kept only when nothing collectible is open. A customer the CRM does not
    know never keeps a promise: that is no payment.
    """
    if reading.kind is DebtKind.UNKNOWN_CUSTOMER:
        return False
    numbers, open_amount = promise.invoice_numbers, promise.open_amount
    if not numbers or open_amount is None:
        return not reading.owes
    still_open = reading.open_amount_of(numbers)
    return still_open == 0 or open_amount - still_open >= promise.amount


def deferred_until(due_at: datetime) -> datetime:
    """When a customer's cases deferred by a promise due at `due_at` may be contacted again: the first
    instant after the promised day."""
    require_aware(due_at, "due_at")
    return due_at + timedelta(milliseconds=1)

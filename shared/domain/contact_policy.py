"""The contact policy (SPEC §4): when a customer may be contacted, and how often.

Two pure rules every channel applies before an outreach:

- `ContactWindow`: the intersection of the campaign's hours and weekdays, the legal window of the
  customer's state, and "never on Sundays or national holidays", all in the customer's local zone.
- `FrequencyCap`: at most N contacts per local calendar day and M per rolling 7 days, per document.

Nothing here reads the clock or the environment: callers pass the instant, the UF and the zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from shared.core.clock import require_aware
from shared.domain.errors import InvalidInput
from shared.domain.holidays import is_national_holiday
from shared.domain.phones import InvalidPhone, parse_phone, timezone_for_phone

SUNDAY: Final = 7
_ISO_WEEKDAYS: Final = frozenset(range(1, 8))
_WEEKDAY_NAMES: Final = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
# How far `next_opening` looks ahead: a whole year plus the longest run of holidays is plenty, and
# a window that does not open within it never will (the rules repeat weekly, holidays only remove).
_SEARCH_DAYS: Final = 370
_WEEK: Final = timedelta(days=7)


class InvalidTime(InvalidInput):
    """A time of day that is not a valid 24-hour "HH:MM"."""

    code = "invalid_time"


class InvalidWindow(InvalidInput):
    """Contact hours or weekdays that make no sense (start not before end, weekday outside 1..7)."""

    code = "invalid_window"


class WindowNeverOpens(InvalidInput):
    """The campaign's hours and weekdays never meet the legal window of the customer's state."""

    code = "window_never_opens"


class InvalidCap(InvalidInput):
    """A frequency cap below 1: the policy is configurable but never unlimited nor zero."""

    code = "invalid_cap"


_HHMM = re.compile(r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)")


def parse_hhmm(value: str) -> time:
    """Parse a 24-hour "HH:MM" (or "H:MM") time of day: `"08:00"` -> `time(8, 0)`.

    Raises `InvalidTime` (code `invalid_time`) for anything else ("8h", "25:00", "08:60", "").
    """
    match = _HHMM.fullmatch(value.strip())
    if match is None:
        raise InvalidTime(f"invalid time of day {value!r}: expected 24-hour HH:MM, e.g. '08:00'")
    return time(int(match["hour"]), int(match["minute"]))


def _weekdays_text(weekdays: Iterable[int]) -> str:
    return ",".join(_WEEKDAY_NAMES[day] for day in sorted(weekdays)) or "none"


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


# --------------------------------------------------------------------------------------------------
# The legal window per state
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalWindow:
    """The hours a state's law allows collection contacts, per ISO weekday (1 = Monday).

    A weekday absent from `hours` allows no contact at all. End times are exclusive.
    """

    hours: Mapping[int, tuple[time, time]]

    def __post_init__(self) -> None:
        for weekday, (start, end) in self.hours.items():
            if weekday not in _ISO_WEEKDAYS:
                raise InvalidWindow(f"legal window weekday {weekday} is not an ISO weekday (1..7)")
            if start >= end:
                raise InvalidWindow(
                    f"legal window for {_WEEKDAY_NAMES[weekday]} starts at {start:%H:%M}, "
                    f"not before its end {end:%H:%M}"
                )
        # Frozen all the way down: the state table is shared by every caller.
        object.__setattr__(self, "hours", MappingProxyType(dict(self.hours)))


def _weekdays_window(start: str, end: str, saturday: tuple[str, str] | None = None) -> LegalWindow:
    """Monday to Friday `start`-`end`, plus Saturday hours when the state allows them."""
    hours = {weekday: (parse_hhmm(start), parse_hhmm(end)) for weekday in range(1, 6)}
    if saturday is not None:
        hours[6] = (parse_hhmm(saturday[0]), parse_hhmm(saturday[1]))
    return LegalWindow(hours)


DEFAULT_LEGAL_WINDOW: Final = _weekdays_window("08:00", "20:00")

# State laws restricting collection calls, by UF. States not listed follow DEFAULT_LEGAL_WINDOW.
# This table is the only place these hours are written: change them here and every channel follows.
LEGAL_WINDOWS: Final[Mapping[str, LegalWindow]] = MappingProxyType(
    {
        "SP": _weekdays_window("08:00", "20:00", saturday=("08:00", "14:00")),
        "RJ": _weekdays_window("09:00", "19:00"),
        "ES": _weekdays_window("08:00", "19:00"),
        "AM": _weekdays_window("08:00", "18:00", saturday=("08:00", "14:00")),
    }
)


def legal_window_for(state: str | None) -> LegalWindow:
    """The legal window of `state` (a UF such as "SP", any case); the default when unknown or None."""
    if state is None:
        return DEFAULT_LEGAL_WINDOW
    return LEGAL_WINDOWS.get(state.strip().upper(), DEFAULT_LEGAL_WINDOW)


# --------------------------------------------------------------------------------------------------
# The contact window
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactWindow:
    """When one customer of one campaign may be contacted (SPEC §4, "Contact window").

    Open periods are the intersection of the campaign's `campaign_start`–`campaign_end` on its
    `weekdays`, the legal window of `state`, and never Sundays or national holidays — all read on
    the wall clock of `tz`, the customer's zone. End times are exclusive.
    """

    campaign_start: time
    campaign_end: time
    weekdays: frozenset[int]
    state: str | None
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.campaign_start >= self.campaign_end:
            raise InvalidWindow(
                f"campaign hours start at {self.campaign_start:%H:%M}, "
                f"not before their end {self.campaign_end:%H:%M}"
            )
        unknown = set(self.weekdays) - _ISO_WEEKDAYS
        if unknown:
            raise InvalidWindow(f"campaign weekdays {sorted(unknown)} are not ISO weekdays (1..7)")
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))

    @property
    def legal(self) -> LegalWindow:
        """The legal window of the customer's state."""
        return legal_window_for(self.state)

    @classmethod
    def from_schedule(
        cls,
        schedule_start: str,
        schedule_end: str,
        weekdays: Iterable[int],
        state: str | None,
        tz: ZoneInfo,
    ) -> ContactWindow:
        """Build from a campaign's stored schedule ("HH:MM" strings and ISO weekdays)."""
        return cls(parse_hhmm(schedule_start), parse_hhmm(schedule_end), frozenset(weekdays), state, tz)

    @classmethod
    def for_phone(
        cls,
        schedule_start: str,
        schedule_end: str,
        weekdays: Iterable[int],
        phone: str | None,
        default_tz: ZoneInfo | None = None,
    ) -> ContactWindow:
        """Build for the customer behind `phone`: state from its DDD, zone from `timezone_for_phone`.

        An unusable number gets the default legal window and `default_tz` (else `COBRANCA_TIMEZONE`).
        """
        state: str | None = None
        if phone:
            try:
                state = parse_phone(phone).state
            except InvalidPhone:
                state = None  # no known state: the "elsewhere" legal window applies
        return cls.from_schedule(
            schedule_start, schedule_end, weekdays, state, timezone_for_phone(phone, default_tz)
        )

    def hours_on(self, day: date) -> tuple[time, time] | None:
        """The open period of local calendar `day` as (start, end-exclusive), or None if closed all day."""
        weekday = day.isoweekday()
        if weekday == SUNDAY or weekday not in self.weekdays or is_national_holiday(day):
            return None
        legal = self.legal.hours.get(weekday)
        if legal is None:
            return None
        start = max(self.campaign_start, legal[0])
        end = min(self.campaign_end, legal[1])
        return (start, end) if start < end else None

    def is_open(self, at: datetime) -> bool:
        """Whether contact is allowed at instant `at` (aware, any zone; read in the customer's zone)."""
        require_aware(at, "at")
        local = at.astimezone(self.tz)
        hours = self.hours_on(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, after: datetime) -> datetime:
        """`after` itself (in the customer's zone) if open, else the first instant the window opens.

        Raises `WindowNeverOpens` when no opening exists within the next ~year, i.e. the campaign's
        hours and weekdays never intersect the customer's legal window.
        """
        require_aware(after, "after")
        local = after.astimezone(self.tz)
        if self.is_open(local):
            return local
        for offset in range(_SEARCH_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            hours = self.hours_on(day)
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], tzinfo=self.tz)
            if opening > local:
                return opening
        raise WindowNeverOpens(
            f"contact window never opens: campaign {self.campaign_start:%H:%M}-{self.campaign_end:%H:%M} "
            f"on {_weekdays_text(self.weekdays)} does not meet the legal window of "
            f"{self.state or 'the default state'} ({self._legal_text()}) within {_SEARCH_DAYS} days "
            f"after {local.isoformat()}"
        )

    def closes_at(self, at: datetime) -> datetime | None:
        """When the open period containing `at` ends (aware, in the customer's zone); None if closed."""
        if not self.is_open(at):
            return None
        local = at.astimezone(self.tz)
        hours = self.hours_on(local.date())
        assert hours is not None  # is_open just said so
        return datetime.combine(local.date(), hours[1], tzinfo=self.tz)

    def _legal_text(self) -> str:
        return "; ".join(
            f"{_WEEKDAY_NAMES[day]} {start:%H:%M}-{end:%H:%M}"
            for day, (start, end) in sorted(self.legal.hours.items())
        )


# --------------------------------------------------------------------------------------------------
# The frequency cap
# --------------------------------------------------------------------------------------------------


class CapDecision(NamedTuple):
    """The answer of `FrequencyCap.check`: allowed, or why not and when to try again."""

    allowed: bool
    reason: str | None  # "daily_cap" | "weekly_cap" | None
    retry_at: datetime | None  # earliest instant the cap allows the next contact


@dataclass(frozen=True)
class FrequencyCap:
    """At most `max_per_day` contacts per customer document per local calendar day and
    `max_per_week` per rolling 7 × 24 h, across campaigns and channels. Both are at least 1."""

    max_per_day: int = 1
    max_per_week: int = 3

    def __post_init__(self) -> None:
        for name in ("max_per_day", "max_per_week"):
            value = getattr(self, name)
            # bool is an int subclass; True as "1 contact" would only ever be a bug.
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidCap(f"{name} must be an integer >= 1 (caps are never unlimited), got {value!r}")

    def check(self, previous: Sequence[datetime], at: datetime, tz: ZoneInfo) -> CapDecision:
        """Whether one more contact at `at` respects the caps, given the `previous` contact instants.

        "Per day" is the customer's local calendar day in `tz`; "per week" is the 7 × 24 h ending at
        `at`. Previous instants later than `at` (clock skew, races) still count: the cap fails closed.
        When refused, `retry_at` is the earliest instant at which *both* caps allow the next contact.
        """
        require_aware(at, "at")
        for index, instant in enumerate(previous):
            require_aware(instant, f"previous[{index}]")
        blocked = self._blocked(previous, at, tz)
        if blocked is None:
            return CapDecision(allowed=True, reason=None, retry_at=None)
        reason, retry_at = blocked
        # Clearing one cap can land in a moment the other still refuses (e.g. the weekly cap frees
        # up on a day that already had a contact): step forward until neither objects. Each step
        # moves strictly later and past at least one contact or midnight, so this terminates.
        while (still := self._blocked(previous, retry_at, tz)) is not None:
            retry_at = still[1]
        return CapDecision(allowed=False, reason=reason, retry_at=retry_at.astimezone(tz))

    def _blocked(
        self, previous: Sequence[datetime], at: datetime, tz: ZoneInfo
    ) -> tuple[str, datetime] | None:
        today = at.astimezone(tz).date()
        same_day = sum(1 for instant in previous if instant.astimezone(tz).date() == today)
        if same_day >= self.max_per_day:
            return "daily_cap", _local_midnight(today + timedelta(days=1), tz)
        in_week = sorted(instant for instant in previous if instant > at - _WEEK)
        if len(in_week) >= self.max_per_week:
            # The window holds contacts in (t - 7d, t]; one leaves at exactly its instant + 7d. Once
            # the (len - max + 1) oldest have left, one more contact fits.
            return "weekly_cap", in_week[len(in_week) - self.max_per_week] + _WEEK
        return None

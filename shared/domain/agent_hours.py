"""When a person at the desk answers (HUMAN_AGENT_HOURS, the phone and WhatsApp alike): "08:00-18:00" on
weekdays that are not national holidays, read in the customer's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.core.clock import require_aware
from shared.domain.contact_policy import InvalidTime, parse_hhmm
from shared.domain.holidays import is_national_holiday

_SATURDAY = 5
_SEARCH_DAYS = 14  # a week and the longest run of holidays next to a weekend, with room to spare


@dataclass(frozen=True)
class AgentHours:
    opens: time
    closes: time

    def is_open(self, at: datetime, tz: ZoneInfo) -> bool:
        """Whether an agent answers at `at` (aware), in zone `tz`: a weekday, not a national holiday,
        `opens` <= time of day < `closes`."""
        require_aware(at, "at")
        local = at.astimezone(tz)
        if local.weekday() >= _SATURDAY or is_national_holiday(local.date()):
            return False
        return self.opens <= local.time() < self.closes

    def next_opening(self, at: datetime, tz: ZoneInfo) -> datetime:
        """When an agent next answers after `at` (aware), in zone `tz`: `at` itself while the desk is
        open, else the next weekday (not a national holiday) at `opens`, an aware time in `tz`."""
        if self.is_open(at, tz):
            return at
        local = at.astimezone(tz)
        day = local.date() if local.time() < self.opens else local.date() + timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            if day.weekday() < _SATURDAY and not is_national_holiday(day):
                return datetime.combine(day, self.opens, tzinfo=tz)
            day += timedelta(days=1)
        raise AssertionError("no business day in two weeks")  # the holiday table never allows it


def parse_agent_hours(value: str) -> AgentHours:
    """`"08:00-18:00"` -> `AgentHours(08:00, 18:00)`; `InvalidTime` for anything else, or a window that
    closes before it opens."""
    start, dash, end = value.partition("-")
    if not dash:
        raise InvalidTime(f"invalid agent hours {value!r}: expected HH:MM-HH:MM, e.g. '08:00-18:00'")
    hours = AgentHours(parse_hhmm(start), parse_hhmm(end))
    if hours.closes <= hours.opens:
        raise InvalidTime(f"invalid agent hours {value!r}: the desk must close after it opens")
    return hours

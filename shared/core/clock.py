"""The one source of "now".

Production reads the system clock; tests and the local sandbox install a `VirtualClock` they can set
and advance, so a whole campaign month can play in seconds. Always timezone-aware UTC: business rules
convert to the customer's zone themselves (see `shared.domain.phones.timezone_for_phone`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A settable clock. Time stands still unless `advance`d or `set`; thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _aware_utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = _aware_utc(at)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += delta
            return self._now


def require_aware(at: datetime, name: str) -> None:
    """Raise `ValueError` for a naive instant: a programming error, not customer input — fail loudly
    rather than guess a zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetimes are not accepted: pass a timezone-aware instant")
    return at.astimezone(UTC)


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Install `clock` process-wide and return the previous one (tests restore it)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> datetime:
    """Shorthand for `get_clock().now()`."""
    return _clock.now()

"""The sandbox's virtual clock: `shared.core.clock`'s "now" for every handler of the process.

`SandboxClock` starts where `--clock` says. It either flows at real speed (`cobranca local`: chatting
as a customer feels natural) or stands still (`cobranca demo`, tests: nothing happens between steps),
and jumps forward on `advance`/`set` (`POST /api/dev/clock`). It remembers how far it has jumped
(`skipped`): the local SQS endpoint adds that to its own time, so delays and visibility timeouts count
virtual jumps too (see `infra.local.aws`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """A thread-safe clock: `now() = start + real time elapsed (when flowing) + jumps`."""

    def __init__(self, start: datetime, *, flowing: bool = False) -> None:
        if start.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware start (e.g. 2025-03-10T09:00-03:00)")
        self._lock = threading.Lock()
        self._anchor = start.astimezone(UTC)
        self._anchor_real = time.monotonic()
        self._flowing = flowing
        self._skipped = timedelta(0)
        self._listeners: list[Callable[[datetime], None]] = []

    @property
    def flowing(self) -> bool:
        return self._flowing

    @property
    def skipped(self) -> timedelta:
        """The total of every forward jump since the start."""
        with self._lock:
            return self._skipped

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta` (never backwards)."""
        if delta < timedelta(0):
            raise ValueError("the clock cannot go backwards")
        with self._lock:
            self._anchor = self._now_locked() + delta
            self._anchor_real = time.monotonic()
            self._skipped += delta
            now = self._anchor
        self._notify(now)
        return now

    def set(self, at: datetime) -> datetime:
        """Jump to `at` (timezone-aware, not in the past)."""
        if at.tzinfo is None:
            raise ValueError("naive datetimes are not accepted: give a timezone offset")
        return self.advance(at.astimezone(UTC) - self.now())

    def on_jump(self, listener: Callable[[datetime], None]) -> None:
        """Call `listener(now)` after every jump (the runtime wakes its pollers and timers)."""
        with self._lock:
            self._listeners.append(listener)

    def _now_locked(self) -> datetime:
        if not self._flowing:
            return self._anchor
        return self._anchor + timedelta(seconds=time.monotonic() - self._anchor_real)

    def _notify(self, now: datetime) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(now)

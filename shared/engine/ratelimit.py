"""A distributed send-rate limiter: at most `rate` sends per second on a channel, across every worker.

Each channel has one pacing pointer (`shared.data.ratelimit`): the earliest instant the next send may
start. A worker books the next free slot with one conditional write, then sleeps until it:

- idle (pointer <= now): set the pointer to now + spacing; the slot is now;
- busy (now < pointer <= now + max_wait): atomically add one spacing; the slot is the old pointer;
- pointer beyond now + max_wait: `RateLimited`, without booking anything, so a backlog cannot push the
  pointer away forever. It is a `ServiceUnavailable`: the SQS message is retried later.

Slots are `1/rate × (1 + margin)` seconds apart, so `rate` consecutive slots span `1 + margin`
seconds. A send starts at its slot, or at most `margin / 2` seconds after it: a worker that wakes
later than that (descheduled, a long GC pause) gives its slot up and books another rather than crowd
the next ones. Any one-second window — sliding, not only calendar seconds — thus holds at most `rate`
request starts, with `margin / 2` seconds to spare for the network's own jitter. One or two writes
per send, no read in the common case.

This meters physical throughput to an outside service, so it runs on the wall clock (`time.time`),
which every machine shares — not `shared.core.clock`, whose virtual time stands still in tests and in the
sandbox while the messages really leave.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from shared.core.config import get_settings
from shared.data import ratelimit as pointers
from shared.domain.errors import ServiceUnavailable
from shared.domain.models import Channel

# Seconds a worker waits for its slot at most. A sender's Lambda has 30 s: CRM (8 s timeout) + this
# wait + the provider (10 s) must fit, and the scheduler's pacing keeps real waits well under a second.
DEFAULT_MAX_WAIT: Final = 10.0
DEFAULT_MARGIN: Final = 0.1
_BOOKING_ATTEMPTS: Final = 8


class RateLimited(ServiceUnavailable):
    """The channel is booked beyond the longest wait a worker accepts: retry the work later."""

    code = "rate_limited"


@dataclass(frozen=True)
class RateLimiter:
    """`rate` starts per second for everything that shares `name` (any process, any machine)."""

    name: str
    rate: float
    max_wait: float = DEFAULT_MAX_WAIT
    margin: float = DEFAULT_MARGIN
    wall_time: Callable[[], float] = field(default=time.time, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be above 0, got {self.rate}")
        if self.max_wait < 0 or self.margin < 0:
            raise ValueError("max_wait and margin must not be negative")

    @property
    def spacing_ms(self) -> int:
        """Milliseconds between two consecutive slots."""
        return max(1, math.ceil(1000 * (1 + self.margin) / self.rate))

    def acquire(self) -> float:
        """Book the next free slot and wait for it; returns the seconds waited.

        Raises `RateLimited` when the next free slot is more than `max_wait` seconds away.
        """
        waited = 0.0
        for _ in range(_BOOKING_ATTEMPTS):
            now_ms = int(self.wall_time() * 1000)
            slot_ms = self._book(now_ms)
            if slot_ms is None:
                continue  # the pointer fell behind now between our two writes: book again
            wait = slot_ms / 1000 - self.wall_time()
            if wait > 0:
                self.sleep(wait)
                waited += wait
            if self.wall_time() - slot_ms / 1000 <= self.tolerance:
                return waited
            # Woken too late (the worker was descheduled): starting now could crowd the next slots'
            # window, so this slot is given up and another booked.
        raise RateLimited(f"could not book a {self.name} slot after {_BOOKING_ATTEMPTS} attempts")

    @property
    def tolerance(self) -> float:
        """How late after its slot a send may still start: half the margin, in seconds."""
        return self.margin / 2

    def _book(self, now_ms: int) -> int | None:
        spacing = self.spacing_ms
        if pointers.set_if_at_most(self.name, now_ms + spacing, now_ms):
            return now_ms
        latest = now_ms + int(self.max_wait * 1000)
        slot = pointers.add_if_between(self.name, spacing, now_ms, latest)
        if slot is not None:
            return slot
        current = pointers.read(self.name)
        if current is not None and current > latest:
            raise RateLimited(
                f"{self.name} is booked {(current - now_ms) / 1000:.1f} s ahead "
                f"(more than the {self.max_wait:.0f} s a worker waits)"
            )
        return None


def limiter_for(channel: Channel) -> RateLimiter:
    """The send limiter of a channel at its configured capacity (WHATSAPP_MESSAGES_PER_SECOND,
    VOICE_CALLS_PER_SECOND)."""
    return RateLimiter(f"send:{Channel(channel).value}", channel_capacity(channel))


def channel_capacity(channel: Channel) -> float:
    """Sends per second the channel's provider accepts (settings; default 1)."""
    settings = get_settings()
    if Channel(channel) is Channel.WHATSAPP:
        return settings.whatsapp_messages_per_second
    return settings.voice_calls_per_second


def acquire(channel: Channel) -> float:
    """Wait for the channel's next free send slot (see `RateLimiter.acquire`)."""
    return limiter_for(channel).acquire()

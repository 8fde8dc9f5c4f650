"""The distributed send limiter on its DynamoDB pacing pointer (moto). Workers are separate limiter
objects sharing one name, as separate Lambdas would; time is a fake wall clock so slots are exact."""

from __future__ import annotations

import time

import pytest

from shared.data import counters
from shared.data import ratelimit as pointers
from shared.domain.models import Channel
from shared.engine.ratelimit import RateLimited, RateLimiter, limiter_for

T0 = 1_741_608_000.0  # any wall-clock instant


class FakeWall:
    def __init__(self, at: float = T0) -> None:
        self.now = at
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))


def _worker(wall: FakeWall, rate: float = 5, **kwargs: float) -> RateLimiter:
    return RateLimiter("send:test", rate, wall_time=wall.time, sleep=wall.sleep, **kwargs)


def _max_in_any_second(starts: list[float]) -> int:
    starts = sorted(starts)
    return max(sum(1 for s in starts if first <= s < first + 1.0) for first in starts)


def test_workers_arriving_together_get_consecutive_slots_spaced_below_the_rate(tables):
    wall = FakeWall()
    workers = [_worker(wall) for _ in range(3)]

    waits = [workers[i % 3].acquire() for i in range(12)]

    spacing = 1.1 / 5
    assert waits == pytest.approx([i * spacing for i in range(12)], abs=0.002)
    assert _max_in_any_second([T0 + w for w in waits]) == 5


def test_an_idle_channel_sends_at_once(tables):
    wall = FakeWall()
    worker = _worker(wall)
    worker.acquire()
    worker.acquire()

    wall.now += 10  # long after the last booked slot

    assert worker.acquire() == 0
    assert pointers.read("send:test") == int((wall.now + 0.22) * 1000)


def test_a_channel_booked_beyond_the_longest_wait_refuses_without_booking(tables):
    wall = FakeWall()
    worker = _worker(wall, rate=1, max_wait=3)
    for _ in range(3):  # slots at +0, +1.1, +2.2 s; the next would be +3.3 s
        worker.acquire()
    booked = pointers.read("send:test")

    with pytest.raises(RateLimited) as refused:
        worker.acquire()

    assert refused.value.code == "rate_limited"
    assert pointers.read("send:test") == booked  # a refused worker does not push the others back
    wall.now += 5
    assert worker.acquire() == 0


class OversleepingWall(FakeWall):
    """A worker descheduled for half a second during its first wait."""

    def __init__(self) -> None:
        super().__init__()
        self.oversleep = [0.5]

    def sleep(self, seconds: float) -> None:
        self.now += seconds + (self.oversleep.pop() if self.oversleep else 0.0)


def test_a_worker_that_wakes_too_late_gives_its_slot_up_and_books_another(tables):
    wall = OversleepingWall()
    first, second = _worker(wall), _worker(wall)
    first.acquire()  # slot T0

    second.acquire()  # slot T0 + 0.22, but awake only at T0 + 0.72: too late to start

    assert wall.now == pytest.approx(T0 + 0.72)
    # It rebooked from where it woke: its send starts now and the next slot is one spacing later.
    assert pointers.read("send:test") == int((T0 + 0.72 + 0.22) * 1000)


def test_the_limiter_really_waits_on_the_wall_clock(tables):
    limiter = RateLimiter("send:wall", 50)  # 22 ms apart

    started = time.monotonic()
    for _ in range(6):
        limiter.acquire()
    elapsed = time.monotonic() - started

    assert elapsed >= 5 * 0.022 - 0.005


def test_each_channel_is_limited_at_its_configured_capacity(tables, monkeypatch: pytest.MonkeyPatch):
    from shared.core.config import reset_settings

    monkeypatch.setenv("WHATSAPP_MESSAGES_PER_SECOND", "8")
    monkeypatch.setenv("VOICE_CALLS_PER_SECOND", "2")
    reset_settings()

    assert (limiter_for(Channel.WHATSAPP).name, limiter_for(Channel.WHATSAPP).rate) == ("send:whatsapp", 8)
    assert (limiter_for(Channel.VOICE).name, limiter_for(Channel.VOICE).rate) == ("send:voice", 2)


def test_pacing_pointers_stay_out_of_the_statistics(tables):
    worker = _worker(FakeWall())
    worker.acquire()
    counters.increment(counters.GLOBAL, "contacts:whatsapp")

    assert counters.read(counters.GLOBAL) == {"contacts:whatsapp": 1}
    assert counters.read("pace#send:test") == {}

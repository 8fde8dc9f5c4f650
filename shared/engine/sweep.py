"""The scheduler's sweep: due `pending` targets → `scheduled` on their channel → that channel's queue,
paced to the channel's capacity.

One sweep per message on the scheduler queue — the cron's tick every `TICK_SECONDS` (every active
campaign) or a campaign's activation (that campaign only):

- due targets come from the due part of the campaign's agenda (`targets.due_for_campaign`, never a
  scan), oldest due first;
- the guards the sweep can answer without reading anything decide first (`guards.decide_sweep`): a
  customer whose contact window is closed right now is `reschedule`d to the window's next opening and
  left there (not taken), a phone no allowed channel reaches is completed (opt-outs are the send's
  guard's: recording one already ended the cases it covers);
- otherwise `pending → scheduled` with a conditional write (a lost race is skipped, not an error) on
  the target's current channel, or the campaign's first one, in flight on the agenda until the
  attempt's deadline (`in_flight_until`); the job carries `attempt = attempt_count + 1`.

While the WhatsApp channel is blocked (`shared.engine.whatsapp_channel`), a target due on WhatsApp goes
to the campaign's next allowed channel (a call), or stays `pending` when there is none (a campaign on
WhatsApp alone is not read at all: the channel has no budget); each sweep
first probes a blocked channel, so it resumes even if Evolution's `open` webhook was lost.

Before the sweep, the tick runs `shared.engine.upkeep` (unanswered messages, lost jobs, lost call statuses).

Pacing: each channel keeps a dispatch horizon (a pacing pointer, see `shared.data.ratelimit`): the
instant by which the work already queued will have been sent at the channel's capacity
(WHATSAPP_MESSAGES_PER_SECOND, VOICE_CALLS_PER_SECOND). A sweep fills a channel up to
`now + TICK_SECONDS` and no further — at most capacity × tick seconds per tick, whatever the number of
campaigns or overlapping sweeps — and delays each job (SQS DelaySeconds) to its own 1/capacity slot,
so a queue never holds more than one tick of work. The send-side `shared.engine.ratelimit` still enforces the
rate exactly; this only keeps queues short. Campaigns share a channel fairly: a first pass gives each
campaign an equal share, a second pass the rest to whoever still has due targets.

The horizon is kept in `shared.core.clock` time, like `nextAttemptAt`: the sandbox's virtual clock
compresses the days between ticks, while SQS delays are real seconds.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.queues import MAX_DELAY_SECONDS
from shared.core import clock
from shared.core.config import get_settings
from shared.core.jobs import SchedulerTick
from shared.core.observability import logger, metrics
from shared.data import TransitionConflict, counters
from shared.data import campaigns as campaigns_data
from shared.data import ratelimit as pointers
from shared.data import targets as targets_data
from shared.domain.channels import can_reach
from shared.domain.errors import NotFound
from shared.domain.models import Campaign, CampaignStatus, Channel, Target, TargetState
from shared.domain.pages import MAX_PAGE_SIZE
from shared.engine import guards, ratelimit, routing, short_calls, whatsapp_channel

# Well past the longest a job can legitimately wait or retry: SQS's 15-minute delay plus five
# receives of a 3-minute visibility timeout, or a call of at most 10 minutes with its callbacks.
LOST_AFTER: Final = timedelta(hours=2)
TICK_SECONDS: Final = 300  # the EventBridge cron fires every 5 minutes in business hours
PAGE_SIZE: Final = 100
MAX_PAGES_PER_CAMPAIGN: Final = 50
_EPSILON: Final = 1e-9  # float slack when turning capacity × seconds into whole jobs


class Dispatch(NamedTuple):
    target_id: str
    channel: Channel
    attempt: int
    delay_seconds: int


@dataclass
class SweepReport:
    """What one sweep did (logged, and returned by the handler)."""

    campaigns: int = 0
    dispatched: list[Dispatch] = field(default_factory=list)
    rescheduled: dict[str, datetime] = field(default_factory=dict)  # target id -> next opening
    completed: dict[str, str] = field(default_factory=dict)  # target id -> why (opted out, unreachable)
    lost_races: int = 0
    out_of_time: bool = False

    def per_channel(self) -> dict[str, int]:
        return dict(Counter(d.channel.value for d in self.dispatched))


@counters.batched()
def sweep(
    tick: SchedulerTick, *, tick_seconds: int = TICK_SECONDS, time_budget: float | None = None
) -> SweepReport:
    """Take the due targets of the tick's campaign (or of every active campaign) onto the channel
    queues, paced. `time_budget` (seconds) stops the sweep early — what is left stays due for the
    next tick — so a big backlog never outlives the Lambda's timeout."""
    now = clock.now()
    deadline = None if time_budget is None else time.monotonic() + time_budget
    report = SweepReport()
    running = list(running_campaigns(tick.campaign_id))
    report.campaigns = len(running)
    if not running:
        metrics.add_metric(name="TargetsScheduled", unit=MetricUnit.Count, value=0)
        return report
    whatsapp_paused = not whatsapp_channel.probe()
    pacers = {channel: _Pacer.load(channel, now, tick_seconds) for channel in Channel}
    if whatsapp_paused:  # no WhatsApp slot: a campaign with no other channel is not even read
        pacers[Channel.WHATSAPP].budget = 0
    # First pass: an equal share of each channel per campaign; second: the rest, first come first served.
    shares = {c: math.ceil(p.budget / len(running)) for c, p in pacers.items()}
    passes = [shares] if len(running) > 1 else []
    passes.append({c: p.budget for c, p in pacers.items()})
    try:
        for quota in passes:
            for campaign in running:
                if not _sweep_campaign(campaign, now, pacers, quota, report, deadline, whatsapp_paused):
                    report.out_of_time = True
                    return report
    finally:
        for pacer in pacers.values():
            pacer.save()
        metrics.add_metric(name="TargetsScheduled", unit=MetricUnit.Count, value=len(report.dispatched))
        logger.info(
            "scheduler sweep",
            reason=tick.reason,
            campaign_id=tick.campaign_id,
            campaigns=report.campaigns,
            dispatched=report.per_channel(),
            rescheduled=len(report.rescheduled),
            completed=len(report.completed),
            lost_races=report.lost_races,
            out_of_time=report.out_of_time,
        )
    return report


def schedule(
    target: Target,
    from_states: Collection[TargetState],
    channel: Channel,
    *,
    delay_seconds: int = 0,
    **changes: Any,
) -> Target:
    """Move the target from `from_states` to `scheduled` on `channel` (conditional: `TransitionConflict`
    when it is elsewhere), in flight until `in_flight_until`, and put its job on the channel's queue
    with `attempt = attempt_count + 1`.

    If the enqueue fails, the target goes back to `pending`, due now, so the next sweep takes it again
    (a `scheduled` target without a job would wait forever); the error propagates.
    """
    until = in_flight_until(channel, clock.now(), delay_seconds)
    scheduled = targets_data.transition(
        target.id, from_states, TargetState.SCHEDULED, channel=channel, until=until, **changes
    )
    try:
        routing.dispatch(scheduled, channel, scheduled.attempt_count + 1, delay_seconds=delay_seconds)
    except Exception:
        try:
            targets_data.transition(target.id, [TargetState.SCHEDULED], TargetState.PENDING)
        except TransitionConflict:
            pass  # a job for it is being handled after all
        raise
    return scheduled


def in_flight_until(channel: Channel, now: datetime, delay_seconds: int) -> datetime:
    """The deadline of an attempt scheduled `now` on `channel` with its job `delay_seconds` away: by
    then a job still `scheduled` was lost (`LOST_AFTER`), a call still `calling` lost its status, and a
    WhatsApp message is looked at by upkeep: the first of its delivery's deadline and its reply's
    (`WHATSAPP_DELIVERY_HOURS`, `WHATSAPP_REPLY_HOURS`), which a receipt never moves. One deadline for
    the whole attempt: the claim and the send's record leave it as it is."""
    settles = LOST_AFTER
    if channel is Channel.WHATSAPP:
        settings = get_settings()
        first = min(settings.whatsapp_delivery_hours, settings.whatsapp_reply_hours)
        settles = max(settles, timedelta(hours=first))
    return now + timedelta(seconds=delay_seconds) + settles


def channel_for(target: Target, campaign: Campaign) -> Channel | None:
    """The channel a pending target is contacted on: its current one while the campaign still uses
    it, else the campaign's first — skipping WhatsApp for a landline. None: no channel can reach it."""
    if target.channel is not None and target.channel in campaign.fallback_order:
        channel = target.channel
    else:
        channel = routing.first_channel(campaign)
    if not can_reach(channel, target.phone):
        return routing.next_allowed_channel(campaign, channel, target.phone)
    return channel


def _while_paused(channel: Channel, target: Target, campaign: Campaign) -> Channel | None:
    """With WhatsApp blocked: the channel to use instead of WhatsApp, None to leave the target pending."""
    if channel is not Channel.WHATSAPP:
        return channel
    return routing.next_allowed_channel(campaign, Channel.WHATSAPP, target.phone)


# --- internals ---------------------------------------------------------------------------------------


@dataclass
class _Pacer:
    """One channel's share of this tick: `budget` jobs, the first starting at `start`."""

    channel: Channel
    capacity: float
    now: datetime
    start: datetime
    budget: int
    taken: int = 0

    @classmethod
    def load(cls, channel: Channel, now: datetime, tick_seconds: int) -> _Pacer:
        capacity = ratelimit.channel_capacity(channel)
        if channel is Channel.VOICE:
            capacity *= short_calls.voice_capacity_factor(now)  # too many short calls today: slower
        stored = pointers.read(_horizon_name(channel))
        start = max(now, _from_ms(stored)) if stored is not None else now
        room = (now + timedelta(seconds=tick_seconds) - start).total_seconds()
        budget = max(0, math.floor(room * capacity + _EPSILON))
        return cls(channel, capacity, now, start, budget)

    @property
    def remaining(self) -> int:
        return self.budget - self.taken

    def next_delay(self) -> int:
        """The DelaySeconds of the next job: its slot, counted from now."""
        offset = (self.start - self.now).total_seconds() + self.taken / self.capacity
        self.taken += 1
        return min(MAX_DELAY_SECONDS, math.floor(offset + _EPSILON))

    def save(self) -> None:
        if self.taken:
            horizon = self.start + timedelta(seconds=self.taken / self.capacity)
            pointers.move_forward(_horizon_name(self.channel), _to_ms(horizon))


def _sweep_campaign(
    campaign: Campaign,
    now: datetime,
    pacers: dict[Channel, _Pacer],
    quota: dict[Channel, int],
    report: SweepReport,
    deadline: float | None,
    whatsapp_paused: bool,
) -> bool:
    """Take (or reschedule) the campaign's due targets within `quota`; False when out of time."""
    used: Counter[Channel] = Counter()

    def room(channel: Channel) -> bool:
        return used[channel] < quota[channel] and pacers[channel].remaining > 0

    seen: set[str] = set()
    blocked = 0  # due targets left for the next tick: they stay at the head of the due query
    for _ in range(MAX_PAGES_PER_CAMPAIGN):
        if not any(room(channel) for channel in campaign.fallback_order):
            return True
        limit = min(MAX_PAGE_SIZE, PAGE_SIZE + blocked)
        page = targets_data.due_for_campaign(campaign.id, now, limit=limit)
        fresh = [target for target in page if target.id not in seen]
        if not fresh:
            return True
        for target in fresh:
            if deadline is not None and time.monotonic() > deadline:
                return False
            seen.add(target.id)
            channel = channel_for(target, campaign)
            if whatsapp_paused and channel is not None:
                channel = _while_paused(channel, target, campaign)
                if channel is None:  # WhatsApp only: it waits, pending, for the channel to work again
                    blocked += 1
                    continue
            verdict = guards.decide_sweep(
                now=now,
                window=guards.contact_window(campaign, target.phone),
                channel=channel,
            )
            if isinstance(verdict, guards.Defer):
                _reschedule(target, verdict.at, report)
            elif isinstance(verdict, guards.Finish):
                _finish(target, verdict, report)
            elif not room(verdict.channel):
                blocked += 1
            elif _take(target, verdict.channel, pacers[verdict.channel], report):
                used[verdict.channel] += 1
        if len(page) < limit:
            return True
    return True


def _take(target: Target, channel: Channel, pacer: _Pacer, report: SweepReport) -> bool:
    changes: dict[str, Any] = {} if target.channel is channel else {"channel_attempts": 0}
    delay = pacer.next_delay()
    try:
        scheduled = schedule(target, [TargetState.PENDING], channel, delay_seconds=delay, **changes)
    except TransitionConflict:
        pacer.taken -= 1  # the slot was never used
        report.lost_races += 1
        return False
    report.dispatched.append(Dispatch(target.id, channel, scheduled.attempt_count + 1, delay))
    return True


def _finish(target: Target, verdict: guards.Finish, report: SweepReport) -> None:
    try:
        guards.apply(target, verdict, [TargetState.PENDING])
    except TransitionConflict:
        report.lost_races += 1
        return
    report.completed[target.id] = verdict.reason.value


def _reschedule(target: Target, at: datetime, report: SweepReport) -> None:
    try:
        targets_data.reschedule(target.id, at)
    except TransitionConflict:
        report.lost_races += 1
        return
    report.rescheduled[target.id] = at


def running_campaigns(campaign_id: str | None) -> Iterator[Campaign]:
    """The tick's campaign if it is active, or every active campaign."""
    if campaign_id is not None:
        try:
            campaign = campaigns_data.get(campaign_id)
        except NotFound:
            logger.warning("tick for an unknown campaign ignored", campaign_id=campaign_id)
            return
        if campaign.status is CampaignStatus.ACTIVE:
            yield campaign
        else:
            logger.info("campaign not active: nothing to schedule", campaign_id=campaign_id)
        return
    cursor: str | None = None
    while True:
        page = campaigns_data.list_by_status(CampaignStatus.ACTIVE, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _horizon_name(channel: Channel) -> str:
    return f"dispatch:{Channel(channel).value}"


def _to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)

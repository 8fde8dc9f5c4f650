"""Outreach: a campaign's contact on one channel — the first WhatsApp message, or a call — and what
every channel shares: the job's checks, the claim, the at-most-once send and the error ladder. Each
channel's own send is its module's (`shared.engine.outreach_whatsapp`, `shared.engine.outreach_voice`),
so the dialer never loads WhatsApp's and the WhatsApp worker never loads the voice's.

`deliver(job, sender)` is what the WhatsApp and dialer workers run for each queued `OutreachJob` (through
their channel's module: `outreach_whatsapp.deliver(job)`, `outreach_voice.deliver(job)`):

1. The job must be the target's current one: `scheduled` on this channel, `attempt_count + 1 ==
   job.attempt`. Anything else is a duplicate or an outdated job and does nothing.
2. The case's number, never one reported as a wrong number for the customer (the case's next phone
   instead, or the case ends `wrong_number`: `shared.engine.identity.usable_phone`); then the pre-send
   guards (`shared.engine.guards.check`), which record and count their own skips.
3. The day's contact slot (`guards.reserve`).
4. The send, at most once: the target is claimed with a conditional transition *before* sending
   (`scheduled → contacted` for WhatsApp, `→ calling` for voice, with the attempt number, the claim's
   time, the sending marker and what the guards' CRM read showed open: `openAmount`, `openAmountAt`), then the channel's send slot (`shared.engine.ratelimit`), the send,
   the record. Once claimed, the target is no longer `scheduled`, so no redelivery can send again: the
   claim is the job's idempotency. A redelivered job that finds the claim still marked records
   "delivery unknown" instead of sending — at once when the claiming worker failed after its claim (it
   marks the case itself), else once `SEND_WINDOW` has passed since the claim (the worker was killed);
   within the window the send may still be in flight, and the job is retried later (`SendInFlight`).
   A message left "delivery unknown" stays `contacted` on the agenda: a reply moves it on as usual, and
   upkeep concludes the attempt as unanswered at its deadline (`shared.engine.upkeep`). A call whose
   delivery is unknown has no CallSid to follow: its attempt is concluded as a failed call (the retry
   comes after the backoff, within the window and the cap, never at once).

What the send's answer leads to:
- WhatsApp accepted → the conversation (`shared.engine.conversations.open_conversation`) and the
  message record; target `contacted`, awaiting its delivery and then the reply for
  `WHATSAPP_REPLY_HOURS` (upkeep concludes it undelivered or unanswered, `shared.engine.upkeep`);
  `contactCount` + 1; outreach counted, milestone CONTACTED.
- not on WhatsApp → outcome `not_on_whatsapp`, then the campaign's next allowed channel (scheduled and
  dispatched at once) or `completed`.
- Evolution or Twilio unavailable (429, 5xx, timeout), or no send slot in time → the claim is undone
  and the error raised: SQS retries with backoff, then the DLQ — nothing is lost, nothing sent twice.
- the WhatsApp channel is blocked (`shared.engine.whatsapp_channel`: the breaker is open, or the send
  found the instance disconnected or met WhatsApp's 463 refusal) → the target is given back `pending`
  with its attempt unused (`Result.PAUSED`); the disconnect opens the breaker, the 463 counts toward it.
- Evolution refused the request, or Twilio the call → outcome `failed`, concluded like a failed call
  (`shared.engine.postcall.conclude_attempt`: later retry, next channel, or completed).
- call placed → target `calling` with the CallSid; Twilio's status callbacks take it from there.

One ladder (`attempt`) turns both providers' errors into these outcomes. The message a contact sends
depends on its step of the cadence (first contact, follow-up, after a broken promise, last notice):
`shared.engine.outreach_texts`; the TwiML a call gets when answered and the hand-off of Twilio's
status callbacks to the post-call queue in `shared.engine.calls`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final, NamedTuple, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters import clients
from shared.core import clock
from shared.core.jobs import OutreachJob
from shared.core.observability import logger, metrics
from shared.data import TransitionConflict, counters
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.domain.channels import channel_label
from shared.domain.debts import OpenAmount
from shared.domain.errors import ConfigError, Conflict, InvalidInput, NotFound, Refused, ServiceUnavailable
from shared.domain.models import Campaign, Channel, Outcome, Target, TargetState
from shared.engine import guards, identity, ratelimit, stats

# The longest a claimed send can still be in flight: the outreach workers' timeout (whatsapp-outreach
# and dialer in infra/cdk/workers.py). A job redelivered later finds its claiming worker gone.
SEND_WINDOW: Final = timedelta(seconds=30)
CLAIMED_STATE: Final = {Channel.WHATSAPP: TargetState.CONTACTED, Channel.VOICE: TargetState.CALLING}
_CLAIMED_CHANNEL: Final = {state: channel for channel, state in CLAIMED_STATE.items()}
_REFUSED: Final = {Channel.WHATSAPP: "WhatsApp recusou a mensagem", Channel.VOICE: "Twilio recusou a chamada"}
_Sent = TypeVar("_Sent")


class Result(StrEnum):
    SENT = "sent"  # the WhatsApp message was accepted
    CALLED = "called"  # the call was placed
    SKIPPED = "skipped"  # a guard objected; the decision is on the target
    STALE = "stale"  # duplicate, outdated or lost-race job: nothing done
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    FAILED = "failed"  # the provider refused for good
    DELIVERY_UNKNOWN = "delivery_unknown"  # claimed by an earlier delivery that never recorded the result
    PAUSED = "paused"  # the WhatsApp channel is blocked: the target is pending again, its attempt unused


# The contact did not happen: the day's slot goes back.
NOT_CONTACTED: Final = frozenset({Result.STALE, Result.NOT_ON_WHATSAPP, Result.FAILED, Result.PAUSED})


class ChannelSender(NamedTuple):
    """One channel's part of a delivery: whether the channel takes sends now, and the send of a claimed
    target (`claimed`; `before`, as it was before the claim) that records its own answer."""

    channel: Channel
    is_blocked: Callable[[], bool]
    send: Callable[[Target, Target, Campaign], Result]


class WrongQueue(InvalidInput):
    """A job for one channel arrived on another channel's queue."""

    code = "wrong_queue"


class ClaimLost(Conflict):
    """The target was no longer this job's to send (another delivery has it or it moved on)."""

    code = "claim_lost"


class ChannelPaused(Conflict):
    """The WhatsApp channel is blocked; the target was given back `pending` (the same attempt can be
    sent later)."""

    code = "channel_paused"


class SendInFlight(ServiceUnavailable):
    """The job's claim is younger than `SEND_WINDOW`: another delivery of it may still be sending.
    Raised for SQS to retry the job later."""

    code = "send_in_flight"


# --------------------------------------------------------------------------------------------------
# Delivering a job
# --------------------------------------------------------------------------------------------------


@counters.batched()
def deliver(job: OutreachJob, sender: ChannelSender) -> Result:
    """Run one outreach job taken from `channel`'s queue (see the module docstring).

    Raises a `ServiceUnavailable` (provider down, no send slot in time) for SQS to retry the job;
    `WrongQueue` for a job that belongs to the other channel's queue.
    """
    channel = sender.channel
    if job.channel is not channel:
        raise WrongQueue(f"a {job.channel.value} job arrived on the {channel.value} queue")
    try:
        target = _read_target(job)
        if _claimed_unrecorded(target, job):
            return _unrecorded(target, job)
        if not _is_current(target, job):
            logger.info("outdated or duplicate job ignored", target_id=job.target_id, attempt=job.attempt)
            return _stale()
        if sender.is_blocked():
            return give_back(target, [TargetState.SCHEDULED], target)
        campaign = campaigns_data.get_recent(target.campaign_id)  # paused elsewhere: seen within seconds
        usable = identity.usable_phone(target, guards.GUARDED_STATES)  # never a reported wrong number
        if usable is None:
            return Result.SKIPPED
        target = usable
        decision = guards.check(target, campaign, channel, clients.crm())
        if isinstance(decision, guards.Skipped):
            return Result.SKIPPED
        reservation = guards.reserve(decision, channel)
    except (NotFound, TransitionConflict) as exc:
        logger.info("job no longer applies", target_id=job.target_id, reason=exc.message)
        return _stale()
    if isinstance(reservation, guards.Skipped):
        return Result.SKIPPED
    contacted = False
    try:
        result = _send_once(job, campaign, target, sender, decision.checked)
        contacted = result not in NOT_CONTACTED
        return result
    except ClaimLost:
        logger.info("another delivery claimed the target", target_id=job.target_id, attempt=job.attempt)
        return _stale()
    except ChannelPaused:
        return Result.PAUSED
    except ServiceUnavailable as exc:
        # Nothing was sent: the slot goes back and SQS retries the job after its visibility timeout.
        metrics.add_metric(name="OutreachRetried", unit=MetricUnit.Count, value=1)
        logger.warning(
            "outreach not sent: will be retried", target_id=job.target_id, error=type(exc).__name__
        )
        raise
    except Exception:
        contacted = True  # the send may have happened: keep the slot (fail closed)
        raise
    finally:
        if not contacted:
            guards.release(reservation)


def _read_target(job: OutreachJob) -> Target:
    """The job's target. An eventually consistent read (half the units) is enough when it shows the case
    scheduled for this very job: every write that follows (a guard's verdict, the claim) is conditional
    on that state, so a copy a moment stale can only lose the race. Anything else is read again,
    strongly, before the job is dropped as outdated or a lost send recorded."""
    target = targets_data.get(job.target_id, consistent=False)
    return target if _is_current(target, job) else targets_data.get(job.target_id)


def _stale() -> Result:
    metrics.add_metric(name="OutreachStaleJob", unit=MetricUnit.Count, value=1)
    return Result.STALE


def _send_once(
    job: OutreachJob, campaign: Campaign, target: Target, sender: ChannelSender, checked: OpenAmount | None
) -> Result:
    """Claim, send, record — at most once per (target, channel, attempt): the claim is conditional on
    the target being this job's, as `target` was just read, and records what the guards' CRM read
    showed open (`checked`). A failure after the claim that may have
    sent (anything but the provider's unavailability, whose claim is undone) marks the case
    "delivery unknown" itself, so a redelivery does not wait for `SEND_WINDOW`."""
    claimed = _claim(target, job, checked)
    try:
        # The send slot last, so the request leaves as close to its slot as possible.
        ratelimit.acquire(job.channel)
    except ServiceUnavailable:
        _undo_claim(claimed, target)
        raise
    try:
        return sender.send(claimed, target, campaign)
    except (ServiceUnavailable, ChannelPaused, ConfigError):
        raise  # not sent: the claim was undone (or the target given back)
    except Exception:
        _abandon(job)
        raise


def _unrecorded(target: Target, job: OutreachJob) -> Result:
    """The job finds its own claim without the send's record: still in flight within `SEND_WINDOW` of
    the claim (retried later), else the claiming worker died — delivery unknown, never sent again."""
    claimed_at = target.last_attempt_at
    if claimed_at is not None and clock.now() - claimed_at < SEND_WINDOW:
        raise SendInFlight(f"target {target.id} was claimed for attempt {job.attempt} moments ago")
    _record_delivery_unknown(target, job.channel)
    return Result.DELIVERY_UNKNOWN


def _abandon(job: OutreachJob) -> None:
    """This worker failed after its claim and may have sent: the case is marked "delivery unknown" if
    the claim is still unrecorded (best effort: otherwise its redelivery does it after `SEND_WINDOW`)."""
    try:
        current = targets_data.get(job.target_id)
        if _claimed_unrecorded(current, job):
            _record_delivery_unknown(current, job.channel)
    except Exception as exc:  # the original failure is the one to raise
        logger.warning("claim left for the redelivery", target_id=job.target_id, error=type(exc).__name__)


def _is_current(target: Target, job: OutreachJob) -> bool:
    return (
        target.state is TargetState.SCHEDULED
        and target.channel is job.channel
        and target.attempt_count + 1 == job.attempt
    )


def _claimed_unrecorded(target: Target, job: OutreachJob) -> bool:
    """The target was claimed for this very job and its send result never recorded."""
    return (
        target.state is CLAIMED_STATE[job.channel]
        and target.channel is job.channel
        and target.attempt_count == job.attempt
        and target.outcome_details == sending_marker(job.channel, job.attempt)
    )


def sending_marker(channel: Channel, attempt: int) -> str:
    """`outcomeDetails` of a claimed target while its send is in flight."""
    return f"Envio por {channel_label(channel)} em andamento (tentativa {attempt})"


def _claim(target: Target, job: OutreachJob, checked: OpenAmount | None) -> Target:
    changes: dict[str, Any] = {
        "attempt_count": job.attempt,
        "last_attempt_at": clock.now(),
        "outcome_details": sending_marker(job.channel, job.attempt),
        **stats.open_fields(target, checked),
    }
    if job.channel is Channel.VOICE:
        changes["call_sid"] = None
    try:
        return targets_data.transition(
            target.id, [TargetState.SCHEDULED], CLAIMED_STATE[job.channel], **changes
        )
    except TransitionConflict as exc:
        raise ClaimLost(exc.message) from exc


def _undo_claim(claimed: Target, before: Target) -> None:
    """Give the target back to its job (the send surely did not happen): SQS will retry it."""
    try:
        targets_data.transition(
            claimed.id,
            [claimed.state],
            TargetState.SCHEDULED,
            attempt_count=before.attempt_count,
            last_attempt_at=before.last_attempt_at,
            outcome_details=before.outcome_details,
            call_sid=before.call_sid,
        )
    except TransitionConflict as exc:
        logger.warning("claim not undone: the target moved on", target_id=claimed.id, reason=exc.message)


def give_back(current: Target, from_states: list[TargetState], before: Target) -> Result:
    """The channel is blocked: the target back to `pending`, due now, as it was before this job (its attempt
    unused), for the sweep to send on another channel or once WhatsApp works again."""
    try:
        targets_data.transition(
            current.id,
            from_states,
            TargetState.PENDING,
            attempt_count=before.attempt_count,
            last_attempt_at=before.last_attempt_at,
            outcome_details=before.outcome_details,
        )
    except TransitionConflict as exc:
        logger.warning("target not given back: it moved on", target_id=current.id, reason=exc.message)
        return _stale()
    metrics.add_metric(name="OutreachPaused", unit=MetricUnit.Count, value=1)
    logger.info("whatsapp paused: target given back", target_id=current.id)
    return Result.PAUSED


def _record_delivery_unknown(target: Target, channel: Channel) -> None:
    details = (
        f"Entrega desconhecida: o envio por {channel_label(channel)} pode ter ocorrido sem ser registrado"
    )
    if channel is Channel.VOICE:
        # No CallSid to follow, no callback will come: the attempt is concluded as a failed call (its
        # retry after the backoff, within the window and the cap), never left `calling` or off the agenda.
        from shared.engine import postcall

        postcall.conclude_attempt(target, Outcome.FAILED, details=details, from_states=(TargetState.CALLING,))
    else:
        targets_data.update(target.id, outcome_details=details + "; não foi repetido")
    metrics.add_metric(name="OutreachDeliveryUnknown", unit=MetricUnit.Count, value=1)
    logger.warning("delivery unknown: not sent again", target_id=target.id, channel=channel.value)


# --- The provider's answer ------------------------------------------------------------------------------


def attempt(claimed: Target, before: Target, send: Callable[[], _Sent | Result]) -> _Sent | Result:
    """The provider's answer to `send`, or what its error leads to — one ladder for both channels
    (a channel's own answers, such as WhatsApp's "not on WhatsApp", are `send`'s to turn into a `Result`):

    - unavailable (429, 5xx, timeout) or misconfigured → the claim undone and the error raised: SQS
      retries the job, then dead-letters it;
    - refused for good (`Refused`) → outcome `failed`, concluded like a failed call (later retry,
      next channel, or completed).
    """
    try:
        return send()
    except Refused as exc:
        # A refusal for good is rare: the post-call rules (and what they import) load with the first one.
        from shared.engine import postcall

        postcall.conclude_attempt(
            claimed,
            Outcome.FAILED,
            details=f"{_REFUSED[_CLAIMED_CHANNEL[claimed.state]]} ({exc.message})",
            from_states=(claimed.state,),
        )
        return Result.FAILED
    except (ServiceUnavailable, ConfigError):  # not sent: the job is retried, then dead-lettered
        _undo_claim(claimed, before)
        raise


def count_contact(target: Target, channel: Channel) -> None:
    """A contact made: the campaign's counters, the metric and the log line."""
    stats.count_outreach(target.campaign_id, channel, phone=target.phone)
    metrics.add_metric(name=f"Outreach_{channel.value}", unit=MetricUnit.Count, value=1)
    logger.info("outreach sent", target_id=target.id, campaign_id=target.campaign_id, channel=channel.value)

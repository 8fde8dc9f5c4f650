"""After a call: Twilio's status callbacks become outcomes, retries and channel fallback.

Twilio posts `initiated`, `ringing`, `in-progress` and a final status for every call, plus (async AMD)
a separate callback carrying only `AnsweredBy`. They reach us through an SQS standard queue: late,
out of order, or twice. Three rules make that harmless:

- only a *live* attempt is touched: the target must still be `calling` on this very CallSid; once an
  attempt is concluded (or the assistant's tools moved the target on), every later callback for that
  call is a no-op — a late `ringing` never overwrites a final outcome, a second `completed` does
  nothing, and `SequenceNumber` is only logged;
- intermediate statuses never change the state; `in-progress` refreshes the details, and a human
  answer counts the target's RESPONDED milestone (once, however often it is reported);
- a final status concludes the attempt with one conditional transition, so of two deliveries
  exactly one wins.

Final outcomes: `answered` → `contacted` when the conversation already resolved something (promise
made, paid, transferred... — kept; a transfer the desk already let go of follows the cadence, as the
desk's letting go does for a case no longer calling); answered by someone who said it is not the customer's number
(`wrong_number`, the case already moved to its next phone) → concluded like an unanswered attempt;
otherwise the cadence's follow-up (`shared.engine.cadence`:
`pending` `followUpAfterDays` later, or `completed/exhausted`). `no_answer`, `busy`, `voicemail`,
`failed` → `conclude_attempt`: back to `pending` after a backoff while the channel has attempts left
(the scheduler re-runs every guard and the window), then `pending` on the next allowed channel of the
campaign's `fallbackOrder` with its attempt count reset, then `completed` with the last outcome — all
inside the campaign's `maxContacts` (spent: `completed/exhausted`).

`channel_attempts` counts the *concluded* attempts on the target's current channel: this module is
the only writer (the dialer leaves it alone; a channel switch resets it to 0).

An answering machine (AMD `machine_*`, `fax`) concludes the attempt as `voicemail` and the call is
hung up: the assistant never talks about a debt to a recording someone else may hear (CDC art. 42-A).
A campaign with `voicemail_drop` dials with `DetectMessageEnd`: a machine that reaches its beep
(`machine_end_beep`) gets the neutral voicemail message instead (the live call is updated with
`<Say>` + `<Hangup/>`), and the attempt concludes as `voicemail_left`.

A campaign with `record_calls` gets, on each answered call's `completed`, a summary and a disposition
on the call's conversation (`shared.engine.call_summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from shared.core import clock
from shared.core.jobs import CallStatusEvent
from shared.core.observability import logger, metrics
from shared.data import campaigns as campaigns_data
from shared.data import conversations, counters, optouts
from shared.data import targets as targets_data
from shared.domain.cadence import RESOLVING_OUTCOMES, budget_spent
from shared.domain.channels import channel_label
from shared.domain.chat_ids import voice_chat_id
from shared.domain.errors import Conflict, DomainError, ServiceUnavailable
from shared.domain.models import Campaign, Outcome, Target, TargetState
from shared.domain.phones import timezone_for_phone
from shared.engine import cadence, call_summary, routing, short_calls, stats
from shared.engine.stats import Milestone

FINAL_STATUSES: Final[dict[str, Outcome]] = {
    "completed": Outcome.ANSWERED,
    "no-answer": Outcome.NO_ANSWER,
    "busy": Outcome.BUSY,
    "failed": Outcome.FAILED,
    # Cancelled before anyone picked up (we only cancel ringing calls): nobody answered.
    "canceled": Outcome.NO_ANSWER,
}
INTERMEDIATE_STATUSES: Final = frozenset({"queued", "initiated", "ringing", "in-progress", "answered"})
IN_PROGRESS: Final = frozenset({"in-progress", "answered"})
MACHINE_ANSWERS: Final = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
MACHINE_BEEP: Final = "machine_end_beep"  # `DetectMessageEnd`: the greeting ended on its beep
# Outcomes the conversation itself sets during a call (the assistant's tools, a handoff): more specific
# than "answered", so the end of the call never overwrites them.
CONVERSATION_OUTCOMES: Final = RESOLVING_OUTCOMES
# Wait before the next attempt on the same channel, by concluded attempts (the last one repeats).
# Not aligned to the contact window here: the scheduler re-checks the window and the frequency cap.
RETRY_BACKOFF: Final = (timedelta(hours=2), timedelta(days=1), timedelta(days=2))
CONCLUDABLE_STATES: Final = (TargetState.SCHEDULED, TargetState.CALLING)
# Where an answered call leaves its target: awaiting the follow-up, or contacted when resolved.
ANSWERED_STATES: Final = (TargetState.PENDING, TargetState.CONTACTED)

_OUTCOME_LABELS: Final = {
    Outcome.ANSWERED: "Chamada atendida",
    Outcome.NO_ANSWER: "Não atendeu",
    Outcome.BUSY: "Linha ocupada",
    Outcome.VOICEMAIL: "Caixa postal",
    Outcome.VOICEMAIL_LEFT: "Recado deixado na caixa postal",
    Outcome.FAILED: "Falha na chamada",
    Outcome.NOT_ON_WHATSAPP: "Número sem WhatsApp",
    Outcome.NOT_DELIVERED: "Mensagem não entregue",
    Outcome.WRONG_NUMBER: "Atendida por outra pessoa (número errado)",
}


class UnknownCall(ServiceUnavailable):
    """A final status for a CallSid no target carries (yet): the dialer may not have recorded the
    call when Twilio's first callbacks arrive. Raised so SQS delivers it again (then the DLQ)."""

    code = "unknown_call"


class Action(StrEnum):
    IGNORED = "ignored"  # nothing to do: late, duplicate, or not about a live attempt
    PROGRESS = "progress"  # an intermediate status on a live attempt
    CONTACTED = "contacted"  # answered, and the conversation resolved something: the target is contacted
    FOLLOW_UP = "follow_up"  # answered without resolving: pending for the cadence's follow-up
    RETRY = "retry"  # back to pending on the same channel after a backoff
    NEXT_CHANNEL = "next_channel"  # back to pending on the next channel of the fallback order
    COMPLETED = "completed"  # no channel left: completed with the last outcome


class PostCallResult(NamedTuple):
    action: Action
    target: Target | None = None
    outcome: Outcome | None = None


# --------------------------------------------------------------------------------------------------
# Pure rules
# --------------------------------------------------------------------------------------------------


def normalize_status(call_status: str | None) -> str | None:
    """Twilio's CallStatus, trimmed and lower-cased; None when absent (an AMD-only callback)."""
    status = (call_status or "").strip().lower()
    return status or None


def is_machine(answered_by: str | None) -> bool:
    """Whether AMD says a machine (or a fax) answered."""
    return (answered_by or "").strip().lower() in MACHINE_ANSWERS


def call_outcome(call_status: str | None, answered_by: str | None) -> Outcome | None:
    """The final outcome a callback announces, or None for an intermediate one.

    A machine verdict on an answered call (during it, or on its `completed`) is `voicemail`;
    `busy`, `no-answer`, `failed` and `canceled` stand whatever AMD said.
    """
    status = normalize_status(call_status)
    if is_machine(answered_by) and (status is None or status in IN_PROGRESS or status == "completed"):
        return Outcome.VOICEMAIL
    if status is None:
        return None
    return FINAL_STATUSES.get(status)


def backoff(concluded_attempts: int) -> timedelta:
    """How long to wait after the `concluded_attempts`-th attempt on a channel before the next."""
    if concluded_attempts < 1:
        raise ValueError("at least one attempt was concluded")
    return RETRY_BACKOFF[min(concluded_attempts, len(RETRY_BACKOFF)) - 1]


# --------------------------------------------------------------------------------------------------
# Status callbacks
# --------------------------------------------------------------------------------------------------


@counters.batched()
def handle_call_status(
    event: CallStatusEvent,
    *,
    hang_up: Callable[[str], None] | None = None,
    play_twiml: Callable[[str, str], None] | None = None,
) -> PostCallResult:
    """Apply one Twilio status (or AMD) callback to the call's target.

    `hang_up(call_sid)` ends a call a machine answered (best effort); `play_twiml(call_sid, twiml)`
    leaves the voicemail drop on a machine at its beep. Raises `UnknownCall` for a final
    status whose call no target carries yet, so the message is delivered again.
    """
    status = normalize_status(event.call_status)
    sid = event.call_sid
    metrics.add_metric(name="CallStatusCallbacks", unit=MetricUnit.Count, value=1)
    if status is not None and status not in FINAL_STATUSES and status not in INTERMEDIATE_STATUSES:
        logger.warning("unknown Twilio call status ignored", call_sid=sid, call_status=status)
        return PostCallResult(Action.IGNORED)
    if status == "completed" and event.call_duration is not None:
        short_calls.count_call(sid, event.call_duration, clock.now())
    outcome = call_outcome(status, event.answered_by)
    found = targets_data.by_call_sid(sid)
    if found is None:
        if outcome is not None:
            raise UnknownCall(f"no target carries call {sid} (status {status or event.answered_by})")
        logger.info("status for an unknown call ignored", call_sid=sid, call_status=status)
        return PostCallResult(Action.IGNORED)
    target = targets_data.get(found.id)  # the index is eventually consistent; decide on the item
    if target.call_sid != sid:
        logger.info("status for a previous call ignored", target_id=target.id, call_sid=sid)
        return PostCallResult(Action.IGNORED, target, outcome)
    logger.info(
        "call status",
        target_id=target.id,
        call_sid=sid,
        call_status=status,
        answered_by=event.answered_by,
        sequence_number=event.sequence_number,
        target_state=target.state.value,
    )
    if outcome is Outcome.VOICEMAIL:
        return _machine_answered(target, event.answered_by, hang_up, play_twiml)
    if outcome is not None:
        result = _final(target, outcome, event.call_duration)
        if outcome is Outcome.ANSWERED:
            call_summary.summarize_call(sid, target, event.call_duration)
        return result
    return _progress(target, status)


def _progress(target: Target, status: str | None) -> PostCallResult:
    # A human verdict is not yet a response: whoever picked up may say the number is not the
    # customer's. The call's end counts it (`_answered`, `_final`).
    if target.state is not TargetState.CALLING:
        return PostCallResult(Action.IGNORED, target)
    if status not in IN_PROGRESS or target.outcome in CONVERSATION_OUTCOMES:
        return PostCallResult(Action.PROGRESS, target)
    try:
        # Conditional on `calling`: a concluded attempt's details are never overwritten.
        moved = targets_data.transition(
            target.id, [TargetState.CALLING], TargetState.CALLING, outcome_details="Chamada em andamento"
        )
    except Conflict:
        return PostCallResult(Action.IGNORED, target)
    return PostCallResult(Action.PROGRESS, moved)


def _final(target: Target, outcome: Outcome, duration: int | None) -> PostCallResult:
    if target.state is not TargetState.CALLING:
        if outcome is Outcome.ANSWERED and target.outcome in CONVERSATION_OUTCOMES:
            # A person answered, and the conversation's tools already moved the case on.
            stats.record_milestone(target.id, Milestone.RESPONDED)
        logger.info("call already concluded; status ignored", target_id=target.id, outcome=outcome.value)
        return PostCallResult(Action.IGNORED, target, outcome)
    if outcome is Outcome.ANSWERED:
        return _answered(target, duration)
    return conclude_attempt(target, outcome)


def _answered(target: Target, duration: int | None) -> PostCallResult:
    """A person answered the live attempt: its conclusion marks the RESPONDED milestone in the same
    write (on its own when the attempt was concluded elsewhere meanwhile)."""
    if target.outcome is Outcome.WRONG_NUMBER and _reached_a_wrong_number(target):
        # The person who answered said the number is not the customer's (`numero_errado`, which moved
        # the case to its next phone): the customer was not reached, nothing to follow up.
        return conclude_attempt(target, Outcome.WRONG_NUMBER)
    _count(Outcome.ANSWERED)
    responded = Milestone.RESPONDED.value
    if target.outcome not in CONVERSATION_OUTCOMES:
        seconds = f" ({duration} s)" if duration is not None else ""
        followed = cadence.follow_up(
            target, [TargetState.CALLING], label=f"Chamada atendida{seconds}", milestone=responded
        )
        if followed is not None:
            action = Action.COMPLETED if followed.state is TargetState.COMPLETED else Action.FOLLOW_UP
            return PostCallResult(action, followed, followed.outcome)
    try:
        # The conversation's tools moved it on: contacted, awaiting nothing (off the agenda).
        moved = targets_data.transition(
            target.id, [TargetState.CALLING], TargetState.CONTACTED, until=None, milestone=responded
        )
    except Conflict:
        stats.record_milestone(target.id, Milestone.RESPONDED)
        return PostCallResult(Action.IGNORED, target, Outcome.ANSWERED)
    if moved.outcome is Outcome.TRANSFERRED and not conversations.held(moved.phone, moved.document):
        # The desk let go of the customer before this end of the call was processed: its letting go
        # found the case still calling, so the case follows the cadence from here.
        resumed = cadence.resume_after_desk(moved.id)
        if resumed is not None:
            action = Action.COMPLETED if resumed.state is TargetState.COMPLETED else Action.FOLLOW_UP
            return PostCallResult(action, resumed, resumed.outcome)
    else:
        cadence.await_desk(moved)  # handed to a person on the call: her payment is looked for meanwhile
    return PostCallResult(Action.CONTACTED, moved, moved.outcome)


def _reached_a_wrong_number(target: Target) -> bool:
    """Whether this call's number is reported as not the customer's (by the person on it, or before:
    the outcome alone may be an earlier attempt's, on the phone the case has since moved from)."""
    assert target.call_sid
    conversation = conversations.by_chat_id(voice_chat_id(target.call_sid))
    return conversation is not None and bool(optouts.wrong_numbers(target.document, [conversation.phone]))


def leaves_voicemail(answered_by: str | None, voicemail_drop: bool) -> bool:
    """Whether a machine verdict gets the voicemail drop: the campaign asks for it and the machine's
    greeting ended on its beep (the recording is listening)."""
    return voicemail_drop and (answered_by or "").strip().lower() == MACHINE_BEEP


def _machine_answered(
    target: Target,
    answered_by: str | None,
    hang_up: Callable[[str], None] | None,
    play_twiml: Callable[[str, str], None] | None,
) -> PostCallResult:
    if target.state is TargetState.CALLING:
        if (
            play_twiml is not None
            and target.call_sid
            and leaves_voicemail(answered_by, campaigns_data.get(target.campaign_id).voicemail_drop)
            and _leave_voicemail(play_twiml, target)
        ):
            return conclude_attempt(target, Outcome.VOICEMAIL_LEFT)
        if hang_up is not None and target.call_sid:
            _hang_up_quietly(hang_up, target)
        return conclude_attempt(target, Outcome.VOICEMAIL)
    if target.state in ANSWERED_STATES and target.outcome is Outcome.ANSWERED:
        # The machine verdict arrived after the call's `completed` (a reordered queue): correct it.
        return conclude_attempt(target, Outcome.VOICEMAIL, from_states=ANSWERED_STATES)
    return PostCallResult(Action.IGNORED, target, Outcome.VOICEMAIL)


def _leave_voicemail(play_twiml: Callable[[str, str], None], target: Target) -> bool:
    """Play the voicemail message on the live call, then hang up; False when Twilio refused (the
    call already ended, say): the attempt is then a plain `voicemail`."""
    assert target.call_sid
    # Rare (a machine answered a campaign that leaves a message): the TwiML and its text load with the first.
    from shared.adapters.twilio_voice import say_and_hang_up_twiml
    from shared.engine.outreach_texts import voicemail_message

    try:
        play_twiml(target.call_sid, say_and_hang_up_twiml(voicemail_message()))
    except DomainError as exc:
        logger.warning("could not leave the voicemail message", target_id=target.id, reason=exc.message)
        metrics.add_metric(name="VoicemailDropFailed", unit=MetricUnit.Count, value=1)
        return False
    logger.info("voicemail message left", target_id=target.id)
    return True


def _hang_up_quietly(hang_up: Callable[[str], None], target: Target) -> None:
    assert target.call_sid
    try:
        hang_up(target.call_sid)
    except DomainError as exc:
        # The recording ends the call by itself; the attempt is concluded either way.
        logger.warning("could not hang up on a machine", target_id=target.id, reason=exc.message)
        metrics.add_metric(name="MachineHangUpFailed", unit=MetricUnit.Count, value=1)


# --------------------------------------------------------------------------------------------------
# Concluding an unanswered attempt: retry, next channel, or completed
# --------------------------------------------------------------------------------------------------


def conclude_attempt(
    target: Target,
    outcome: Outcome,
    *,
    details: str | None = None,
    from_states: tuple[TargetState, ...] = CONCLUDABLE_STATES,
    awaiting: targets_data.Due | None = None,
    campaign: Campaign | None = None,
) -> PostCallResult:
    """Conclude the target's current attempt with an unanswered `outcome` (also for the dialer when
    Twilio refuses a call): retry on the same channel after `backoff` while the campaign's
    `max_attempts_per_channel` allows, else `pending` on the next allowed channel with its attempts
    reset, else `completed` with `outcome` — or `completed/exhausted` once the campaign's
    `max_contacts` are spent. One conditional transition from `from_states` (with `awaiting`,
    only while the WhatsApp message still awaits its delivery or reply); a lost race returns `Action.IGNORED`.
    `details` (Portuguese, for supervisors) replaces the outcome's label; `campaign`, the target's
    campaign when the caller has it already."""
    campaign = campaign or campaigns_data.get(target.campaign_id)
    channel = target.channel or routing.first_channel(campaign)
    concluded = target.channel_attempts + 1
    label = details or _OUTCOME_LABELS.get(outcome, outcome.value)
    now = clock.now()
    common: dict[str, Any] = {"outcome": outcome, "channel": channel}
    if budget_spent(target, campaign):
        action, to_state = Action.COMPLETED, TargetState.COMPLETED
        changes = common | {
            "outcome": Outcome.EXHAUSTED,
            "channel_attempts": concluded,
            "outcome_details": cadence.exhausted_details(campaign, label),
        }
    elif concluded < campaign.max_attempts_per_channel:
        retry_at = now + backoff(concluded)
        local = retry_at.astimezone(timezone_for_phone(target.phone))
        action, to_state = Action.RETRY, TargetState.PENDING
        changes = common | {
            "channel_attempts": concluded,
            "next_attempt_at": retry_at,
            "outcome_details": f"{label} — nova tentativa por {channel_label(channel)} "
            f"a partir de {local:%d/%m %H:%M} ({concluded}/{campaign.max_attempts_per_channel})",
        }
    elif (following := routing.next_allowed_channel(campaign, channel, target.phone)) is not None:
        action, to_state = Action.NEXT_CHANNEL, TargetState.PENDING
        changes = common | {
            "channel": following,
            "channel_attempts": 0,
            "next_attempt_at": now,
            "outcome_details": f"{label} — {concluded} tentativa(s) por {channel_label(channel)}; "
            f"próximo canal: {channel_label(following)}",
        }
    else:
        action, to_state = Action.COMPLETED, TargetState.COMPLETED
        changes = common | {
            "channel_attempts": concluded,
            "outcome_details": f"{label} — tentativas esgotadas em todos os canais",
        }
    if to_state is TargetState.COMPLETED:
        changes["late_check"] = cadence.late_check_at(target, changes["outcome"])
    try:
        moved = targets_data.transition(target.id, from_states, to_state, awaiting=awaiting, **changes)
    except Conflict as exc:
        logger.info("attempt already concluded elsewhere", target_id=target.id, reason=exc.message)
        return PostCallResult(Action.IGNORED, target, outcome)
    _count(outcome)
    logger.info(
        "attempt concluded",
        target_id=target.id,
        outcome=outcome.value,
        action=action.value,
        channel=moved.channel.value if moved.channel else None,
        channel_attempts=moved.channel_attempts,
    )
    return PostCallResult(action, moved, outcome)


def _count(outcome: Outcome) -> None:
    metrics.add_metric(name=f"CallOutcome_{outcome.value}", unit=MetricUnit.Count, value=1)

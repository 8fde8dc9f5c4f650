"""Upkeep of the work in flight: what no event will move on by itself. Run by the scheduler's tick
for each running campaign, before it takes the due targets (`functions/scheduler`).

Every attempt in flight is on the campaign's agenda until its deadline (`targets.overdue`, set when
the sweep scheduled it: `sweep.in_flight_until`); a tick reads the attempts whose deadline passed —
at most `PER_TICK` per campaign, more wait for the next tick — never a scan and never the campaign's
other cases, and acts on each by what it still is:

- **Undelivered messages.** A campaign WhatsApp message awaiting its delivery is looked at on the
  first of its deadlines (`sweep.in_flight_until`). Receipts never move a case (they only stamp the
  message, `reached_at`): here the stored campaign message is read. Reached the phone (a
  `DELIVERY_ACK` or `READ` receipt), it awaits the reply until `WHATSAPP_REPLY_HOURS` after it got
  there; else it awaits its delivery until `WHATSAPP_DELIVERY_HOURS` after the send, and then ends its
  attempt as `not_delivered`, concluded like an unanswered one — told apart from a message delivered
  but unanswered. A customer who answers before the deadline costs no move at all: the reply moves
  the case (off this deadline) anyway.
- **Unanswered messages.** A campaign WhatsApp message delivered but left unanswered for
  `WHATSAPP_REPLY_HOURS` (counted from its first receipt from the phone) ends its attempt as an
  unanswered call does (`postcall.conclude_attempt`): another message after the backoff while the
  channel has attempts left, else the campaign's next channel, else completed.

  A reply landing at the same instant wins: it moves the case on the agenda (or off it), and the
  conclusion requires the case still awaiting what it concludes. A case resolved without leaving
  `contacted` (handed to a human: the desk's letting go resumes it) just leaves the agenda.
- **Conversations gone quiet.** A case whose contacts are spent stays `contacted` while its customer
  writes (`shared.engine.cadence.follow_up`); no message for `WHATSAPP_REPLY_HOURS` after their last,
  it follows the cadence from there (`cadence.went_quiet`: `exhausted`).
- **Customers held at the desk.** A contacted case whose customer a person holds (`Due.HOLD`, put
  there by the handoff) is looked at every `cadence.HOLD_RETRY`: the CRM is read (no contact) and a
  payment she made meanwhile closes her cases (`payments.check_open`) without waiting for the desk to
  let go; once it let go, the case just leaves the agenda (the letting go moved it on).
- **Sends never recorded.** A contacted case whose message or call may have gone out without its
  record (delivery unknown: the worker died after its claim) and got no reply by the attempt's
  deadline ends that attempt as an unanswered one (`no_answer`), instead of waiting for nothing.
- **Campaigns end.** An active campaign whose cases are all `completed` is completed
  (`campaigns.complete_if_done`, one read of its counters).
- **Lost jobs.** A target still `scheduled` at its deadline (at least `LOST_AFTER` after its job's
  slot) never had its job run: the job was dead-lettered. It goes back to `pending`, due now, with the
  same attempt number (a job that ran claimed the case: it is no longer `scheduled`).
- **Lost call statuses.** A target still `calling` at its deadline: without a CallSid, the
  dialer died before dialing and the target goes back to `pending` as above; with one, Twilio is
  asked for the call, and a finished call's status goes to the post-call queue just as its
  callback would have (a call still in progress is left alone).
- **Late payment checks** (on the cron's tick, not a campaign's activation): a contacted case that ended
  unresolved has the CRM read once more `LATE_PAYMENT_CHECK_DAYS` after it ended, and closes `paid` if
  the customer paid meanwhile (`shared.engine.late_payments`); in every campaign that may still have
  one — the running ones, the paused ones, and those completed lately.
- **Missed promise checks** (on the cron's tick, not a campaign's activation): a pending promise
  whose next check is more than `LOST_AFTER` overdue — its one-time schedule could not be created,
  or its check message was dead-lettered — gets a check on the monitor's queue (a check is
  harmless to repeat: it schedules the next one itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Final

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters import clients, queues
from shared.adapters.crm import CrmUnavailable
from shared.core.config import get_settings
from shared.core.jobs import PromiseCheck
from shared.core.observability import logger, metrics
from shared.data import conversations, counters, messages
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.data.targets import Due, InFlight
from shared.domain.cadence import HOLD_RETRY, RESOLVING_OUTCOMES
from shared.domain.errors import Conflict, ServiceUnavailable
from shared.domain.models import REACHED_PHONE, Campaign, Outcome, Target, TargetState
from shared.domain.phones import timezone_for_phone
from shared.engine import cadence, late_payments, payments, postcall, sweep
from shared.engine import campaigns as campaign_rules
from shared.engine.late_payments import LateResult
from shared.engine.sweep import LOST_AFTER

PER_TICK: Final = 200
# Statuses after which Twilio sends no further callback for the call.
FINAL_CALL_STATUSES: Final = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass
class UpkeepReport:
    undelivered: int = 0  # WhatsApp attempts concluded for want of a delivery receipt
    unanswered: int = 0  # WhatsApp attempts concluded for want of a reply
    requeued: int = 0  # targets whose job was lost, back to pending
    calls_reconciled: int = 0  # finished calls whose status was fetched from Twilio
    promise_checks: int = 0  # promise checks queued because theirs never came
    quiet: int = 0  # conversations about cases whose contacts are spent, gone quiet: the cases moved on
    campaigns_completed: int = 0  # campaigns whose every case is closed
    late_checks: int = 0  # ended cases whose late payment check the CRM answered
    paid_late: int = 0  # of them, cases found paid: closed `paid`
    held_checked: int = 0  # CRM reads for customers a person at the desk holds


@counters.batched()
def run(campaign_id: str | None, now: datetime) -> UpkeepReport:
    """Upkeep for one campaign, or every active one; see the module docstring."""
    report = UpkeepReport()
    running = list(sweep.running_campaigns(campaign_id))
    for campaign in running:
        tend_overdue(campaign, now, report)
        report.campaigns_completed += campaign_rules.complete_if_done(campaign)
    if campaign_id is None:
        report.promise_checks = recover_promise_checks(now)
        for campaign in late_payments.campaigns_to_check(running, now):
            if not check_late_payments(campaign, now, report):
                break  # the CRM is not answering: the other campaigns' checks wait for the next tick
    if report != UpkeepReport():
        logger.info("upkeep", **asdict(report))
    return report


def tend_overdue(campaign: Campaign, now: datetime, report: UpkeepReport, limit: int = PER_TICK) -> None:
    """Act on the campaign's attempts in flight whose deadline passed by `now` (see the module
    docstring), counting what was done in `report`."""
    calls: list[Target] = []
    for item in targets_data.overdue(campaign.id, now, limit):
        target = item.target
        if target.state is TargetState.SCHEDULED or (
            target.state is TargetState.CALLING and target.call_sid is None
        ):
            report.requeued += _requeue(target)
        elif target.state is TargetState.CALLING:
            calls.append(target)
        elif item.awaiting is Due.HOLD:
            report.held_checked += _check_held(target, now)
        elif target.outcome in RESOLVING_OUTCOMES:
            targets_data.stop_awaiting(target.id)
        elif item.awaiting is Due.QUIET:
            report.quiet += cadence.went_quiet(target, campaign) is not None
        else:
            concluded = _conclude(campaign, item, now)
            report.unanswered += concluded is Outcome.NO_ANSWER
            report.undelivered += concluded is Outcome.NOT_DELIVERED
    report.calls_reconciled += reconcile_calls(calls)


def check_late_payments(campaign: Campaign, now: datetime, report: UpkeepReport) -> bool:
    """Run the campaign's late payment checks due by `now` (`late_payments.run_due`), counting them in
    `report`; False when the CRM did not answer one."""
    results = late_payments.run_due(campaign, now)
    report.late_checks += sum(
        results[r] for r in (LateResult.PAID, LateResult.PARTLY_PAID, LateResult.NOTHING_PAID)
    )
    report.paid_late += results[LateResult.PAID]
    return not results[LateResult.RETRY] and not results[LateResult.GIVEN_UP]


def _conclude(campaign: Campaign, item: InFlight, now: datetime) -> Outcome | None:
    """End the attempt of a WhatsApp message that awaited its delivery (`not_delivered`) or its reply
    (`no_answer`) past its deadline, or of a contact whose send was never recorded (delivery unknown:
    `no_answer`, since a reply would have moved the case on), and say which; None when a deadline
    still ahead keeps it waiting, or it moved on meanwhile. A message awaiting its delivery is looked
    at on the first of its two deadlines (`sweep.in_flight_until`): reached the phone, it awaits the
    reply until `WHATSAPP_REPLY_HOURS` after it got there, else its delivery until
    `WHATSAPP_DELIVERY_HOURS` after the send."""
    settings = get_settings()
    target, due = item.target, item.awaiting
    if due is Due.DELIVERY:
        reached_at = _reached_at(target, now)
        if reached_at is not None:
            due_at, due = reached_at + timedelta(hours=settings.whatsapp_reply_hours), Due.REPLY
        else:
            sent_at = target.last_attempt_at or now
            due_at = sent_at + timedelta(hours=settings.whatsapp_delivery_hours)
        if due_at > now:
            targets_data.await_until(target, due, due_at)
            return None
    if due is Due.DELIVERY:
        outcome = Outcome.NOT_DELIVERED
        details = f"Mensagem de WhatsApp não entregue em {settings.whatsapp_delivery_hours} h"
    elif due is Due.REPLY:
        outcome = Outcome.NO_ANSWER
        details = f"Sem resposta no WhatsApp em {settings.whatsapp_reply_hours} h"
    else:
        outcome = Outcome.NO_ANSWER
        details = "Entrega desconhecida e nenhuma resposta do cliente até o prazo da tentativa"
    result = postcall.conclude_attempt(
        target,
        outcome,
        details=details,
        from_states=(TargetState.CONTACTED,),
        awaiting=item.awaiting,
        campaign=campaign,
    )
    return None if result.action is postcall.Action.IGNORED else outcome


def _reached_at(target: Target, now: datetime) -> datetime | None:
    """When the case's campaign message (the newest of its conversation, sent in this attempt) reached
    the phone, by its receipts; None when it did not (or the message is an earlier attempt's). A
    message delivered before receipts were stamped counts as reached `now`."""
    if target.conversation_id is None or target.last_attempt_at is None:
        return None
    message = messages.last_from_campaign(target.conversation_id)
    if message is None or message.created_at < target.last_attempt_at:
        return None  # none, or an earlier attempt's (or campaign's) message
    if message.delivery_status not in REACHED_PHONE:
        return None
    return message.reached_at or now


def _check_held(target: Target, now: datetime) -> bool:
    """The contacted case's customer is held at the desk (`Due.HOLD`): the CRM says whether she paid
    meanwhile (`payments.check_open`: paid closes her cases, a partial payment is recorded), and it is
    asked again `HOLD_RETRY` later while the hold lasts. A CRM that cannot answer changes nothing but
    the next look. True when the CRM was read."""
    if not conversations.held(target.phone, target.document, consistent=False):
        targets_data.stop_awaiting(target.id)  # the desk let go: its letting go moved the case on
        return False
    read = True
    try:
        tz = timezone_for_phone(target.phone)
        payments.check_open(target.document, crm=clients.crm(), today=now.astimezone(tz).date())
    except CrmUnavailable as exc:
        logger.warning(
            "CRM unavailable for a held customer: next look later", target_id=target.id, reason=exc.message
        )
        read = False
    targets_data.hold_until(target.id, now + HOLD_RETRY)  # a no-op once the case closed paid
    return read


def reconcile_calls(calling: list[Target]) -> int:
    """Feed post-call the final status of these long-`calling` targets' calls, whose callback never
    came; returns how many."""
    reconciled = 0
    for target in calling:
        if target.call_sid is None:
            continue
        try:
            state = clients.voice().call_state(target.call_sid)
        except ServiceUnavailable as exc:
            logger.warning("call status not fetched; next tick", target_id=target.id, reason=exc.message)
            return reconciled
        if state.status not in FINAL_CALL_STATUSES:
            continue
        params = {"CallSid": target.call_sid, "CallStatus": state.status}
        if state.duration is not None:
            params["CallDuration"] = str(state.duration)
        # The calls' webhooks (TwiML, stream tokens, recordings) load with the first callback that was lost.
        from shared.engine import calls

        calls.enqueue_call_status(params)
        reconciled += 1
    if reconciled:
        metrics.add_metric(name="CallStatusReconciled", unit=MetricUnit.Count, value=reconciled)
    return reconciled


def recover_promise_checks(now: datetime, limit: int = PER_TICK) -> int:
    """Queue a check for each pending promise whose monitor check never came; returns how many."""
    missed = promises_data.checks_missed(now - LOST_AFTER, limit)
    for promise in missed:
        queues.send("promise_monitor", PromiseCheck(promise_id=promise.id).model_dump(by_alias=True))
        logger.warning("promise check missed: queued now", promise_id=promise.id)
    if missed:
        metrics.add_metric(name="PromiseCheckRecovered", unit=MetricUnit.Count, value=len(missed))
    return len(missed)


def _requeue(target: Target) -> bool:
    try:
        targets_data.transition(
            target.id,
            [target.state],
            TargetState.PENDING,
            outcome_details="Envio anterior não concluído; reagendado",
        )
    except Conflict:
        return False  # it moved on meanwhile
    metrics.add_metric(name="LostJobRequeued", unit=MetricUnit.Count, value=1)
    logger.warning("lost outreach job: target back to pending", target_id=target.id, state=target.state.value)
    return True

"""The cadence until resolution: a customer who engaged (replied on WhatsApp, answered a call) without
resolving — no promise, payment, opt-out or handoff — is contacted again `followUpAfterDays` later
(back to `pending`; the sweep fits the contact into the customer's next window), until the campaign's
`maxContacts` are spent: then the case ends `completed/exhausted` — but not while the customer is
writing on WhatsApp (a reply to the last notice): the case stays `contacted`, awaiting their next
message until `WHATSAPP_REPLY_HOURS` after the last one (`Due.QUIET`), so the assistant can still take
a promise; upkeep ends it when the conversation went quiet (`went_quiet`). Unanswered attempts follow
`shared.engine.postcall.conclude_attempt`, inside the same budget."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit

from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.data.targets import Due
from shared.domain.cadence import (
    FOLLOW_UP_OUTCOMES,
    HOLD_RETRY,
    LATE_CHECKED_OUTCOMES,
    RESOLVING_OUTCOMES,
    awaits_follow_up,
    budget_spent,
)
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Campaign, Outcome, Target, TargetState
from shared.domain.phones import timezone_for_phone


def late_check_at(ended: Target, outcome: Outcome | None) -> datetime | None:
    """When the case `ended` (as read before the write that ends it with `outcome`) gets its late payment
    check (`shared.engine.late_payments`): `LATE_PAYMENT_CHECK_DAYS` from now, passed to that write
    (`targets.transition(late_check=...)`); None when it gets none — it ends some other way, or its
    campaign never contacted the customer (a payment then says nothing of collecting)."""
    if ended.contact_count == 0 or outcome not in LATE_CHECKED_OUTCOMES:
        return None
    return clock.now() + timedelta(days=get_settings().late_payment_check_days)


def exhausted_details(campaign: Campaign, label: str) -> str:
    """`outcomeDetails` of a case whose contact budget ran out (`label`: what happened last)."""
    return f"{label} — limite de {campaign.max_contacts} contato(s) atingido sem resolução"


def follow_up(
    target: Target,
    from_states: Collection[TargetState],
    *,
    label: str,
    campaign: Campaign | None = None,
    milestone: str | None = None,
    unless_outcomes: Collection[Outcome] = RESOLVING_OUTCOMES,
    conversing: bool = False,
    quiet: bool = False,
) -> Target | None:
    """The customer engaged without resolving: `pending` `follow_up_after_days` from now (outcome
    `answered`), or `completed/exhausted` when the budget is spent — unless they are `conversing` (a
    WhatsApp message): then the case stays `contacted` (outcome `answered`), awaiting their next
    message until `WHATSAPP_REPLY_HOURS` from now (`Due.QUIET`, `follow_up_from` now). One conditional
    transition from `from_states`, only while the outcome is none of `unless_outcomes` (those that
    resolve the engagement) — and, `quiet` (the conversation went quiet, `went_quiet`), only while the
    case still awaits the message it awaited — which also marks `milestone` (when given); None when the
    case moved on meanwhile or the engagement resolved it (nothing marked). `label` (Portuguese) says
    what the customer did."""
    campaign = campaign or campaigns_data.get_recent(target.campaign_id)
    now = clock.now()
    changes: dict[str, Any]
    if budget_spent(target, campaign) and conversing:
        until = now + timedelta(hours=get_settings().whatsapp_reply_hours)
        local = until.astimezone(timezone_for_phone(target.phone))
        to_state, outcome = TargetState.CONTACTED, Outcome.ANSWERED
        changes = {
            "until": until,
            "awaits": Due.QUIET,
            "follow_up_from": now,
            "outcome_details": f"{label} — contatos da campanha esgotados ({target.contact_count}/"
            f"{campaign.max_contacts}); encerra sem resolução se a conversa parar até {local:%d/%m %H:%M}",
        }
    elif budget_spent(target, campaign):
        to_state, outcome = TargetState.COMPLETED, Outcome.EXHAUSTED
        changes = {
            "outcome_details": exhausted_details(campaign, label),
            "late_check": late_check_at(target, outcome),
        }
    else:
        at = now + timedelta(days=campaign.follow_up_after_days)
        to_state, outcome = TargetState.PENDING, Outcome.ANSWERED
        changes = {
            "next_attempt_at": at,
            "follow_up_from": now,
            "channel_attempts": 0,  # a fresh ladder of unanswered attempts for the follow-up
            "outcome_details": _follow_up_details(label, at, target, campaign),
        }
    try:
        moved = targets_data.transition(
            target.id,
            from_states,
            to_state,
            unless_outcomes=unless_outcomes,
            awaiting=Due.QUIET if quiet else None,
            waiting_since=target.follow_up_from if quiet else None,
            milestone=milestone,
            outcome=outcome,
            **changes,
        )
    except Conflict as exc:
        logger.info("engagement left the case as it is", target_id=target.id, reason=exc.message)
        return None
    metrics.add_metric(name=f"Cadence_{outcome.value}", unit=MetricUnit.Count, value=1)
    logger.info("case follows the cadence", target_id=target.id, state=to_state.value, outcome=outcome.value)
    return moved


# Between what the customer did and the follow-up's date in `outcomeDetails`.
_FOLLOW_UP_FROM: Final = " sem resolver — novo contato a partir de "


def _follow_up_details(label: str, at: datetime, target: Target, campaign: Campaign) -> str:
    local = at.astimezone(timezone_for_phone(target.phone))
    return f"{label}{_FOLLOW_UP_FROM}{local:%d/%m} ({target.contact_count}/{campaign.max_contacts} contatos)"


def went_quiet(target: Target, campaign: Campaign) -> Target | None:
    """The customer's conversation about a case whose contacts are spent went quiet: no message for
    `WHATSAPP_REPLY_HOURS` after their last (`follow_up`, `conversing`). The case follows the cadence
    from there — `exhausted`, or a follow-up if the team raised `maxContacts` meanwhile; None when a
    message meanwhile kept it open, or the case moved on."""
    hours = get_settings().whatsapp_reply_hours
    return follow_up(
        target,
        [TargetState.CONTACTED],
        label=f"Cliente respondeu e a conversa parou por {hours} h",
        campaign=campaign,
        quiet=True,
    )


def await_desk(target: Target) -> None:
    """A person at the desk holds the customer of `target`, handed over while it awaited the customer
    (outcome `transferred`): its next look comes within `HOLD_RETRY`, so a payment she makes meanwhile
    is seen while the hold lasts (reading the CRM contacts nobody). A `contacted` case, off the sweep's
    way, goes on the agenda for upkeep's look (`Due.HOLD`); a follow-up waiting days ahead is due at
    the look instead, where the guards read the CRM and defer it for the hold — the desk's letting go
    dates the follow-up again (`resume_after_desk`). Any other case keeps its place."""
    if target.outcome is not Outcome.TRANSFERRED:
        return
    at = clock.now() + HOLD_RETRY
    if target.state is TargetState.CONTACTED:
        targets_data.hold_until(target.id, at)
    elif _awaits_follow_up_at_desk(target) and target.next_attempt_at > at:
        try:
            targets_data.transition(
                target.id,
                [TargetState.PENDING],
                TargetState.PENDING,
                unless_outcomes=_NOT_HELD,
                next_attempt_at=at,
            )
        except Conflict as exc:
            logger.info("held case left as it is", target_id=target.id, reason=exc.message)


def resume_after_desk(target_id: str) -> Target | None:
    """A person at the desk let go of the customer's conversation (resolved it, or gave it back to the
    assistant) while its case still waited on them — `contacted` with outcome `transferred`, off the
    agenda, or a follow-up (`pending`, contacted before) the hold brought forward (`await_desk`): the
    case follows the cadence again (`follow_up`: the next contact `follow_up_after_days` later, or
    `exhausted`). Anything the desk resolved meanwhile (a promise, a payment, an opt-out) moved the case
    on and stands; None then."""
    try:
        target = targets_data.get(target_id)
    except NotFound:
        return None
    if target.state is not TargetState.CONTACTED and not _awaits_follow_up_at_desk(target):
        return None
    if target.outcome is not Outcome.TRANSFERRED:
        return None
    return follow_up(
        target,
        [target.state],
        label="Atendimento humano encerrado",
        unless_outcomes=_NOT_HELD,
    )


# What a case waiting on the desk must not carry when it is moved: it was resolved meanwhile.
_NOT_HELD: Final = RESOLVING_OUTCOMES - {Outcome.TRANSFERRED}


def _awaits_follow_up_at_desk(target: Target) -> bool:
    """A pending case contacted before: it awaits a follow-up (or a retry) the desk's handoff took over."""
    return target.state is TargetState.PENDING and target.contact_count > 0


def retime_follow_ups(cases: Iterable[Target], campaign: Campaign) -> int:
    """The campaign's `follow_up_after_days` changed: the follow-ups waiting among `cases` (a page of
    the campaign's open cases) are due that many days after their wait began (`follow_up_from`), never
    before now, their `outcomeDetails` saying the new date — a team shortening the cadence reaches the
    customers who engaged sooner, one lengthening it gives them the longer pause. The date is recomputed
    from what the case knows, so a page retimed twice (a job delivered twice) moves nothing twice; a
    follow-up already due and one already on its date are not written. One conditional write per
    follow-up moved: a case taken, resolved or engaged again meanwhile is left as it is. A follow-up
    stored before `follow_up_from` existed keeps its date (warned: `cobranca upgrade` gives it its
    `follow_up_from`; its date alone cannot tell which cadence set it). The number moved."""
    now = clock.now()
    moved, unstarted = 0, 0
    for case in cases:
        if not awaits_follow_up(case):
            continue
        if case.follow_up_from is None:
            unstarted += 1
            continue
        due = case.follow_up_from + timedelta(days=campaign.follow_up_after_days)
        at = max(now, due)
        if at == case.next_attempt_at or (due <= now and case.next_attempt_at <= now):
            continue
        label, moved_from, _ = (case.outcome_details or "").partition(_FOLLOW_UP_FROM)
        details: dict[str, Any] = (
            {"outcome_details": _follow_up_details(label, at, case, campaign)} if moved_from else {}
        )
        try:
            targets_data.transition(
                case.id,
                [TargetState.PENDING],
                TargetState.PENDING,
                unless_outcomes=_NOT_FOLLOW_UPS,
                waiting_since=case.follow_up_from,
                next_attempt_at=at,
                **details,
            )
        except Conflict:
            continue
        moved += 1
    if unstarted:
        logger.warning(
            "follow-ups without follow_up_from keep their date: run cobranca upgrade",
            campaign_id=campaign.id,
            left=unstarted,
        )
    return moved


# The outcomes a pending case waiting for something other than its follow-up carries.
_NOT_FOLLOW_UPS: Final = frozenset(Outcome) - FOLLOW_UP_OUTCOMES

"""Promise lifecycle: registering a promise (with its one-time monitor schedule and, for a campaign
with `trust_unlock`, the ERP's trust unlock), renegotiating it, and settling it with what that does to
the customer's cases. The customer is one person: a pending promise defers every open case of the
document, in every campaign, and settling it decides them all. The rules themselves are
`shared.domain.promise_rules`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters import clients, promise_schedules
from shared.adapters.billing import BillingSystem, UnlockResult
from shared.adapters.crm import Invoice
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import campaigns as campaigns_data
from shared.data import counters
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain import labels
from shared.domain.cadence import GAVE_UP_OUTCOMES
from shared.domain.debts import DebtReading
from shared.domain.documents import normalize_document
from shared.domain.errors import (
    ConfigError,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from shared.domain.ids import new_id
from shared.domain.models import (
    OPEN_TARGET_STATES,
    Outcome,
    PaymentMethod,
    Promise,
    PromiseStatus,
    Target,
    TargetState,
    UnlockStatus,
)
from shared.domain.pages import Page
from shared.domain.promise_rules import (
    deferred_until,
    monitor_check_at,
    validate_promise,
)
from shared.engine import stats
from shared.engine.stats import Milestone

# --------------------------------------------------------------------------------------------------
# Lifecycle (storage): settling a promise and what it does to its target
# --------------------------------------------------------------------------------------------------

SETTLED_FROM: Final = (PromiseStatus.PENDING,)
# The cases a settled promise sends back to the queue: waiting on the customer, or scheduled for the
# deferred attempt at the promise's end (the guard of that very job may be what settled it: moved
# back, the job loses its claim and sends nothing, and the case is contacted as the settlement says).
_WAITING_STATES: Final = (TargetState.PENDING, TargetState.SCHEDULED, TargetState.CONTACTED)


def settle(
    promise: Promise, status: PromiseStatus, *, details: str, reading: DebtReading | None = None
) -> Promise:
    """Move a pending promise to `fulfilled`, `broken` or `renegotiated` (one conditional write;
    `Conflict` if it is no longer pending) and apply the consequence to every open case of the
    customer, in every campaign (`apply_to_cases`); `reading` is the CRM's, when the settling read it."""
    if status is PromiseStatus.PENDING:
        raise ValueError("settle moves a promise out of pending")
    now = clock.now()
    extra: dict[str, object] = {}
    if status is PromiseStatus.FULFILLED:
        extra["fulfilled_at"] = now
    elif status is PromiseStatus.BROKEN:
        extra["broken_at"] = now
    settled = promises_data.transition(promise, SETTLED_FROM, status, next_check_at=None, **extra)
    stats.count_promise(
        promise.campaign_id,
        PromiseStatus.PENDING,
        status,
        amount=promise.amount,
        tz=ZoneInfo(promise.timezone),
        made_at=promise.created_at,
    )
    apply_to_cases(promise.document, status, details, now, reading)
    return settled


def close_given_up_cases(cases: Sequence[Target], details: str, reading: DebtReading, now: datetime) -> int:
    """The cases among `cases` the cadence gave up on (completed `exhausted`, or with their attempts
    spent unanswered: `GAVE_UP_OUTCOMES`) of which the CRM's `reading` (made at `now`) shows nothing
    collectible left: `paid` after all — the customer answered the last notice late, or just paid. One
    conditional transition each, so a case that changed meanwhile is left as it is; how many closed."""
    others = frozenset(Outcome) - GAVE_UP_OUTCOMES
    closed = 0
    for case in cases:
        if case.state is not TargetState.COMPLETED or case.outcome not in GAVE_UP_OUTCOMES:
            continue
        if not reading.settles(case.invoices):
            continue
        try:
            targets_data.transition(
                case.id,
                [TargetState.COMPLETED],
                TargetState.COMPLETED,
                unless_outcomes=others,
                outcome=Outcome.PAID,
                outcome_details=details,
                **_checked(reading, now, case, cases),
            )
        except Conflict as exc:
            logger.info("ended case left as it is", target_id=case.id, reason=exc.message)
            continue
        closed += 1
    return closed


def _checked(
    reading: DebtReading | None, now: datetime, case: Target, cases: Sequence[Target]
) -> dict[str, Any]:
    """The case's changes recording what `reading` (made at `now`; None: no read) says of it
    (`stats.open_fields`; `cases`: the customer's cases in every campaign)."""
    return stats.open_fields(
        case, reading.checked(now, case.invoices) if reading is not None else None, cases
    )


def apply_to_cases(
    document: str, status: PromiseStatus, details: str, now: datetime, reading: DebtReading | None
) -> None:
    """What a settled promise does to the customer's cases (all campaigns).

    Fulfilled: a case of which the CRM (`reading`) shows nothing collectible left is `completed/paid`
    — an open one, or one the cadence gave up on before the customer came back (`close_given_up_cases`);
    any other goes on for what is still open: back to `pending` without an outcome (the kept promise
    resolves nothing more, so the cadence follows the case up and concludes its unanswered attempts
    again), next contact its campaign's `follow_up_after_days` later (without a reading — a
    supervisor's word — the guards ask the CRM then). Broken: every case
    waiting on it returns to the queue now with `promise_broken`. Renegotiated: nothing (the new
    promise defers them). A case in flight or finished meanwhile is left as it is.
    """
    if status is PromiseStatus.RENEGOTIATED:
        return
    cases = targets_data.by_document(document)
    if status is PromiseStatus.FULFILLED and reading is not None:
        close_given_up_cases(cases, details, reading, now)
    for case in cases:
        if case.state not in OPEN_TARGET_STATES:
            continue
        try:
            if status is PromiseStatus.BROKEN:
                targets_data.transition(
                    case.id,
                    _WAITING_STATES,
                    TargetState.PENDING,
                    outcome=Outcome.PROMISE_BROKEN,
                    outcome_details=details,
                    next_attempt_at=now,
                    **_checked(reading, now, case, cases),
                )
            elif reading is not None and reading.settles(case.invoices):
                targets_data.transition(
                    case.id,
                    OPEN_TARGET_STATES,
                    TargetState.COMPLETED,
                    outcome=Outcome.PAID,
                    outcome_details=details,
                    **_checked(reading, now, case, cases),
                )
            else:
                days = campaigns_data.get_recent(case.campaign_id).follow_up_after_days
                targets_data.transition(
                    case.id,
                    _WAITING_STATES,
                    TargetState.PENDING,
                    outcome=None,
                    outcome_details=f"{details}; ainda há faturas em aberto: novo contato em {days} dias",
                    next_attempt_at=now + timedelta(days=days),
                    follow_up_from=now,
                    **_checked(reading, now, case, cases),
                )
        except Conflict as exc:
            # The case moved on meanwhile (in flight, paid, opted out): the promise's fate stands alone.
            logger.info("promise settled; case left as it is", target_id=case.id, reason=exc.message)


def get(promise_id: str) -> Promise:
    """The promise; `NotFound` if there is none."""
    return promises_data.get(promise_id)


def list_page(
    *, status: PromiseStatus | None, document: str | None, limit: int, cursor: str | None
) -> Page[Promise]:
    """One page of promises, optionally of one status and/or one customer's CPF/CNPJ (with or without
    punctuation); pending ones come soonest-due first."""
    normalized = normalize_document(document) if document else None
    return promises_data.list_page(status=status, document=normalized, limit=limit, cursor=cursor)


def supervisor_update(promise_id: str, *, status: PromiseStatus | None, notes: str | None) -> Promise:
    """A supervisor's edit: notes, and/or settling a pending promise by hand."""
    promise = promises_data.get(promise_id)
    if notes is not None:
        promise = promises_data.update(promise_id, notes=notes)
    if status is not None and status is not promise.status:
        if promise.status is not PromiseStatus.PENDING:
            raise Conflict(f"promise {promise_id} is already {promise.status.value}")
        if status is PromiseStatus.PENDING:
            raise Conflict("a settled promise cannot go back to pending; register a new one")
        promise = settle(
            promise, status, details=f"Promessa marcada como {labels.PROMISE_STATUS[status]} pela supervisão"
        )
    return promise


# --------------------------------------------------------------------------------------------------
# Registration: the assistant's `registrar_promessa_pagamento` (both channels) and renegotiation
# --------------------------------------------------------------------------------------------------

_CENTS: Final = Decimal("0.01")
UNLOCK_UNAVAILABLE: Final = (
    "O sistema do provedor não respondeu ao pedido de desbloqueio agora; a internet continua como estava."
)


@counters.batched()
def register(
    *,
    document: str,
    amount: Decimal,
    day: date,
    open_total: Decimal,
    tz: ZoneInfo,
    invoice_numbers: Sequence[str] = (),
    payment_method: PaymentMethod | None = None,
    notes: str | None = None,
    target_id: str | None = None,
    campaign_id: str | None = None,
    conversation_id: str | None = None,
    billing: BillingSystem | None = None,
) -> Promise:
    """Record a promise to pay `amount` by the end of `day` in `tz` and protect the customer.

    The promise is made against `invoice_numbers`, the collectible invoices open now (`open_total`
    between them): it is kept once the CRM shows at least `amount` of them paid. Validates with
    `validate_promise` (`PromiseRejected` with its code; at most `settings.promise_max_days` ahead).
    Then: stores the promise (counted as pending); every other pending promise of the document becomes
    `renegotiated` and loses its schedule (registering again *is* renegotiating; without a `target_id`
    the new promise keeps the replaced one's target); the target (if any) reaches its PROMISED
    milestone; every open case of the document, in every campaign, is deferred to the promise's end
    (`pending/promise_made`, next attempt after `due_at`); and a one-time schedule asks the monitor to
    check the day after, 09:00 in `tz`. A schedule that cannot be created does not undo the promise
    (the customer was told it is registered): it is logged and counted (`PromiseCheckNotScheduled`)
    for an operator, and the promise keeps its `next_check_at` so it can be rescheduled. Last, for a
    campaign with `trust_unlock`, `billing` (the process's billing system by default) is asked to
    restore the customer's suspended contract(s) until the promised day, and its answer is recorded on
    the promise (`unlock_*`); a refused or failed unlock never undoes the promise.
    """
    now = clock.now()
    normalized = normalize_document(document)
    due_at = validate_promise(day, amount, open_total, now, tz, max_days=get_settings().promise_max_days)
    previous = _pending_promises(normalized)
    if target_id is None:
        # A renegotiation (e.g. in an inbound conversation) stays attached to the debt it replaces.
        inherited = next((old for old in reversed(previous) if old.target_id), None)
        if inherited is not None:
            target_id, campaign_id = inherited.target_id, campaign_id or inherited.campaign_id
    cases = targets_data.by_document(normalized)  # the target among them: no read of its own
    target = next((case for case in cases if case.id == target_id), None)
    if target is None and target_id:
        target = targets_data.get(target_id)  # another document's, or not indexed yet
    if target is not None:
        if target.document != normalized:
            raise InvalidInput("the promise's document is not its target's", code="document_mismatch")
        campaign_id = campaign_id or target.campaign_id
    first_check = monitor_check_at(day, tz)
    promise = promises_data.create(
        Promise(
            id=new_id(),
            document=normalized,
            amount=amount.quantize(_CENTS),
            open_amount=open_total.quantize(_CENTS),
            invoice_numbers=list(invoice_numbers),
            due_date=day,
            due_at=due_at,
            timezone=tz.key,
            payment_method=payment_method,
            notes=notes,
            target_id=target_id,
            campaign_id=campaign_id,
            conversation_id=conversation_id,
            replaces_id=previous[-1].id if previous else None,
            next_check_at=first_check,
            created_at=now,
            updated_at=now,
        )
    )
    stats.count_promise(campaign_id, None, PromiseStatus.PENDING, amount=promise.amount, tz=tz)
    for old in previous:
        _renegotiate(old, promise)
    deferred = _defer_cases(promise, cases, milestone_of=target.id if target is not None else None)
    if target is not None and target.id not in deferred:
        stats.record_milestone(target.id, Milestone.PROMISED)
    try:
        promise_schedules.get_scheduler().schedule_check(promise, first_check)
    except (ServiceUnavailable, ConfigError) as exc:
        logger.error(
            "promise registered but its check is not scheduled",
            promise_id=promise.id,
            check_at=first_check.isoformat(),
            reason=exc.message,
        )
        metrics.add_metric(name="PromiseCheckNotScheduled", unit=MetricUnit.Count, value=1)
    logger.info(
        "promise registered",
        promise_id=promise.id,
        target_id=target_id,
        due_date=day.isoformat(),
        replaces=[old.id for old in previous],
    )
    return _trust_unlock(promise, billing)


def register_for_case(
    reading: DebtReading[Invoice],
    *,
    document: str,
    amount: Decimal,
    day: date,
    tz: ZoneInfo,
    target: Target | None,
    conversation_id: str,
    payment_method: PaymentMethod | None = None,
    notes: str | None = None,
    billing: BillingSystem | None = None,
) -> Promise:
    """A promise made in a conversation (the assistant's `registrar_promessa_pagamento`, on WhatsApp or
    a call, or a person at the desk), against what the CRM reads open now for `document` (`reading`:
    its collectible invoices and their total) and for the conversation's case `target`, if any
    (`register`). `NotFound` (`customer_not_found`) when the CRM does not know the customer, `Conflict`
    (`nothing_open`) when nothing collectible is open; `PromiseRejected` as `register`."""
    reading = reading.owing()
    return register(
        document=document,
        amount=amount,
        day=day,
        open_total=reading.total,
        tz=tz,
        invoice_numbers=sorted(reading.open_numbers()),
        payment_method=payment_method,
        notes=notes,
        target_id=target.id if target else None,
        campaign_id=target.campaign_id if target else None,
        conversation_id=conversation_id,
        billing=billing,
    )


def _trust_unlock(promise: Promise, billing: BillingSystem | None) -> Promise:
    """Ask the billing system for the trust unlock a campaign with `trust_unlock` offers, and record
    its answer on the promise. The adapter picks the customer's suspended contract(s); an unknown
    answer (ERP down, not configured) is recorded as `unavailable`."""
    if promise.campaign_id is None:
        return promise
    try:
        campaign = campaigns_data.get_recent(promise.campaign_id)
    except NotFound:
        return promise
    if not campaign.trust_unlock:
        return promise
    try:
        result = (billing or clients.crm()).trust_unlock(promise.document, None, until=promise.due_date)
    except DomainError as exc:
        logger.warning("trust unlock not done", promise_id=promise.id, reason=exc.message)
        result = UnlockResult(UnlockStatus.UNAVAILABLE, reason=UNLOCK_UNAVAILABLE)
    logger.info("trust unlock asked", promise_id=promise.id, status=result.status.value, code=result.code)
    metrics.add_metric(name=f"TrustUnlock{result.status.value.title()}", unit=MetricUnit.Count, value=1)
    return promises_data.update(
        promise.id,
        unlock_status=result.status,
        unlock_until=result.until,
        unlock_code=result.code,
        unlock_reason=result.reason,
    )


def _pending_promises(document: str) -> list[Promise]:
    """Every pending promise of the document, overdue ones included (oldest due first)."""
    found: list[Promise] = []
    cursor: str | None = None
    while True:
        page = promises_data.list_page(status=PromiseStatus.PENDING, document=document, cursor=cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _renegotiate(old: Promise, new: Promise) -> None:
    try:
        settle(old, PromiseStatus.RENEGOTIATED, details=f"renegociada pela promessa {new.id}")
    except Conflict as exc:  # settled meanwhile (the monitor, a supervisor): nothing to replace
        logger.info("previous promise already settled", promise_id=old.id, reason=exc.message)
        return
    cancel_checks(old)


def _defer_cases(promise: Promise, cases: list[Target], *, milestone_of: str | None) -> set[str]:
    """Every open case of `cases` (the document's, read before the promise was stored) to `pending`
    until the promise's end; the transitions are conditional, so a case that moved on is left as is.
    The transition of the case `milestone_of` also marks its PROMISED milestone. Returns the ids of the
    cases deferred."""
    details = f"Promessa registrada até {promise.due_date:%d/%m/%Y}"
    deferred: set[str] = set()
    for case in cases:
        if case.state not in OPEN_TARGET_STATES:
            continue
        try:
            targets_data.transition(
                case.id,
                OPEN_TARGET_STATES,
                TargetState.PENDING,
                milestone=Milestone.PROMISED.value if case.id == milestone_of else None,
                outcome=Outcome.PROMISE_MADE,
                outcome_details=details,
                next_attempt_at=deferred_until(promise.due_at),
            )
        except Conflict as exc:
            # Completed meanwhile (paid, opted out): the promise stands on its own.
            logger.info("promise registered; case left as it is", target_id=case.id, reason=exc.message)
            continue
        deferred.add(case.id)
    return deferred


def cancel_checks(promise: Promise) -> None:
    """Best effort: a check that still fires finds the promise settled and does nothing."""
    try:
        promise_schedules.get_scheduler().cancel_for(promise)
    except (ServiceUnavailable, ConfigError) as exc:
        logger.warning("promise checks not cancelled", promise_id=promise.id, reason=exc.message)

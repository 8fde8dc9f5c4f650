"""Payment promises (SPEC §4, "Promises"): the pure rules.

A promise is due at the end of the promised day (23:59:59.999) in the customer's zone, must be in the
future and at most `max_days` ahead, for an amount above zero and not above the open total. The
monitor first checks the day after, then daily; a promise still open 7 days after its due date is
broken. Registering a promise (storage, scheduling) builds on these rules and lives further down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from shared import clock, schedules, stats
from shared.config import get_settings
from shared.crm import CrmClient, CrmUnavailable
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.documents import normalize_document
from shared.errors import ConfigError, Conflict, InvalidInput, NotFound, ServiceUnavailable
from shared.ids import new_id
from shared.models import Outcome, PaymentMethod, Promise, PromiseStatus, Target, TargetState
from shared.observability import logger, metrics
from shared.stats import Milestone

BROKEN_AFTER_DAYS: int = 7
DEFAULT_MAX_DAYS: Final = 30
MONITOR_CHECK_TIME: Final = time(9, 0)
# Millisecond precision on purpose: DynamoDB items and JSON carry milliseconds, so a due_at that
# round-trips through storage compares equal to the one computed here.
_END_OF_DAY: Final = time(23, 59, 59, 999000)
# A "DD/MM" date may name a 29 February up to 8 years away (e.g. across 2100, not a leap year).
_LEAP_SEARCH_YEARS: Final = 9


class PromiseRejected(InvalidInput):
    """A promise that breaks a rule. Instances carry the precise reason in `code`:
    "invalid_date", "date_in_past", "date_too_far", "invalid_amount" or "amount_above_total"."""

    code = "promise_rejected"


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------

_DAY_MONTH_YEAR = re.compile(r"(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4}|\d{2})")
_DAY_MONTH = re.compile(r"(?P<day>\d{1,2})/(?P<month>\d{1,2})")
_ISO = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")


def parse_promise_date(raw: str, today: date) -> date:
    """Parse a promised day as customers and the assistant write it.

    Accepts "DD/MM/YYYY", "D/M/YYYY", "DD/MM/YY" (20YY), "DD/MM" (its next occurrence on or after
    `today`) and "YYYY-MM-DD". Raises `PromiseRejected` with code "invalid_date" for anything else,
    including days that do not exist ("31/02/2026"). Whether the day is acceptable is
    `validate_promise`'s job, not this function's.
    """
    text = raw.strip()
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        year = int(match["year"])
        if len(match["year"]) == 2:
            year += 2000  # promises are about the next weeks: "26" can only mean 2026
        return _calendar_date(year, int(match["month"]), int(match["day"]), raw)
    if match := _ISO.fullmatch(text):
        return _calendar_date(int(match["year"]), int(match["month"]), int(match["day"]), raw)
    if match := _DAY_MONTH.fullmatch(text):
        return _next_occurrence(int(match["month"]), int(match["day"]), today, raw)
    raise PromiseRejected(
        f"invalid promise date {raw!r}: expected DD/MM/YYYY, DD/MM/YY, DD/MM or YYYY-MM-DD",
        code="invalid_date",
    )


def _calendar_date(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise PromiseRejected(
            f"invalid promise date {raw!r}: {year:04d}-{month:02d}-{day:02d} does not exist",
            code="invalid_date",
        ) from exc


def _next_occurrence(month: int, day: int, today: date, raw: str) -> date:
    for year in range(today.year, today.year + _LEAP_SEARCH_YEARS):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # 29/02 outside a leap year: try the next one
        if candidate >= today:
            return candidate
    raise PromiseRejected(
        f"invalid promise date {raw!r}: day {day:02d}/{month:02d} does not exist", code="invalid_date"
    )


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last millisecond of `day` on the wall clock of `tz`: 23:59:59.999 (aware)."""
    return datetime.combine(day, _END_OF_DAY, tzinfo=tz)


def validate_promise(
    day: date,
    amount: Decimal,
    open_total: Decimal,
    now: datetime,
    tz: ZoneInfo,
    max_days: int = DEFAULT_MAX_DAYS,
) -> datetime:
    """Check a promise to pay `amount` by `day` and return its `due_at` (end of `day` in `tz`).

    Rules: the due instant is after `now` (so today is fine until its end); `day` is at most
    `max_days` after today in `tz`; `amount` has at most two decimal places, is above zero and is not
    above `open_total`. Raises `PromiseRejected` with the failing rule's code otherwise.
    """
    _require_aware(now, "now")
    if max_days < 0:
        raise ValueError(f"max_days must be >= 0, got {max_days}")
    today = now.astimezone(tz).date()
    due_at = end_of_day(day, tz)
    if due_at <= now:
        raise PromiseRejected(
            f"promise date {day.isoformat()} is in the past: today is {today.isoformat()} in {tz.key}",
            code="date_in_past",
        )
    latest = today + timedelta(days=max_days)
    if day > latest:
        raise PromiseRejected(
            f"promise date {day.isoformat()} is more than {max_days} days ahead: "
            f"the latest allowed is {latest.isoformat()}",
            code="date_too_far",
        )
    if not amount.is_finite() or amount <= 0:
        raise PromiseRejected(f"promise amount must be above 0, got {amount}", code="invalid_amount")
    if _decimal_places(amount) > 2:
        raise PromiseRejected(
            f"promise amount {amount} has more than two decimal places", code="invalid_amount"
        )
    if amount > open_total:
        raise PromiseRejected(
            f"promise amount {amount} is above the open total {open_total}", code="amount_above_total"
        )
    return due_at


def _decimal_places(amount: Decimal) -> int:
    # Normalised so "150.000" counts as 150 (0 places); avoids quantize, which overflows on huge values.
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked by the caller
    return max(0, -exponent)


# --------------------------------------------------------------------------------------------------
# Monitoring
# --------------------------------------------------------------------------------------------------


def monitor_check_at(day: date, tz: ZoneInfo) -> datetime:
    """When the monitor first asks the CRM about a promise for `day`: the next day, 09:00 in `tz`."""
    return datetime.combine(day + timedelta(days=1), MONITOR_CHECK_TIME, tzinfo=tz)


def is_broken(due_at: datetime, now: datetime) -> bool:
    """Whether a promise still open at `now` is broken: more than 7 days past its `due_at`."""
    _require_aware(due_at, "due_at")
    _require_aware(now, "now")
    return now > due_at + timedelta(days=BROKEN_AFTER_DAYS)


def _require_aware(at: datetime, name: str) -> None:
    # A naive instant is a programming error, not customer input: fail loudly rather than guess a zone.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")


# --------------------------------------------------------------------------------------------------
# Lifecycle (storage): settling a promise and what it does to its target
# --------------------------------------------------------------------------------------------------

SETTLED_FROM: Final = (PromiseStatus.PENDING,)
_OPEN_TARGET_STATES: Final = (
    TargetState.PENDING,
    TargetState.SCHEDULED,
    TargetState.CALLING,
    TargetState.CONTACTED,
)


def settle(promise: Promise, status: PromiseStatus, *, details: str) -> Promise:
    """Move a pending promise to `fulfilled`, `broken` or `renegotiated` (one conditional write;
    `Conflict` if it is no longer pending) and apply the consequence to its target:
    fulfilled → target `completed/paid`; broken → target back to `pending` with `promise_broken`."""
    if status is PromiseStatus.PENDING:
        raise ValueError("settle moves a promise out of pending")
    now = clock.now()
    extra: dict[str, object] = {}
    if status is PromiseStatus.FULFILLED:
        extra["fulfilled_at"] = now
    elif status is PromiseStatus.BROKEN:
        extra["broken_at"] = now
    settled = promises_data.transition(promise.id, SETTLED_FROM, status, next_check_at=None, **extra)
    stats.count_promise(promise.campaign_id, PromiseStatus.PENDING, status)
    if promise.target_id:
        _apply_to_target(promise.target_id, status, details, now)
    return settled


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
        promise = settle(promise, status, details=f"promessa marcada como {status.value} pela supervisão")
    return promise


def _apply_to_target(target_id: str, status: PromiseStatus, details: str, now: datetime) -> None:
    try:
        if status is PromiseStatus.FULFILLED:
            targets_data.transition(
                target_id,
                _OPEN_TARGET_STATES,
                TargetState.COMPLETED,
                outcome=Outcome.PAID,
                outcome_details=details,
            )
        elif status is PromiseStatus.BROKEN:
            targets_data.transition(
                target_id,
                (TargetState.CONTACTED,),
                TargetState.PENDING,
                outcome=Outcome.PROMISE_BROKEN,
                outcome_details=details,
                next_attempt_at=now,
            )
    except Conflict as exc:
        # The target moved on meanwhile (paid, opted out, completed): the promise's fate stands alone.
        logger.info("promise settled; target left as it is", target_id=target_id, reason=exc.message)


# --------------------------------------------------------------------------------------------------
# Registration: the assistant's `registrar_promessa_pagamento` (both channels) and renegotiation
# --------------------------------------------------------------------------------------------------

_CENTS: Final = Decimal("0.01")


def register(
    *,
    document: str,
    amount: Decimal,
    day: date,
    open_total: Decimal,
    tz: ZoneInfo,
    payment_method: PaymentMethod | None = None,
    notes: str | None = None,
    target_id: str | None = None,
    campaign_id: str | None = None,
    conversation_id: str | None = None,
) -> Promise:
    """Record a promise to pay `amount` by the end of `day` in `tz` and protect the customer.

    Validates with `validate_promise` (`PromiseRejected` with its code; at most
    `settings.promise_max_days` ahead). Then: stores the promise (counted as pending); every other
    pending promise of the document becomes `renegotiated` and loses its schedule (registering again
    *is* renegotiating; without a `target_id` the new promise keeps the replaced one's target); the
    target (if any, in any open state) becomes `contacted/promise_made` and reaches its PROMISED
    milestone; and a one-time schedule asks the monitor to check the day after, 09:00 in `tz`. A schedule that cannot be created does not undo the promise (the customer was told
    it is registered): it is logged and counted (`PromiseCheckNotScheduled`) for an operator, and the
    promise keeps its `next_check_at` so it can be rescheduled.
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
    target = targets_data.get(target_id) if target_id else None
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
    stats.count_promise(campaign_id, None, PromiseStatus.PENDING)
    for old in previous:
        _renegotiate(old, promise)
    if target is not None:
        _protect_target(target, promise)
    try:
        schedules.get_scheduler().schedule_check(promise, first_check)
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
    return promise


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
    _cancel_checks(old)


def _protect_target(target: Target, promise: Promise) -> None:
    stats.record_milestone(target.id, target.campaign_id, Milestone.PROMISED)
    try:
        targets_data.transition(
            target.id,
            _OPEN_TARGET_STATES,
            TargetState.CONTACTED,
            outcome=Outcome.PROMISE_MADE,
            outcome_details=f"Promessa registrada até {promise.due_date:%d/%m/%Y}",
        )
    except Conflict as exc:
        # Completed meanwhile (paid, opted out): the promise stands on its own.
        logger.info("promise registered; target left as it is", target_id=target.id, reason=exc.message)


def _cancel_checks(promise: Promise) -> None:
    """Best effort: a check that still fires finds the promise settled and does nothing."""
    try:
        schedules.get_scheduler().cancel_for(promise)
    except (ServiceUnavailable, ConfigError) as exc:
        logger.warning("promise checks not cancelled", promise_id=promise.id, reason=exc.message)


# --------------------------------------------------------------------------------------------------
# Monitoring: one check, fired by the promise's one-time schedule (functions/promise_monitor)
# --------------------------------------------------------------------------------------------------

CRM_RETRY_AFTER: Final = timedelta(hours=1)


class CheckResult(StrEnum):
    SKIPPED = "skipped"  # no longer pending (settled, renegotiated) or unknown: nothing to do
    FULFILLED = "fulfilled"  # the CRM shows nothing collectible open
    BROKEN = "broken"  # still open more than 7 days after the due date
    RECHECK = "recheck"  # still open: checked again tomorrow 09:00
    CRM_UNAVAILABLE = "crm_unavailable"  # unknown answer: nothing settled, checked again soon


@dataclass(frozen=True)
class PromiseCheckOutcome:
    result: CheckResult
    promise: Promise | None = None
    next_check_at: datetime | None = None


def next_monitor_check(due_date: date, tz: ZoneInfo, now: datetime) -> datetime:
    """The next daily check after one at `now`: tomorrow 09:00 in `tz`, never before the first check
    (the day after `due_date`)."""
    _require_aware(now, "now")
    tomorrow = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), MONITOR_CHECK_TIME, tzinfo=tz)
    return max(tomorrow, monitor_check_at(due_date, tz))


def check(promise_id: str, crm: CrmClient) -> PromiseCheckOutcome:
    """Ask the CRM about a pending promise and act on the answer.

    Nothing collectible open → `fulfilled` (target `completed/paid`); still open (or a customer the CRM
    does not know: not a confirmation of payment) and more than 7 days overdue → `broken` (target back
    to `pending/promise_broken`); still open otherwise → the next daily check is scheduled. The CRM
    unreachable or answering garbage settles nothing: a check an hour later is scheduled. A promise no
    longer pending is left alone, so a repeated check is harmless. Raises `ScheduleUnavailable` (or
    `ConfigError`) when the next check cannot be scheduled, so the message is delivered again.
    """
    try:
        promise = promises_data.get(promise_id)
    except NotFound:
        logger.warning("check for an unknown promise ignored", promise_id=promise_id)
        _record_check(CheckResult.SKIPPED)
        return PromiseCheckOutcome(CheckResult.SKIPPED)
    if promise.status is not PromiseStatus.PENDING:
        logger.info("promise already settled", promise_id=promise_id, status=promise.status.value)
        _record_check(CheckResult.SKIPPED)
        return PromiseCheckOutcome(CheckResult.SKIPPED, promise)
    now = clock.now()
    tz = ZoneInfo(promise.timezone)
    try:
        debt = crm.consult(promise.document)
    except CrmUnavailable as exc:
        retry_at = (now + CRM_RETRY_AFTER).replace(second=0, microsecond=0)
        logger.warning("CRM unavailable for a promise check", promise_id=promise_id, reason=exc.message)
        _record_check(CheckResult.CRM_UNAVAILABLE)
        return PromiseCheckOutcome(CheckResult.CRM_UNAVAILABLE, _schedule_next(promise, retry_at), retry_at)
    today = now.astimezone(tz).date()
    if debt is not None and not debt.has_open(today):
        return _settle_check(
            promise, CheckResult.FULFILLED, f"Pagamento confirmado pelo CRM em {today:%d/%m/%Y}"
        )
    if debt is None:
        logger.warning("CRM does not know a promise's customer", promise_id=promise_id)
    if is_broken(promise.due_at, now):
        late = (now - promise.due_at).days
        details = f"Promessa para {promise.due_date:%d/%m/%Y} não cumprida ({late} dias de atraso)"
        return _settle_check(promise, CheckResult.BROKEN, details)
    at = next_monitor_check(promise.due_date, tz, now)
    _record_check(CheckResult.RECHECK)
    return PromiseCheckOutcome(CheckResult.RECHECK, _schedule_next(promise, at), at)


def _settle_check(promise: Promise, result: CheckResult, details: str) -> PromiseCheckOutcome:
    status = PromiseStatus.FULFILLED if result is CheckResult.FULFILLED else PromiseStatus.BROKEN
    try:
        settled = settle(promise, status, details=details)
    except Conflict as exc:  # settled meanwhile by a supervisor or a parallel check
        logger.info("promise settled meanwhile", promise_id=promise.id, reason=exc.message)
        _record_check(CheckResult.SKIPPED)
        return PromiseCheckOutcome(CheckResult.SKIPPED, promise)
    _cancel_checks(promise)  # the settled copy no longer names its next check
    _record_check(result)
    logger.info("promise settled by the monitor", promise_id=promise.id, status=status.value)
    return PromiseCheckOutcome(result, settled)


def _schedule_next(promise: Promise, at: datetime) -> Promise:
    schedules.get_scheduler().schedule_check(promise, at)
    return promises_data.update(promise.id, next_check_at=at)


def _record_check(result: CheckResult) -> None:
    metrics.add_metric(name=f"PromiseCheck_{result.value}", unit=MetricUnit.Count, value=1)

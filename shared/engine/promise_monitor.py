"""The promise monitor: one check, fired by a promise's one-time schedule (functions/promise_monitor),
asks the CRM and settles the promise or schedules the next check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters import promise_schedules
from shared.adapters.crm import CrmClient, CrmUnavailable
from shared.core import clock
from shared.core.observability import logger, metrics
from shared.data import counters
from shared.data import promises as promises_data
from shared.domain.debts import DebtKind, DebtReading, read_debt
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Promise, PromiseStatus
from shared.domain.promise_rules import is_broken, is_kept, next_monitor_check
from shared.engine.promises import cancel_checks, settle

# --------------------------------------------------------------------------------------------------
# Monitoring: one check, fired by the promise's one-time schedule (functions/promise_monitor)
# --------------------------------------------------------------------------------------------------

CRM_RETRY_AFTER: Final = timedelta(hours=1)


class CheckResult(StrEnum):
    SKIPPED = "skipped"  # no longer pending (settled, renegotiated) or unknown: nothing to do
    FULFILLED = "fulfilled"  # the CRM shows the promised amount of the promise's invoices paid
    BROKEN = "broken"  # still open more than 7 days after the due date
    RECHECK = "recheck"  # still open: checked again tomorrow 09:00
    CRM_UNAVAILABLE = "crm_unavailable"  # unknown answer: nothing settled, checked again soon


@dataclass(frozen=True)
class PromiseCheckOutcome:
    result: CheckResult
    promise: Promise | None = None
    next_check_at: datetime | None = None


@counters.batched()
def check(promise_id: str, crm: CrmClient) -> PromiseCheckOutcome:
    """Ask the CRM about a pending promise and act on the answer.

    Kept (`promise_rules.is_kept` on the CRM's reading: at least the promised amount of its invoices
    paid) → `fulfilled`: the customer's cases with nothing collectible left are `completed/paid`, the
    others go on for what is still open. Not kept (or a customer the CRM does not know: not a
    confirmation of payment) and more than 7 days overdue → `broken`: every case of the customer back
    to `pending/promise_broken`; not kept otherwise → the next daily check is scheduled. The CRM
    unreachable or answering garbage settles nothing: a check an hour later is scheduled. A promise no
    longer pending is left alone, so a repeated check is harmless. Raises `ScheduleUnavailable` (or
    `ConfigError`) when the next check cannot be scheduled, so the message is delivered again.
    """
    try:
        # Eventually consistent (half the units): a check comes hours after the promise was written,
        # and settling it is conditional on its status, so a moment-stale copy can only lose the race.
        promise = promises_data.get(promise_id, consistent=False)
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
    reading = read_debt(debt, today)
    if is_kept(promise, reading):
        details = f"Pagamento confirmado pelo CRM em {today:%d/%m/%Y}"
        return _settle_check(promise, CheckResult.FULFILLED, details, reading)
    if reading.kind is DebtKind.UNKNOWN_CUSTOMER:
        logger.warning("CRM does not know a promise's customer", promise_id=promise_id)
    if is_broken(promise.due_at, now):
        late = (now - promise.due_at).days
        details = f"Promessa para {promise.due_date:%d/%m/%Y} não cumprida ({late} dias de atraso)"
        return _settle_check(promise, CheckResult.BROKEN, details, reading)
    at = next_monitor_check(promise.due_date, tz, now)
    _record_check(CheckResult.RECHECK)
    return PromiseCheckOutcome(CheckResult.RECHECK, _schedule_next(promise, at), at)


def _settle_check(
    promise: Promise, result: CheckResult, details: str, reading: DebtReading
) -> PromiseCheckOutcome:
    status = PromiseStatus.FULFILLED if result is CheckResult.FULFILLED else PromiseStatus.BROKEN
    try:
        settled = settle(promise, status, details=details, reading=reading)
    except Conflict as exc:  # settled meanwhile by a supervisor or a parallel check
        logger.info("promise settled meanwhile", promise_id=promise.id, reason=exc.message)
        _record_check(CheckResult.SKIPPED)
        return PromiseCheckOutcome(CheckResult.SKIPPED, promise)
    cancel_checks(promise)  # the settled copy no longer names its next check
    _record_check(result)
    logger.info("promise settled by the monitor", promise_id=promise.id, status=status.value)
    return PromiseCheckOutcome(result, settled)


def _schedule_next(promise: Promise, at: datetime) -> Promise:
    promise_schedules.get_scheduler().schedule_check(promise, at)
    return promises_data.update(promise.id, next_check_at=at)


def _record_check(result: CheckResult) -> None:
    metrics.add_metric(name=f"PromiseCheck_{result.value}", unit=MetricUnit.Count, value=1)

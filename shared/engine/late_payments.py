"""Late payment checks: the payment attribution window. A customer often pays at the bank days after
the last message, when nothing reads the CRM about their case any more: so a case whose customer was
contacted and that ended unresolved — the cadence gave up on it (`exhausted`, or its attempts spent
unanswered) or the customer opted out (`LATE_CHECKED_OUTCOMES`) — has the CRM read once more
`LATE_PAYMENT_CHECK_DAYS` after it ended, and what it shows paid then is money the collection recovered.

The write that ends the case puts it on its campaign's agenda for then (`shared.engine.cadence.
late_check_at`, passed as `targets.transition(late_check=...)`: no write of its own); upkeep's cron tick
reads the checks due (`run_due`, never the campaign's other cases) of every campaign that may still have
one (`campaigns_to_check`): active, paused (a pause stops contacts, and a check contacts nobody), or
completed no longer ago than a check and its retries — a campaign completes when its cases do, pending
checks never hold it back.

At the check, the CRM's answer is read as every caller reads it (`debts.read_debt`):
- none of the case's invoices listed open any more → the case is `paid` (`promises.close_given_up_cases`:
  its money recovered on the customer's local day, the paid count and the conversion follow); an
  opted-out case keeps `opted_out` (the customer's wish stands) and its money counts recovered;
- more of its debt paid than the case had seen → its `paidAmount` grows (recovered), the outcome stays;
- still owing, or a customer the CRM does not know (404: never a payment) → nothing is counted;
- the CRM unreachable → checked again `CRM_RETRY` later, until `RETRY_FOR` after the check was due,
  then given up (never counted paid).
Each check ends with one conditional write of the case, which takes it off the agenda (a case that
moved on meanwhile is left as it is). Nothing is ever sent to the customer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters import clients
from shared.adapters.crm import CrmClient, CrmUnavailable
from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.data.targets import Ended
from shared.domain.cadence import GAVE_UP_OUTCOMES, LATE_CHECKED_OUTCOMES
from shared.domain.debts import read_debt
from shared.domain.errors import Conflict
from shared.domain.models import Campaign, CampaignStatus, Outcome, Target, TargetState
from shared.domain.phones import timezone_for_phone
from shared.engine import promises, stats

# CRM reads per campaign and tick: more checks due wait for the next tick, so a tick stays short.
PER_TICK: Final = 50
CRM_RETRY: Final = timedelta(hours=1)
RETRY_FOR: Final = timedelta(days=2)
PAID_LATE: Final = "Pagamento identificado após o encerramento do contato"
# A case whose outcome left these meanwhile moved on (paid, reopened, corrected): no check touches it.
_NOT_CHECKED: Final = frozenset(Outcome) - LATE_CHECKED_OUTCOMES


class LateResult(StrEnum):
    PAID = "paid"  # none of its debt listed open any more: the case is paid
    PARTLY_PAID = "partly_paid"  # more of its debt seen paid: booked recovered, the outcome stays
    NOTHING_PAID = "nothing_paid"  # still owing, unknown to the CRM, or an opted-out case seen paid as before
    RETRY = "retry"  # the CRM did not answer: checked again later
    GIVEN_UP = "given_up"  # the CRM did not answer for `RETRY_FOR`: no more checks
    MOVED = "moved"  # the case moved on meanwhile: left as it is


def campaigns_to_check(active: Iterable[Campaign], now: datetime) -> Iterator[Campaign]:
    """The campaigns whose late payment checks may be due: the `active` ones, every paused one, and the
    completed ones whose last case ended no longer ago than a check and its retries (the last one
    `CRM_RETRY` after `RETRY_FOR`)."""
    yield from active
    horizon = now - timedelta(days=get_settings().late_payment_check_days) - RETRY_FOR - CRM_RETRY
    for status in (CampaignStatus.PAUSED, CampaignStatus.COMPLETED):
        cursor: str | None = None
        while True:
            page = campaigns_data.list_by_status(status, cursor=cursor)
            yield from (
                campaign
                for campaign in page.items
                if status is CampaignStatus.PAUSED
                or (campaign.completed_at is not None and campaign.completed_at >= horizon)
            )
            if page.next_cursor is None:
                break
            cursor = page.next_cursor


def run_due(campaign: Campaign, now: datetime) -> Counter[LateResult]:
    """The campaign's late payment checks due by `now` (at most `PER_TICK`), what each found. A CRM that
    does not answer leaves the rest for the next tick."""
    results: Counter[LateResult] = Counter()
    due = targets_data.late_checks_due(campaign.id, now, PER_TICK)
    if not due:
        return results  # without asking for the CRM's client
    crm = clients.crm()
    for item in due:
        result = check(item, now, crm)
        results[result] += 1
        metrics.add_metric(name=f"LatePaymentCheck_{result.value}", unit=MetricUnit.Count, value=1)
        if result in (LateResult.RETRY, LateResult.GIVEN_UP):
            break
    return results


def check(item: Ended, now: datetime, crm: CrmClient) -> LateResult:
    """Read the CRM about one ended case whose late payment check is due, and record what it shows (see
    the module docstring)."""
    case = item.target
    if case.outcome not in LATE_CHECKED_OUTCOMES:  # a supervisor corrected it meanwhile: their word stands
        targets_data.drop_late_check(case.id)
        return LateResult.MOVED
    try:
        debt = crm.consult(case.document)
    except CrmUnavailable as exc:
        return _retry(item, now, exc.message)
    today = now.astimezone(timezone_for_phone(case.phone)).date()
    reading = read_debt(debt, today)
    checked = reading.checked(now, case.invoices)
    # Paid: the CRM lists none of its debt any more — not merely time-barred since the case ended.
    if case.outcome in GAVE_UP_OUTCOMES and checked is not None and checked.paid >= case.debt_amount:
        details = f"{PAID_LATE} (verificado no CRM em {today:%d/%m/%Y})"
        closed = promises.close_given_up_cases([case], details, reading, now)
        logger.info("late payment check: paid", target_id=case.id, closed=closed)
        return LateResult.PAID if closed else LateResult.MOVED
    if checked is None:
        logger.warning("late payment check: the CRM does not know the customer", target_id=case.id)
    fields = stats.open_fields(case, checked)
    moved = _leave(case, **fields)
    if moved is None:
        return LateResult.MOVED
    if (moved.paid_amount or 0) > (case.paid_amount or 0):
        logger.info("late payment check: partly paid", target_id=case.id)
        return LateResult.PARTLY_PAID
    return LateResult.NOTHING_PAID


def _retry(item: Ended, now: datetime, reason: str) -> LateResult:
    """The CRM did not answer: the check again `CRM_RETRY` later, or none after `RETRY_FOR` past the
    time it was due (or when the case's end is not known)."""
    days = timedelta(days=get_settings().late_payment_check_days)
    if item.ended_at is not None and now < item.ended_at + days + RETRY_FOR:
        logger.warning("late payment check: CRM unavailable, later", target_id=item.target.id, reason=reason)
        return LateResult.RETRY if _leave(item.target, late_check=now + CRM_RETRY) else LateResult.MOVED
    logger.warning("late payment check given up: CRM unavailable", target_id=item.target.id, reason=reason)
    return LateResult.GIVEN_UP if _leave(item.target) else LateResult.MOVED


def _leave(case: Target, *, late_check: datetime | None = None, **fields: Any) -> Target | None:
    """The ended case with `fields`, off the agenda (or on it again at `late_check`): one conditional
    transition, only while it is still completed with an outcome late checks are for; None when it
    moved on meanwhile."""
    try:
        return targets_data.transition(
            case.id,
            [TargetState.COMPLETED],
            TargetState.COMPLETED,
            unless_outcomes=_NOT_CHECKED,
            late_check=late_check,
            **fields,
        )
    except Conflict as exc:
        logger.info("late payment check: case left as it is", target_id=case.id, reason=exc.message)
        return None

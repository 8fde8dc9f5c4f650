"""Payment claims (SPEC §4): "I already paid" is verified with the CRM, never taken on the word alone.

Nothing collectible open → the target is `completed/paid` (and a pending promise of the document is
fulfilled). Still open → the claim is recorded as `payment_claimed`: the target goes back to
`pending`, due only in `CLAIM_QUIET_DAYS` days, so nobody contacts the customer meanwhile and the
scheduler's CRM guard verifies again then. A CRM that cannot answer raises `CrmUnavailable` and
changes nothing (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from shared.adapters.crm import CrmClient
from shared.core import clock
from shared.core.observability import logger
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.errors import Conflict
from shared.domain.models import OPEN_TARGET_STATES, Outcome, PromiseStatus, TargetState
from shared.engine import promises as promise_rules

CLAIM_QUIET_DAYS: Final = 3


class ClaimResult(StrEnum):
    """What the CRM said about a claimed payment."""

    PAID = "paid"  # the CRM shows nothing open: confirmed
    NOT_YET_VISIBLE = "payment_claimed"  # still open in the CRM: recorded, re-verified later


@dataclass(frozen=True, slots=True)
class ClaimVerification:
    """The verification's result, what is still open, and when it is checked again."""

    result: ClaimResult
    open_total: Decimal  # what the CRM still shows open (0 when paid)
    recheck_at: datetime | None  # when the claim is verified again (not-yet-visible only)


def verify_claim(
    document: str,
    *,
    crm: CrmClient,
    today: date,
    target_id: str | None = None,
    notes: str | None = None,
) -> ClaimVerification:
    """Verify a customer's "I already paid" for `document` with the CRM and record the result on the
    target (if any). `today` is the customer's local date (time-barred invoices are not counted).

    Raises `CrmUnavailable` when the CRM cannot answer; nothing is changed then.
    """
    debt = crm.consult(document)
    now = clock.now()
    if debt is None or not debt.has_open(today):
        _settle_as_paid(document, target_id, notes, now)
        return ClaimVerification(ClaimResult.PAID, Decimal("0.00"), None)
    recheck_at = now + timedelta(days=CLAIM_QUIET_DAYS)
    if target_id:
        details = "cliente informou pagamento; ainda não compensado no CRM" + (f": {notes}" if notes else "")
        _move_target(
            target_id,
            TargetState.PENDING,
            outcome=Outcome.PAYMENT_CLAIMED,
            outcome_details=details,
            next_attempt_at=recheck_at,
        )
    logger.info("payment claim not yet visible in the CRM", target_id=target_id)
    return ClaimVerification(ClaimResult.NOT_YET_VISIBLE, debt.collectible_total(today), recheck_at)


def _settle_as_paid(document: str, target_id: str | None, notes: str | None, now: datetime) -> None:
    details = "pagamento confirmado no CRM" + (f": {notes}" if notes else "")
    for promise in promises_data.active_for_document(document, now):
        try:
            promise_rules.settle(promise, PromiseStatus.FULFILLED, details=details)
        except Conflict:
            continue  # settled meanwhile by the monitor
    if target_id:
        _move_target(target_id, TargetState.COMPLETED, outcome=Outcome.PAID, outcome_details=details)
    logger.info("payment claim confirmed by the CRM", target_id=target_id)


def _move_target(target_id: str, to_state: TargetState, **changes: Any) -> None:
    try:
        targets_data.transition(target_id, OPEN_TARGET_STATES, to_state, **changes)
    except Conflict as exc:
        # Already completed (paid, opted out...): the earlier outcome stands.
        logger.info("target left as it is", target_id=target_id, reason=exc.message)

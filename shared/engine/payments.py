"""Payment claims (SPEC §4): "I already paid" is verified with the CRM, never taken on the word alone.

The CRM's answer is read once (`shared.domain.debts.read_debt`) and the customer is one person, so the
result applies to every open case of the document, in every campaign. Nothing collectible open →
pending promises of the document are fulfilled and its cases `completed/paid`, those the cadence had
given up on (exhausted, unanswered) included. A customer the CRM does
not know is no payment: the cases end `completed/unknown_customer`. Still open → the claim is recorded
as `payment_claimed`: the customer's cases go back to `pending`, due only in `CLAIM_QUIET_DAYS` days, and
the quiet period is recorded for the document (`contact_log.record_claim`), a fact the pre-send guards
read: nobody contacts the customer meanwhile in any campaign, not even about a case imported after the
claim, and the scheduler's CRM guard verifies again then. A CRM that cannot answer raises `CrmUnavailable` and changes nothing (fail closed).
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
from shared.data import contact_log
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.debts import DebtKind, DebtReading, read_debt
from shared.domain.errors import Conflict
from shared.domain.models import OPEN_TARGET_STATES, Outcome, PromiseStatus, TargetState
from shared.engine import promises as promise_rules
from shared.engine import stats

CLAIM_QUIET_DAYS: Final = 3


class ClaimResult(StrEnum):
    """What the CRM said about a claimed payment."""

    PAID = "paid"  # the CRM shows nothing collectible open: confirmed
    NOT_YET_VISIBLE = "payment_claimed"  # still open in the CRM: recorded, re-verified later
    UNKNOWN_CUSTOMER = "unknown_customer"  # the CRM does not know the document: not a payment


@dataclass(frozen=True, slots=True)
class ClaimVerification:
    """The verification's result, what is still open, and when it is checked again."""

    result: ClaimResult
    open_total: Decimal  # what the CRM still shows collectible (0 when paid or unknown)
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
    customer's open cases (all campaigns; `target_id`, the case the claim was made in, is logged).
    `today` is the customer's local date (time-barred invoices are not counted).

    Raises `CrmUnavailable` when the CRM cannot answer; nothing is changed then.
    """
    reading = read_debt(crm.consult(document), today)
    now = clock.now()
    suffix = f": {notes}" if notes else ""
    if reading.kind is DebtKind.UNKNOWN_CUSTOMER:
        _move_cases(
            document,
            reading,
            now,
            TargetState.COMPLETED,
            outcome=Outcome.UNKNOWN_CUSTOMER,
            outcome_details="cliente informou pagamento, mas não foi encontrado no CRM" + suffix,
        )
        logger.warning("payment claim for a customer the CRM does not know", target_id=target_id)
        return ClaimVerification(ClaimResult.UNKNOWN_CUSTOMER, Decimal("0.00"), None)
    if not reading.owes:
        _paid(document, reading, now, "pagamento confirmado no CRM" + suffix)
        logger.info("payment claim confirmed by the CRM", target_id=target_id)
        return ClaimVerification(ClaimResult.PAID, Decimal("0.00"), None)
    recheck_at = now + timedelta(days=CLAIM_QUIET_DAYS)
    contact_log.record_claim(document, recheck_at)
    _move_cases(
        document,
        reading,
        now,
        TargetState.PENDING,
        outcome=Outcome.PAYMENT_CLAIMED,
        outcome_details="cliente informou pagamento; ainda não compensado no CRM" + suffix,
        next_attempt_at=recheck_at,
    )
    logger.info("payment claim not yet visible in the CRM", target_id=target_id)
    return ClaimVerification(ClaimResult.NOT_YET_VISIBLE, reading.total, recheck_at)


def check_open(document: str, *, crm: CrmClient, today: date) -> DebtReading:
    """What the CRM shows of a customer now, read without contacting her — one a person at the desk
    holds (the hold keeps campaigns away from her, not the payment's detection: upkeep's look, the
    desk's "check now"), applied as a confirmed payment is: nothing collectible
    open → her pending promises fulfilled and every open case of the document `completed/paid` (those
    the cadence had given up on included); still owing → each open case records what is open (a partial
    payment grows its `paidAmount`); a customer the CRM does not know (404) changes nothing — it is no
    payment. `today` is the customer's local date. Returns the reading.

    Raises `CrmUnavailable` when the CRM cannot answer; nothing is changed then."""
    reading = read_debt(crm.consult(document), today)
    now = clock.now()
    if reading.kind is DebtKind.UNKNOWN_CUSTOMER:
        logger.warning("CRM does not know a held customer: nothing changed")
    elif not reading.owes:
        _paid(document, reading, now, "pagamento confirmado no CRM durante o atendimento humano")
        logger.info("payment seen while a person holds the customer")
    else:
        _move_cases(document, reading, now, None)  # what is open recorded; state and outcome stay
    return reading


def _paid(document: str, reading: DebtReading, now: datetime, details: str) -> None:
    """The CRM shows nothing collectible of `document`: its pending promises fulfilled, its open cases
    `completed/paid`, and those the cadence had given up on too."""
    for promise in promises_data.active_for_document(document, now):
        try:
            promise_rules.settle(promise, PromiseStatus.FULFILLED, details=details, reading=reading)
        except Conflict:
            continue  # settled meanwhile by the monitor
    _move_cases(document, reading, now, TargetState.COMPLETED, outcome=Outcome.PAID, outcome_details=details)
    # Read again, not `_move_cases`' read: a case the cadence gave up on meanwhile closes paid too.
    promise_rules.close_given_up_cases(targets_data.by_document(document), details, reading, now)


def _move_cases(
    document: str, reading: DebtReading, now: datetime, to_state: TargetState | None, **changes: Any
) -> None:
    """Every open case of `document` to `to_state` (None: its state left as it is) with `changes` and
    what `reading` (made at `now`) shows of its invoices (`stats.open_fields`)."""
    cases = targets_data.by_document(document)
    for case in cases:
        if case.state not in OPEN_TARGET_STATES:
            continue
        checked = stats.open_fields(case, reading.checked(now, case.invoices), cases)
        try:
            if to_state is None:
                targets_data.update(case.id, in_states=OPEN_TARGET_STATES, **changes, **checked)
            else:
                targets_data.transition(case.id, OPEN_TARGET_STATES, to_state, **changes, **checked)
        except Conflict as exc:
            # Completed meanwhile (paid, opted out...): the earlier outcome stands.
            logger.info("case left as it is", target_id=case.id, reason=exc.message)

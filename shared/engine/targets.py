"""What supervisors read and correct on a campaign's targets. State moves stay with the engine's
rules (sweep, outreach, post-call); a correction only edits fields or moves a pending target's due time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.data import campaigns, targets
from shared.domain.errors import Conflict
from shared.domain.models import CaseOrder, Outcome, Target, TargetState
from shared.domain.pages import Page


def list_for_campaign(
    campaign_id: str,
    *,
    state: TargetState | None,
    outcome: Outcome | None,
    limit: int,
    cursor: str | None,
    order: CaseOrder | None = None,
    ascending: bool = False,
) -> Page[Target]:
    """One page of a campaign's targets, optionally of one state and/or outcome, optionally by amount
    or age (`targets.list_for_campaign`); `NotFound` if the campaign does not exist (rather than an
    empty page)."""
    campaigns.get(campaign_id)
    return targets.list_for_campaign(
        campaign_id,
        state=state,
        outcome=outcome,
        limit=limit,
        cursor=cursor,
        order=order,
        ascending=ascending,
    )


def correct(target_id: str, changes: dict[str, Any], *, next_attempt_at: datetime | None = None) -> Target:
    """A supervisor's correction: edit `changes` (fields other than the state), then, with
    `next_attempt_at`, move the due time of a pending target (`Conflict` if it is not pending). The
    outcome is corrected only on a closed case (the record of how it ended): while the case is open
    the engine sets it, and one set by hand would show it paid or opted out while it is still
    collected (`Conflict`, code `case_open`). Correcting a `paid` outcome away takes the case's money out
    of the campaign's recovered and self-cured money, each what it counted there: what it counted paid
    is forgotten with it."""
    if "outcome" in changes:
        current = targets.get(target_id)
        if current.outcome is Outcome.PAID and changes["outcome"] != Outcome.PAID:
            changes = {**changes, "paid_amount": None}
        if current.state is not TargetState.COMPLETED:
            raise Conflict(
                f"target {target_id} is {current.state.value}: its outcome is set by the engine while the "
                "case is open. Register an opt-out at /api/voice/optouts, a payment in the CRM (the case "
                "closes as paid before its next contact), or complete the campaign; an outcome can be "
                "corrected once the case is completed",
                code="case_open",
            )
    target = targets.update(target_id, **changes) if changes else targets.get(target_id)
    if next_attempt_at is not None:
        target = targets.reschedule(target_id, next_attempt_at)
    return target
